package io.jarscore.kafka;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

import io.jarscore.registry.ModelRegistry;

/**
 * The Kafka Streams scoring app: {@code java -jar jarscore-kafka-app.jar --config app.properties}.
 * Loads the model repository, keeps it up to date with the watcher and the control topic, and
 * runs {@link ScoringTopology}. Instances with the same {@code application.id} share the input
 * topic's partitions.
 */
public final class ScoringApp implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ScoringApp.class.getName());

    private final AppConfig config;
    private final ModelRegistry registry;
    private final KafkaStreams streams;
    private final CountDownLatch stopped = new CountDownLatch(1);

    private ScoringApp(AppConfig config, ModelRegistry registry, KafkaStreams streams) {
        this.config = config;
        this.registry = registry;
        this.streams = streams;
    }

    /**
     * Opens the registry over {@code config}'s model root, with its trusted keys, and loads what its
     * policy selects.
     */
    public static ModelRegistry openRegistry(AppConfig config) {
        ModelRegistry registry = new ModelRegistry(config.modelRoot(), config.policy()).trustedKeys(config.trustedKeys());
        try {
            registry.reload();
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        return registry;
    }

    /** Starts the app; it runs on Kafka Streams' threads until {@link #close()}. */
    public static ScoringApp start(AppConfig config) {
        ModelRegistry registry = openRegistry(config);
        KafkaStreams streams;
        try {
            streams = new KafkaStreams(ScoringTopology.build(config, registry), config.streamsProperties());
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        // A stream thread that dies of an unexpected error is replaced; bad records never get this far.
        streams.setUncaughtExceptionHandler(e -> {
            LOG.log(System.Logger.Level.ERROR, "stream thread failed; replacing it: " + e, e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        ScoringApp app = new ScoringApp(config, registry, streams);
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                app.stopped.countDown();
            }
        });
        if (!config.watchInterval().isZero()) {
            registry.watch(config.watchInterval());
        }
        streams.start();
        LOG.log(System.Logger.Level.INFO, "scoring {0} v{1}: {2} -> {3} (dead letters: {4}, control: {5}, {6})",
            config.modelName(), registry.currentVersion(config.modelName()), config.inputTopic(),
            config.outputTopic(), config.dlqTopic(), config.controlTopic(), config.get(AppConfig.PROCESSING_GUARANTEE));
        return app;
    }

    /** Waits until the app stops: closed, or failed for good (state ERROR). */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    public AppConfig config() {
        return config;
    }

    public ModelRegistry registry() {
        return registry;
    }

    public KafkaStreams streams() {
        return streams;
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(60));
        registry.close();
    }

    /** {@code ScoringApp [--config app.properties]}; the environment's {@code JARSCORE_*} variables override the file. */
    public static void main(String[] args) throws InterruptedException {
        AppConfig config;
        try {
            AppArguments arguments = AppArguments.parse(args);
            if (arguments.help()) {
                System.out.println(AppArguments.USAGE);
                return;
            }
            config = AppConfig.load(arguments.config(), System.getenv());
        } catch (AppArguments.UsageException | IllegalArgumentException e) {
            System.err.println("jarscore-kafka-app: " + e.getMessage());
            System.err.println(AppArguments.USAGE);
            System.exit(2);
            return;
        }
        ScoringApp app;
        try {
            app = start(config);
        } catch (RuntimeException e) {
            System.err.println("jarscore-kafka-app: " + e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(app::close, "jarscore-kafka-app-shutdown"));
        app.awaitStopped();
        if (app.streams().state() == KafkaStreams.State.ERROR) {
            System.err.println("jarscore-kafka-app: Kafka Streams failed (state ERROR); see the log above");
            app.close();
            System.exit(1);
        }
    }
}
