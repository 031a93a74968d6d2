package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.TestRepository;

/**
 * Generated hostile records (fixed seeds, so a failure reproduces): random bytes, broken and deep
 * JSON, wrong types, NaN/Infinity literals, huge and non-ASCII strings, missing and extra fields.
 * Every record yields exactly one output: a result or a dead letter carrying its original bytes,
 * in input order, and the app keeps scoring good records between them.
 */
class ScoringTopologyFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] FIELDS = {"Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"};
    private static final int RECORDS = 3000;

    @Test
    void everyRecordGivesExactlyOneResultOrDeadLetter() throws Exception {
        Path root = Files.createTempDirectory("jarscore-fuzz-");
        TestRepository.publish(root, 1);
        AppConfig config = AppConfig.of(Map.of(AppConfig.BOOTSTRAP_SERVERS, "unused:9092",
            AppConfig.MODEL_ROOT, root.toString(), AppConfig.MODEL_NAME, TestRepository.NAME,
            AppConfig.WATCH_INTERVAL_MS, "0", "state.dir", root.resolve("state").toString()));
        try (ModelRegistry registry = ScoringApp.openRegistry(config);
             TopologyTestDriver driver = new TopologyTestDriver(ScoringTopology.build(config, registry),
                 config.streamsProperties())) {
            TestInputTopic<byte[], byte[]> input =
                driver.createInputTopic(config.inputTopic(), new ByteArraySerializer(), new ByteArraySerializer());
            TestOutputTopic<byte[], byte[]> scores =
                driver.createOutputTopic(config.outputTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
            TestOutputTopic<byte[], byte[]> letters =
                driver.createOutputTopic(config.dlqTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
            byte[] good = JSON.writeValueAsBytes(TestRepository.irisRows().get(0));
            Random random = new Random(20261122);
            List<byte[]> sent = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++) {
                byte[] record = i % 10 == 9 ? good : hostile(random);
                sent.add(record);
                input.pipeInput(key(i), record);
            }
            List<KeyValue<byte[], byte[]>> results = scores.readKeyValuesToList();
            List<KeyValue<byte[], byte[]>> dead = letters.readKeyValuesToList();
            assertEquals(RECORDS, results.size() + dead.size(), "one output per record, none lost or doubled");
            assertTrue(results.size() >= RECORDS / 10, "the good records between hostile ones are scored");
            for (KeyValue<byte[], byte[]> letter : dead) {
                Map<?, ?> body = JSON.readValue(letter.value, Map.class);
                int offset = ((Number) body.get("offset")).intValue();
                assertArrayEquals(key(offset), letter.key);
                String error = (String) body.get("error");
                assertTrue(error != null && !error.isBlank() && error.length() < 4000,
                    "a short, clear error: " + (error == null ? null : error.substring(0, Math.min(300, error.length()))));
                byte[] original = sent.get(offset);
                Object base64 = body.get("original_base64");
                assertArrayEquals(original, base64 == null ? null : Base64.getDecoder().decode((String) base64));
            }
            for (KeyValue<byte[], byte[]> result : results) {
                Map<?, ?> body = JSON.readValue(result.value, Map.class);
                assertEquals(1, ((Number) body.get("version")).intValue());
            }
        } finally {
            TestRepository.deleteTree(root);
        }
    }

    private static byte[] key(int i) {
        return ("k" + i).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] hostile(Random random) throws Exception {
        switch (random.nextInt(6)) {
            case 0 -> {
                byte[] bytes = new byte[random.nextInt(64)];
                random.nextBytes(bytes);
                return bytes;
            }
            case 1 -> {
                return "[".repeat(1 + random.nextInt(3000)).getBytes(StandardCharsets.UTF_8);
            }
            case 2 -> {
                String row = "{\"Sepal.Length\": NaN, \"Sepal.Width\": Infinity, \"Petal.Length\": -Infinity, \"Petal.Width\": 1}";
                return row.substring(0, random.nextInt(row.length() + 1)).getBytes(StandardCharsets.UTF_8);
            }
            default -> {
                Map<String, Object> row = new LinkedHashMap<>();
                for (String field : FIELDS) {
                    if (random.nextInt(8) != 0) {
                        row.put(field, value(random));
                    }
                }
                if (random.nextBoolean()) {
                    row.put("extra-" + random.nextInt(5), value(random));
                }
                return JSON.writeValueAsBytes(row);
            }
        }
    }

    private static Object value(Random random) {
        return switch (random.nextInt(12)) {
            case 0 -> null;
            case 1 -> random.nextBoolean();
            case 2 -> "x".repeat(random.nextInt(100_000));
            case 3 -> "\u00e9\u4e2d\ud83d\ude00";
            case 4 -> List.of(1, 2);
            case 5 -> Map.of("a", 1);
            case 6 -> Long.MAX_VALUE;
            case 7 -> new java.math.BigDecimal("1e400");
            case 8 -> -0.0;
            case 9 -> String.valueOf(random.nextGaussian());
            default -> random.nextGaussian() * 3 + 4;
        };
    }
}
