package io.jarscore.kafka;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

import io.jarscore.registry.ModelRegistry;

/**
 * The scoring app's topology, built apart from {@code main} so tests drive it without a broker:
 * <pre>
 *   input topic ─▶ score ─┬─▶ output topic        (key kept; prediction, probabilities, model, version)
 *                         └─▶ dead-letter topic   (key kept; error and original bytes)
 *   control topic ─▶ global store "jarscore-control" ─▶ registry swaps on every instance
 * </pre>
 * Scoring remotely ({@link RemoteModel}), the topology has no control topic: the server picks the
 * versions it serves, from its own repository.
 */
public final class ScoringTopology {

    static final String SOURCE = "input";
    static final String SCORE = "score";
    static final String SCORES = "scores";
    static final String DEAD_LETTERS = "dead-letters";
    static final String CONTROL_STORE = "jarscore-control";

    private ScoringTopology() {
    }

    /** The topology scoring {@code config}'s model with {@code registry}, which must serve it already. */
    public static Topology build(AppConfig config, ModelRegistry registry) {
        ServingModel serving = new ServingModel(config.modelName(), registry);
        if (registry.currentVersion(config.modelName()) < 0) {
            throw new IllegalStateException("model '" + config.modelName() + "' has no version serving in "
                + config.modelRoot() + "; convert one into " + config.modelRoot().resolve(config.modelName())
                + "/<version>/ or check " + AppConfig.MODEL_NAME + " and " + AppConfig.MODEL_POLICY);
        }
        Topology topology = scoring(config, serving);
        topology.addGlobalStore(
            Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(CONTROL_STORE), Serdes.String(), Serdes.ByteArray())
                .withLoggingDisabled(),
            "control", new ByteArrayDeserializer(), new ByteArrayDeserializer(), config.controlTopic(),
            "apply-announcements", () -> new ControlProcessor(registry, config.policy()));
        return topology;
    }

    /** Input to scores and dead letters, each record scored by {@code scorer}. */
    static Topology scoring(AppConfig config, RecordScorer scorer) {
        Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), config.inputTopic());
        topology.addProcessor(SCORE, () -> new ScoreProcessor(scorer), SOURCE);
        topology.addSink(SCORES, config.outputTopic(), new ByteArraySerializer(), new ByteArraySerializer(), SCORE);
        topology.addSink(DEAD_LETTERS, config.dlqTopic(), new ByteArraySerializer(), new ByteArraySerializer(), SCORE);
        return topology;
    }
}
