package io.jarscore.kafka;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

import io.jarscore.registry.ModelRegistry;

/**
 * The Kafka Streams scoring app: {@code java -jar jarscore-kafka-app.jar --config app.properties}.
 * Embedded ({@code jarscore.scoring=embedded}, the default), it loads the model repository, keeps it
 * up to date with the watcher and the control topic, and scores in the app. Remote
 * ({@code jarscore.scoring=remote}), it scores through an Open Inference Protocol gRPC server
 * ({@link RemoteModel}). Either way it runs {@link ScoringTopology}; instances with the same
 * {@code application.id} share the input topic's partitions.
 */
public final class ScoringApp implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ScoringApp.class.getName());

    private final AppConfig config;
    private final ModelRegistry registry;
    private final RemoteModel remote;
    private final KafkaStreams streams;
    private final CountDownLatch stopped = new CountDownLatch(1);

    private ScoringApp(AppConfig config, ModelRegistry registry, RemoteModel remote, KafkaStreams streams) {
        this.config = config;
        this.registry = registry;
        this.remote = remote;
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
        ModelRegistry registry = null;
        RemoteModel remote = null;
        KafkaStreams streams;
        try {
            Topology topology;
            if (config.remote()) {
                remote = RemoteModel.connect(config);
                topology = ScoringTopology.scoring(config, remote);
            } else {
                registry = openRegistry(config);
                topology = ScoringTopology.build(config, registry);
            }
            streams = new KafkaStreams(topology, config.streamsProperties());
        } catch (RuntimeException e) {
            closeQuietly(registry, remote);
            throw e;
        }
        // A stream thread that dies of an unexpected error is replaced, and so is one whose remote
        // server stayed out of reach: the new thread resumes from the last committed offsets.
        // Bad records never get this far.
        streams.setUncaughtExceptionHandler(e -> {
            LOG.log(System.Logger.Level.ERROR, "stream thread failed; replacing it: " + e, e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        ScoringApp app = new ScoringApp(config, registry, remote, streams);
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                app.stopped.countDown();
            }
        });
        if (registry != null && !config.watchInterval().isZero()) {
            registry.watch(config.watchInterval());
        }
        streams.start();
        if (remote != null) {
            LOG.log(System.Logger.Level.INFO, "scoring {0}: {1} -> {2} (dead letters: {3}, {4})", remote.describe(),
                config.inputTopic(), config.outputTopic(), config.dlqTopic(), config.get(AppConfig.PROCESSING_GUARANTEE));
        } else {
            LOG.log(System.Logger.Level.INFO, "scoring {0} v{1}: {2} -> {3} (dead letters: {4}, control: {5}, {6})",
                config.modelName(), registry.currentVersion(config.modelName()), config.inputTopic(),
                config.outputTopic(), config.dlqTopic(), config.controlTopic(), config.get(AppConfig.PROCESSING_GUARANTEE));
        }
        return app;
    }

    private static void closeQuietly(ModelRegistry registry, RemoteModel remote) {
        if (registry != null) {
            registry.close();
        }
        if (remote != null) {
            remote.close();
        }
    }

    /** Waits until the app stops: closed, or failed for good (state ERROR). */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    public AppConfig config() {
        return config;
    }

    /** The embedded model's registry; null when the app scores remotely. */
    public ModelRegistry registry() {
        return registry;
    }

    public KafkaStreams streams() {
        return streams;
    }

    @Override
    public void close() {
        if (remote != null) {
            remote.stopRetrying(); // a thread waiting for the server would hold up the close
        }
        streams.close(Duration.ofSeconds(60));
        closeQuietly(registry, remote);
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
