package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.VersionPolicy;

class AppConfigTest {

    @Test
    void theEnvironmentOverridesTheFileAndOtherKeysGoToKafkaStreams() throws Exception {
        Path file = Files.createTempFile("jarscore-app-", ".properties");
        try {
            Files.writeString(file, String.join("\n", "bootstrap.servers=file:9092", "jarscore.model.root=/models",
                "jarscore.model.name=churn", "jarscore.model.policy=specific:3", "num.stream.threads=2",
                "commit.interval.ms=250", ""));
            AppConfig config = AppConfig.load(file, Map.of("JARSCORE_BOOTSTRAP_SERVERS", "env:9092",
                "JARSCORE_PROCESSING_GUARANTEE", "exactly_once_v2", "JARSCORE_INPUT_TOPIC", "rows"));
            Properties streams = config.streamsProperties();
            assertEquals("env:9092", streams.get("bootstrap.servers"));
            assertEquals("exactly_once_v2", streams.get("processing.guarantee"));
            assertEquals("2", streams.get("num.stream.threads"));
            assertEquals("250", streams.get("commit.interval.ms"));
            assertEquals("jarscore-scoring", streams.get("application.id"));
            assertTrue(streams.keySet().stream().noneMatch(k -> k.toString().startsWith("jarscore.")));
            assertEquals("rows", config.inputTopic());
            assertEquals(VersionPolicy.specific(3), config.policy());
            assertEquals(Path.of("/models"), config.modelRoot());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void errorsNameTheKeyAndTheVariable() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
            () -> AppConfig.load(null, Map.of("JARSCORE_BOOTSTRAP_SERVERS", "b:9092", "JARSCORE_MODEL_NAME", "m")));
        assertTrue(missing.getMessage().contains("jarscore.model.root") && missing.getMessage().contains("JARSCORE_MODEL_ROOT"),
            missing.getMessage());
        IllegalArgumentException guarantee = assertThrows(IllegalArgumentException.class, () -> AppConfig.of(Map.of(
            "bootstrap.servers", "b:9092", "jarscore.model.root", "/m", "jarscore.model.name", "m",
            "processing.guarantee", "exactly_once")));
        assertTrue(guarantee.getMessage().contains("exactly_once_v2"), guarantee.getMessage());
        IllegalArgumentException policy = assertThrows(IllegalArgumentException.class, () -> AppConfig.of(Map.of(
            "bootstrap.servers", "b:9092", "jarscore.model.root", "/m", "jarscore.model.name", "m",
            "jarscore.model.policy", "newest")));
        assertTrue(policy.getMessage().contains("'newest'"), policy.getMessage());
        IllegalArgumentException label = assertThrows(IllegalArgumentException.class, () -> AppConfig.of(Map.of(
            "bootstrap.servers", "b:9092", "jarscore.model.root", "/m", "jarscore.model.name", "m",
            "jarscore.model.policy", "label:a=b")));
        assertTrue(label.getMessage().contains("label:<label>"), label.getMessage());
    }

    @Test
    void aLabelPolicyFollowsTheLabel() {
        AppConfig config = AppConfig.of(Map.of("bootstrap.servers", "b:9092", "jarscore.model.root", "/m",
            "jarscore.model.name", "m", "jarscore.model.policy", "label:stable"));
        assertEquals(VersionPolicy.label("stable"), config.policy());
    }

    /** The shared signing fixtures (tests/data/signing): a repository holding the signed iris artifact. */
    @Test
    void trustedKeysFromTheConfigDecideWhatServes() {
        Path signing = Path.of(System.getProperty("jarscore.signingDir")).toAbsolutePath();
        Map<String, String> environment = Map.of("JARSCORE_BOOTSTRAP_SERVERS", "b:9092",
            "JARSCORE_MODEL_ROOT", signing.resolve("repo").toString(), "JARSCORE_MODEL_NAME", "iris");
        AppConfig trusting = AppConfig.of(Map.of("bootstrap.servers", "b:9092", "jarscore.model.root",
            signing.resolve("repo").toString(), "jarscore.model.name", "iris",
            AppConfig.TRUSTED_KEYS, signing.resolve("keys/other.pub") + "," + signing.resolve("keys/test.pub")));
        try (ModelRegistry registry = ScoringApp.openRegistry(trusting)) {
            assertEquals(java.util.Set.of(1), registry.versions("iris"));
        }
        AppConfig other = AppConfig.load(null, plus(environment, "JARSCORE_TRUSTED_KEYS",
            signing.resolve("keys/other.pub").toString()));
        try (ModelRegistry registry = ScoringApp.openRegistry(other)) {
            assertTrue(registry.versions("iris").isEmpty(), "served a version signed by a key it does not trust");
        }
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
            () -> AppConfig.load(null, plus(environment, "JARSCORE_TRUSTED_KEYS", "/nonexistent/key.pub")));
        assertTrue(missing.getMessage().contains("config key 'jarscore.trusted.keys': cannot read trusted key"),
            missing.getMessage());
    }

    private static Map<String, String> plus(Map<String, String> map, String key, String value) {
        Map<String, String> copy = new java.util.HashMap<>(map);
        copy.put(key, value);
        return copy;
    }

    @Test
    void remoteScoringNeedsATargetInsteadOfARepository() {
        AppConfig remote = AppConfig.load(null, Map.of("JARSCORE_BOOTSTRAP_SERVERS", "b:9092", "JARSCORE_MODEL_NAME", "m",
            "JARSCORE_SCORING", "remote", "JARSCORE_REMOTE_TARGET", "models:8001", "JARSCORE_REMOTE_MODEL_VERSION", "4"));
        assertTrue(remote.remote());
        assertEquals("models:8001", remote.remoteTarget());
        assertEquals("4", remote.remoteModelVersion());
        assertEquals(java.time.Duration.ofSeconds(5), remote.remoteDeadline());
        assertEquals(null, remote.remoteTokenFile());
        assertTrue(remote.streamsProperties().keySet().stream().noneMatch(k -> k.toString().startsWith("jarscore.")));

        IllegalArgumentException target = assertThrows(IllegalArgumentException.class, () -> AppConfig.of(Map.of(
            "bootstrap.servers", "b:9092", "jarscore.model.name", "m", "jarscore.scoring", "remote")));
        assertTrue(target.getMessage().contains("jarscore.remote.target") && target.getMessage().contains("JARSCORE_REMOTE_TARGET"),
            target.getMessage());
        IllegalArgumentException mode = assertThrows(IllegalArgumentException.class, () -> AppConfig.of(Map.of(
            "bootstrap.servers", "b:9092", "jarscore.model.name", "m", "jarscore.scoring", "server")));
        assertTrue(mode.getMessage().contains("'server'") && mode.getMessage().contains("remote"), mode.getMessage());
        Map<String, String> remoteKeys = Map.of("bootstrap.servers", "b:9092", "jarscore.model.name", "m",
            "jarscore.scoring", "remote", "jarscore.remote.target", "h:1");
        for (String[] bad : new String[][]{{"jarscore.remote.deadline.ms", "0"}, {"jarscore.remote.retry.ms", "soon"},
            {"jarscore.remote.model.version", "v2"}}) {
            Map<String, String> values = new java.util.HashMap<>(remoteKeys);
            values.put(bad[0], bad[1]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AppConfig.of(values));
            assertTrue(e.getMessage().contains(bad[0]) && e.getMessage().contains("'" + bad[1] + "'"), e.getMessage());
        }
    }
}
