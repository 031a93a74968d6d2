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

    /** Defaults of the keys above; keys without a default are required. */
    static final Map<String, String> DEFAULTS = defaults();
    static final List<String> REQUIRED = List.of(BOOTSTRAP_SERVERS, MODEL_ROOT, MODEL_NAME);

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
        for (String key : REQUIRED) {
            if (all.get(key) == null || all.get(key).isBlank()) {
                throw new IllegalArgumentException("config key '" + key + "' is not set; set it in the properties file"
                    + " or as the environment variable " + environmentName(key));
            }
        }
        AppConfig config = new AppConfig(all);
        config.policy();
        config.watchInterval();
        config.trustedKeys();
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
