package io.jarscore.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.streams.StreamsConfig;

import io.jarscore.registry.TrustedKeys;
import io.jarscore.registry.VersionPolicy;
import io.jarscore.runtime.ArtifactException;

/**
 * The scoring app's settings: a properties file, overridden by environment variables. Every key
 * has an environment variable: {@code JARSCORE_} + the key without its {@code jarscore.} prefix, upper
 * case, dots as underscores ({@code bootstrap.servers} is {@code JARSCORE_BOOTSTRAP_SERVERS},
 * {@code jarscore.model.root} is {@code JARSCORE_MODEL_ROOT}). Keys not listed here that the file
 * holds go to Kafka Streams as they are.
 */
public record AppConfig(Map<String, String> values) {

    public static final String BOOTSTRAP_SERVERS = StreamsConfig.BOOTSTRAP_SERVERS_CONFIG;
    public static final String APPLICATION_ID = StreamsConfig.APPLICATION_ID_CONFIG;
    public static final String NUM_STREAM_THREADS = StreamsConfig.NUM_STREAM_THREADS_CONFIG;
    public static final String PROCESSING_GUARANTEE = StreamsConfig.PROCESSING_GUARANTEE_CONFIG;
    public static final String INPUT_TOPIC = "jarscore.input.topic";
    public static final String OUTPUT_TOPIC = "jarscore.output.topic";
    public static final String DLQ_TOPIC = "jarscore.dlq.topic";
    public static final String CONTROL_TOPIC = "jarscore.control.topic";
    public static final String MODEL_ROOT = "jarscore.model.root";
    public static final String MODEL_NAME = "jarscore.model.name";
    public static final String MODEL_POLICY = "jarscore.model.policy";
    public static final String WATCH_INTERVAL_MS = "jarscore.watch.interval.ms";
    /** Public key files (',' or ':' between them); when set, only versions signed by one of them serve. */
    public static final String TRUSTED_KEYS = "jarscore.trusted.keys";
    /** {@code embedded} (the model in this JVM, from the repository) or {@code remote} (an Open Inference Protocol gRPC server). */
    public static final String SCORING = "jarscore.scoring";
    public static final String REMOTE_TARGET = "jarscore.remote.target";
    public static final String REMOTE_MODEL_VERSION = "jarscore.remote.model.version";
    public static final String REMOTE_TOKEN_FILE = "jarscore.remote.token.file";
    public static final String REMOTE_DEADLINE_MS = "jarscore.remote.deadline.ms";
    public static final String REMOTE_RETRY_MS = "jarscore.remote.retry.ms";

    /** Defaults of the keys above; keys without a default are required. */
    static final Map<String, String> DEFAULTS = defaults();
    static final List<String> REQUIRED = List.of(BOOTSTRAP_SERVERS, MODEL_NAME);

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put(APPLICATION_ID, "jarscore-scoring");
        d.put(INPUT_TOPIC, "jarscore-input");
        d.put(OUTPUT_TOPIC, "jarscore-scores");
        d.put(DLQ_TOPIC, "jarscore-dead-letters");
        d.put(CONTROL_TOPIC, "jarscore-control");
        d.put(MODEL_POLICY, "latest");
        d.put(WATCH_INTERVAL_MS, "10000");
        d.put(TRUSTED_KEYS, "");
        d.put(NUM_STREAM_THREADS, "1");
        d.put(PROCESSING_GUARANTEE, StreamsConfig.AT_LEAST_ONCE);
        d.put(SCORING, "embedded");
        d.put(REMOTE_MODEL_VERSION, "");
        d.put(REMOTE_TOKEN_FILE, "");
        d.put(REMOTE_DEADLINE_MS, "5000");
        d.put(REMOTE_RETRY_MS, "120000");
        return d;
    }

    public AppConfig {
        values = Map.copyOf(values);
    }

    /** Reads {@code file} (may be null), then applies the environment's {@code JARSCORE_*} variables. */
    public static AppConfig load(Path file, Map<String, String> environment) {
        Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
        if (file != null) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                properties.load(in);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the config file " + file + ": " + e.getMessage(), e);
            }
            properties.stringPropertyNames().forEach(k -> values.put(k, properties.getProperty(k).trim()));
        }
        for (String key : knownKeys()) {
            String fromEnv = environment.get(environmentName(key));
            if (fromEnv != null && !fromEnv.isBlank()) {
                values.put(key, fromEnv.trim());
            }
        }
        return of(values);
    }

    /** Checks {@code values} (defaults filled in) and makes a config of them. */
    public static AppConfig of(Map<String, String> values) {
        Map<String, String> all = new LinkedHashMap<>(DEFAULTS);
        all.putAll(values);
        String scoring = all.get(SCORING);
        if (!scoring.equals("embedded") && !scoring.equals("remote")) {
            throw new IllegalArgumentException("config key '" + SCORING + "' is '" + scoring
                + "'; expected embedded (the default: the model runs in the app) or remote (an Open Inference"
                + " Protocol gRPC server at " + REMOTE_TARGET + ")");
        }
        List<String> required = new java.util.ArrayList<>(REQUIRED);
        required.add(scoring.equals("remote") ? REMOTE_TARGET : MODEL_ROOT); // the server to call, or the repository to embed
        for (String key : required) {
            if (all.get(key) == null || all.get(key).isBlank()) {
                throw new IllegalArgumentException("config key '" + key + "' is not set; set it in the properties file"
                    + " or as the environment variable " + environmentName(key));
            }
        }
        AppConfig config = new AppConfig(all);
        config.policy();
        config.watchInterval();
        config.trustedKeys();
        if (config.remote()) {
            config.remoteDeadline();
            config.remoteRetry();
            config.remoteModelVersion();
        }
        String guarantee = all.get(PROCESSING_GUARANTEE);
        if (!guarantee.equals(StreamsConfig.AT_LEAST_ONCE) && !guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2)) {
            throw new IllegalArgumentException("config key '" + PROCESSING_GUARANTEE + "' is '" + guarantee
                + "'; expected " + StreamsConfig.AT_LEAST_ONCE + " (the default) or " + StreamsConfig.EXACTLY_ONCE_V2);
        }
        return config;
    }

    static List<String> knownKeys() {
        List<String> keys = new java.util.ArrayList<>(DEFAULTS.keySet());
        keys.add(BOOTSTRAP_SERVERS);
        keys.add(MODEL_ROOT);
        keys.add(MODEL_NAME);
        keys.add(REMOTE_TARGET);
        return keys;
    }

    /** {@code jarscore.model.root} is {@code JARSCORE_MODEL_ROOT}; {@code bootstrap.servers} is {@code JARSCORE_BOOTSTRAP_SERVERS}. */
    public static String environmentName(String key) {
        String bare = key.startsWith("jarscore.") ? key.substring("jarscore.".length()) : key;
        return "JARSCORE_" + bare.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    public String get(String key) {
        return values.get(key);
    }

    public String inputTopic() {
        return values.get(INPUT_TOPIC);
    }

    public String outputTopic() {
        return values.get(OUTPUT_TOPIC);
    }

    public String dlqTopic() {
        return values.get(DLQ_TOPIC);
    }

    public String controlTopic() {
        return values.get(CONTROL_TOPIC);
    }

    public Path modelRoot() {
        return Path.of(values.get(MODEL_ROOT));
    }

    public String modelName() {
        return values.get(MODEL_NAME);
    }

    /** {@code latest}, {@code all}, {@code specific:3} / {@code specific:2,3}, or {@code label:stable}. */
    public VersionPolicy policy() {
        String text = values.get(MODEL_POLICY);
        try {
            return VersionPolicy.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config key '" + MODEL_POLICY + "' is '" + text
                + "'; expected latest, all, specific:<version>[,<version>...] or label:<label> (e.g. label:stable)");
        }
    }

    /**
     * The keys every served version must be signed by ({@code jarscore.trusted.keys}, or
     * {@code JARSCORE_TRUSTED_KEYS}); none when unset, and then signatures are not checked.
     */
    public TrustedKeys trustedKeys() {
        try {
            return TrustedKeys.of(TrustedKeys.parseList(values.get(TRUSTED_KEYS)));
        } catch (ArtifactException e) {
            throw new IllegalArgumentException("config key '" + TRUSTED_KEYS + "': " + e.getMessage(), e);
        }
    }

    /** Whether records are scored by a remote server rather than by the model in the app. */
    public boolean remote() {
        return "remote".equals(values.get(SCORING));
    }

    /** The remote server, as grpc-java takes it: {@code host:port} or a URI such as {@code dns:///host:port}. */
    public String remoteTarget() {
        return values.get(REMOTE_TARGET);
    }

    /** The model version to ask the server for, or "" for the one it serves by default. */
    public String remoteModelVersion() {
        String text = values.get(REMOTE_MODEL_VERSION);
        if (!text.isEmpty() && io.jarscore.registry.Repository.versionNumber(text) == null) {
            throw new IllegalArgumentException("config key '" + REMOTE_MODEL_VERSION + "' is '" + text
                + "'; expected a version number (a positive integer), or nothing for the version the server picks");
        }
        return text;
    }

    /** A file holding the bearer token the server requires, or null. */
    public Path remoteTokenFile() {
        String text = values.get(REMOTE_TOKEN_FILE);
        return text.isEmpty() ? null : Path.of(text);
    }

    /** How long one ModelInfer call may take before it counts as failed (and is retried). */
    public Duration remoteDeadline() {
        return positiveMillis(REMOTE_DEADLINE_MS, "a deadline in milliseconds > 0");
    }

    /**
     * How long a record is retried while the server is unreachable (UNAVAILABLE, DEADLINE_EXCEEDED,
     * ...) before the stream thread fails and is replaced, resuming from the last committed offsets.
     */
    public Duration remoteRetry() {
        return positiveMillis(REMOTE_RETRY_MS, "milliseconds > 0");
    }

    private Duration positiveMillis(String key, String expected) {
        String text = values.get(key);
        try {
            long ms = Long.parseLong(text);
            if (ms > 0) {
                return Duration.ofMillis(ms);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("config key '" + key + "' is '" + text + "'; expected " + expected);
    }

    /** How often the repository watcher polls; zero turns it off. */
    public Duration watchInterval() {
        String text = values.get(WATCH_INTERVAL_MS);
        try {
            long ms = Long.parseLong(text);
            if (ms >= 0) {
                return Duration.ofMillis(ms);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("config key '" + WATCH_INTERVAL_MS + "' is '" + text
            + "'; expected milliseconds >= 0 (0 turns the watcher off)");
    }

    /** The Kafka Streams properties: every key that is not one of jarscore's own. */
    public Properties streamsProperties() {
        Properties properties = new Properties();
        values.forEach((k, v) -> {
            if (!k.startsWith("jarscore.")) {
                properties.put(k, v);
            }
        });
        return properties;
    }
}
