package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.TestRepository;

/**
 * The scoring topology under TopologyTestDriver, on real Iris artifacts: v1 is a decision tree, v2 a
 * logistic regression, so every result shows which version scored it.
 */
class ScoringTopologyTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Path root;
    private AppConfig config;
    private ModelRegistry registry;
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> input;
    private TestInputTopic<byte[], byte[]> control;
    private TestOutputTopic<byte[], byte[]> scores;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeEach
    void start() throws Exception {
        root = Files.createTempDirectory("jarscore-topology-");
        TestRepository.publish(root, 1);
        config = AppConfig.of(Map.of(AppConfig.BOOTSTRAP_SERVERS, "unused:9092", AppConfig.MODEL_ROOT, root.toString(),
            AppConfig.MODEL_NAME, TestRepository.NAME, AppConfig.WATCH_INTERVAL_MS, "0",
            "state.dir", root.resolve("state").toString()));
        registry = ScoringApp.openRegistry(config);
        driver = new TopologyTestDriver(ScoringTopology.build(config, registry), config.streamsProperties());
        input = driver.createInputTopic(config.inputTopic(), new ByteArraySerializer(), new ByteArraySerializer());
        control = driver.createInputTopic(config.controlTopic(), new ByteArraySerializer(), new ByteArraySerializer());
        scores = driver.createOutputTopic(config.outputTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(config.dlqTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
        registry.close();
        TestRepository.deleteTree(root);
    }

    @Test
    void scoresEveryRowKeepingItsKey() throws Exception {
        List<Map<String, Object>> rows = TestRepository.irisRows();
        io.jarscore.runtime.Model model = registry.current(TestRepository.NAME).model();
        assertEquals("active", model.kernelStatus(), "the app's registry checked and activated the fast kernel");
        long before = model.kernelRowsScored();
        for (int r = 0; r < rows.size(); r++) {
            input.pipeInput(key(r), JSON.writeValueAsBytes(rows.get(r)));
        }
        List<KeyValue<byte[], byte[]>> out = scores.readKeyValuesToList();
        assertEquals(rows.size(), out.size());
        assertTrue(deadLetters.isEmpty());
        List<Map<String, Object>> expected = TestRepository.expectedOutputs(1);
        for (int r = 0; r < rows.size(); r++) {
            assertArrayEquals(key(r), out.get(r).key);
            assertResult(out.get(r).value, 1, expected.get(r));
        }
        assertEquals(rows.size(), model.kernelRowsScored() - before, "every record was scored by the kernel");
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicWithTheErrorAndTheOriginalBytes() throws Exception {
        Map<String, Object> good = TestRepository.irisRows().get(0);
        byte[][] bad = {
            "{\"Sepal.Length\": 5.1, ".getBytes(StandardCharsets.UTF_8),
            "{\"Sepal.Length\": 5.1, \"Sepal.Width\": 3.5, \"Petal.Width\": 0.2}".getBytes(StandardCharsets.UTF_8),
            "{\"Sepal.Length\": 5.1, \"Sepal.Width\": 3.5, \"Petal.Length\": \"long\", \"Petal.Width\": 0.2}".getBytes(StandardCharsets.UTF_8),
            "{\"Sepal.Length\": true, \"Sepal.Width\": 3.5, \"Petal.Length\": 1.4, \"Petal.Width\": 0.2}".getBytes(StandardCharsets.UTF_8),
            "[5.1, 3.5, 1.4, 0.2]".getBytes(StandardCharsets.UTF_8),
            {(byte) 0xff, (byte) 0xfe, 0, 1},
            null,
        };
        String[] mentions = {"not valid JSON", "field 'Petal.Length' is absent", "field 'Petal.Length' value 'long'",
            "field 'Sepal.Length' value true", "must be a JSON object", "not valid JSON", "no value"};
        for (int i = 0; i < bad.length; i++) {
            input.pipeInput(key(i), bad[i]);
            input.pipeInput(key(100 + i), JSON.writeValueAsBytes(good));
        }
        List<KeyValue<byte[], byte[]>> letters = deadLetters.readKeyValuesToList();
        assertEquals(bad.length, letters.size());
        assertEquals(bad.length, scores.readKeyValuesToList().size(), "every good record between bad ones is scored");
        for (int i = 0; i < bad.length; i++) {
            assertArrayEquals(key(i), letters.get(i).key);
            Map<String, Object> letter = JSON.readValue(letters.get(i).value, new TypeReference<Map<String, Object>>() { });
            String error = (String) letter.get("error");
            assertTrue(error.contains(mentions[i]), "record " + i + ": " + error);
            assertEquals(config.inputTopic(), letter.get("topic"));
            assertEquals(2 * i, ((Number) letter.get("offset")).intValue());
            if (bad[i] == null) {
                assertEquals(null, letter.get("original_base64"));
            } else {
                assertArrayEquals(bad[i], Base64.getDecoder().decode((String) letter.get("original_base64")));
            }
        }
        assertTrue(!((Map<?, ?>) JSON.readValue(letters.get(5).value, Map.class)).containsKey("original_text"),
            "bytes that are not UTF-8 travel only as base64");
    }

    @Test
    void aControlAnnouncementSwapsMidStreamAndEveryResultCarriesItsVersion() throws Exception {
        List<Map<String, Object>> rows = TestRepository.irisRows();
        List<Map<String, Object>> v1 = TestRepository.expectedOutputs(1);
        List<Map<String, Object>> v2 = TestRepository.expectedOutputs(2);
        for (int r = 0; r < 50; r++) {
            input.pipeInput(key(r), JSON.writeValueAsBytes(rows.get(r)));
        }
        TestRepository.publish(root, 2);
        control.pipeInput(new Announcement(TestRepository.NAME, 2).toJson());
        for (int r = 50; r < 150; r++) {
            input.pipeInput(key(r), JSON.writeValueAsBytes(rows.get(r)));
        }
        List<KeyValue<byte[], byte[]>> out = scores.readKeyValuesToList();
        assertEquals(150, out.size());
        for (int r = 0; r < 150; r++) {
            assertResult(out.get(r).value, r < 50 ? 1 : 2, (r < 50 ? v1 : v2).get(r));
        }

        control.pipeInput(new Announcement(TestRepository.NAME, 1).toJson());
        registry.poll(); // what the watcher does: the announcement pinned v1, so v2 being newest changes nothing
        input.pipeInput(key(0), JSON.writeValueAsBytes(rows.get(0)));
        assertResult(scores.readValue(), 1, v1.get(0));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRefusedVersionLeavesTheServingOneInPlace() throws Exception {
        Map<String, Object> manifest = TestRepository.manifest(2);
        ((Map<String, Object>) ((Map<?, ?>) manifest.get("files")).get("model.jar")).put("sha256", "0".repeat(64));
        TestRepository.publish(root, 2, 2, manifest);
        control.pipeInput(new Announcement(TestRepository.NAME, 2).toJson());
        control.pipeInput("{\"model\": \"iris\", \"version\": \"two\"}".getBytes(StandardCharsets.UTF_8));
        input.pipeInput(key(7), JSON.writeValueAsBytes(TestRepository.irisRows().get(7)));
        assertResult(scores.readValue(), 1, TestRepository.expectedOutputs(1).get(7));
        assertEquals(1, registry.currentVersion(TestRepository.NAME));
    }

    @Test
    void theWatchersReloadSwapsToANewVersion() throws Exception {
        TestRepository.publish(root, 2);
        registry.poll(); // what the watcher does
        input.pipeInput(key(3), JSON.writeValueAsBytes(TestRepository.irisRows().get(3)));
        assertResult(scores.readValue(), 2, TestRepository.expectedOutputs(2).get(3));
    }

    static byte[] key(int i) {
        return ("k" + i).getBytes(StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    static void assertResult(byte[] value, int version, Map<String, Object> expected) throws Exception {
        Map<String, Object> result = JSON.readValue(value, new TypeReference<Map<String, Object>>() { });
        assertEquals(TestRepository.NAME, result.get("model"));
        assertEquals(version, result.get("version"));
        assertEquals(expected.get("Species"), result.get("prediction"));
        assertEquals(expected, result.get("outputs"));
        Map<String, Object> probabilities = (Map<String, Object>) result.get("probabilities");
        assertEquals(List.of("setosa", "versicolor", "virginica"), List.copyOf(probabilities.keySet()));
        assertEquals(expected.get("probability(virginica)"), probabilities.get("virginica"));
    }
}
