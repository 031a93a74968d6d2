package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.registry.TestRepository;

/**
 * The scoring app against a real single-node KRaft broker, exactly-once: 100 000 good records with
 * bad ones planted among them, and one swap (v1 decision tree to v2 logistic regression, announced on
 * the control topic) while records are in flight. Every good record must come out exactly once, scored
 * correctly by the version it names; every bad one must come out once on the dead-letter topic.
 */
class ScoringAppBrokerTest {

    static final int GOOD = 100_000;
    /** A bad record after every this many good ones. */
    static final int BAD_EVERY = 4_999;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofMinutes(4);

    private static KafkaBroker broker;
    private static Path root;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaBroker.start();
        root = Files.createTempDirectory("jarscore-broker-test-");
        TestRepository.publish(root, 1);
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
        if (root != null) {
            TestRepository.deleteTree(root);
        }
    }

    @Test
    void scoresEveryRecordExactlyOnceAcrossASwap() throws Exception {
        AppConfig config = AppConfig.of(Map.of(
            AppConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers(),
            AppConfig.APPLICATION_ID, "jarscore-it",
            AppConfig.MODEL_ROOT, root.toString(),
            AppConfig.MODEL_NAME, TestRepository.NAME,
            AppConfig.WATCH_INTERVAL_MS, "0",
            AppConfig.NUM_STREAM_THREADS, "2",
            AppConfig.PROCESSING_GUARANTEE, StreamsConfig.EXACTLY_ONCE_V2,
            StreamsConfig.STATE_DIR_CONFIG, root.resolve("state").toString()));
        broker.createTopic(config.inputTopic(), 4);
        broker.createTopic(config.outputTopic(), 4);
        broker.createTopic(config.dlqTopic(), 1);
        broker.createTopic(config.controlTopic(), 1);

        List<Map<String, Object>> rows = TestRepository.irisRows();
        List<byte[]> rowJson = new ArrayList<>();
        for (Map<String, Object> row : rows) {
            rowJson.add(JSON.writeValueAsBytes(row));
        }
        List<Map<String, Object>> v1 = TestRepository.expectedOutputs(1);
        List<Map<String, Object>> v2 = TestRepository.expectedOutputs(2);

        Map<String, Future<RecordMetadata>> planted = new HashMap<>();
        Map<String, byte[]> plantedBytes = new HashMap<>();
        Map<String, Integer> firstResult = new HashMap<>();
        Map<String, Integer> resultCount = new HashMap<>();
        Map<String, Integer> letterCount = new HashMap<>();
        Map<Integer, Integer> lastVersionByPartition = new HashMap<>();
        int[] versions = new int[3];
        int swapAt = GOOD / 2;

        try (ScoringApp app = ScoringApp.start(config);
             KafkaProducer<byte[], byte[]> producer = producer();
             KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            List<TopicPartition> outputs = partitions(consumer, config.outputTopic(), config.dlqTopic());
            consumer.assign(outputs);
            consumer.seekToBeginning(outputs);

            Consume consume = () -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    if (record.topic().equals(config.dlqTopic())) {
                        letterCount.merge(key, 1, Integer::sum);
                        checkLetter(key, record.value(), plantedBytes.get(key), planted.get(key), config.inputTopic());
                        continue;
                    }
                    if (!key.startsWith("r")) {
                        fail("a planted bad record was scored instead of dead-lettered: " + key + " -> "
                            + new String(record.value(), StandardCharsets.UTF_8));
                    }
                    resultCount.merge(key, 1, Integer::sum);
                    int i = Integer.parseInt(key.substring(1));
                    Map<String, Object> result = JSON.readValue(record.value(), new TypeReference<Map<String, Object>>() { });
                    int version = (Integer) result.get("version");
                    versions[version]++;
                    firstResult.putIfAbsent(key, version);
                    assertEquals((version == 1 ? v1 : v2).get(i % rows.size()), result.get("outputs"), "record " + key);
                    int before = lastVersionByPartition.getOrDefault(record.partition(), 1);
                    assertTrue(version >= before, "partition " + record.partition() + " went back from v" + before
                        + " to v" + version + " at " + key);
                    lastVersionByPartition.put(record.partition(), version);
                }
            };

            int bad = produce(producer, config.inputTopic(), 0, swapAt, rowJson, planted, plantedBytes);
            await("a fifth of the results before the swap", () -> resultCount.size() >= GOOD / 5, consume);
            int scoredByV1BeforeSwap = resultCount.size();

            TestRepository.publish(root, 2);
            producer.send(new ProducerRecord<>(config.controlTopic(), null, new Announcement(TestRepository.NAME, 2).toJson())).get();
            await("the announcement to reach the app", () -> app.registry().currentVersion(TestRepository.NAME) == 2, consume);

            bad += produce(producer, config.inputTopic(), swapAt, GOOD, rowJson, planted, plantedBytes);
            int totalBad = bad;
            await("every result and dead letter", () -> resultCount.size() == GOOD && letterCount.size() == totalBad, consume);
            awaitCommitted(broker, config, consume);
            drainToEnd(consumer, outputs, consume);

            assertEquals(GOOD, resultCount.size(), "records with a result");
            assertEquals(GOOD, resultCount.values().stream().mapToInt(Integer::intValue).sum(), "results, duplicates included");
            assertEquals(Set.of(1), Set.copyOf(resultCount.values()), "every key exactly once");
            assertEquals(totalBad, letterCount.size());
            assertEquals(Set.of(1), Set.copyOf(letterCount.values()), "every dead letter exactly once");
            assertEquals(planted.keySet(), letterCount.keySet());
            assertTrue(versions[1] >= scoredByV1BeforeSwap && versions[2] >= GOOD - swapAt,
                "v1 scored " + versions[1] + ", v2 " + versions[2]);
            for (int i = swapAt; i < GOOD; i++) {
                assertEquals(2, firstResult.get("r" + i), "r" + i + " was produced after the swap");
            }
            System.out.printf("ScoringAppBrokerTest: %d results (%d by v1, %d by v2), %d dead letters, 0 duplicates%n",
                resultCount.size(), versions[1], versions[2], letterCount.size());
        }
    }

    @Test
    void twoInstancesShareThePartitionsAndBothSwitchOnOneAnnouncement() throws Exception {
        Path repository = Files.createTempDirectory("jarscore-two-instances-");
        TestRepository.publish(repository, 1);
        TestRepository.publish(repository, 2);
        AppConfig[] configs = new AppConfig[2];
        for (int n = 0; n < 2; n++) {
            configs[n] = AppConfig.of(settings(
                AppConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers(),
                AppConfig.APPLICATION_ID, "jarscore-two",
                AppConfig.MODEL_ROOT, repository.toString(),
                AppConfig.MODEL_NAME, TestRepository.NAME,
                AppConfig.MODEL_POLICY, "specific:1",
                AppConfig.WATCH_INTERVAL_MS, "0",
                AppConfig.INPUT_TOPIC, "two-input", AppConfig.OUTPUT_TOPIC, "two-scores",
                AppConfig.DLQ_TOPIC, "two-dead-letters", AppConfig.CONTROL_TOPIC, "two-control",
                StreamsConfig.STATE_DIR_CONFIG, repository.resolve("state-" + n).toString()));
        }
        broker.createTopic("two-input", 4);
        broker.createTopic("two-scores", 4);
        broker.createTopic("two-dead-letters", 1);
        broker.createTopic("two-control", 1);
        List<Map<String, Object>> rows = TestRepository.irisRows();
        List<Map<String, Object>> v2 = TestRepository.expectedOutputs(2);
        Map<String, Integer> versionByKey = new HashMap<>();
        try (ScoringApp first = ScoringApp.start(configs[0]);
             ScoringApp second = ScoringApp.start(configs[1]);
             KafkaProducer<byte[], byte[]> producer = producer();
             KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            List<TopicPartition> outputs = partitions(consumer, "two-scores");
            consumer.assign(outputs);
            consumer.seekToBeginning(outputs);
            Consume consume = () -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Map<String, Object> result = JSON.readValue(record.value(), new TypeReference<Map<String, Object>>() { });
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    versionByKey.put(key, (Integer) result.get("version"));
                    if ((Integer) result.get("version") == 2) {
                        assertEquals(v2.get(Integer.parseInt(key.substring(1)) % rows.size()), result.get("outputs"), key);
                    }
                }
            };
            await("both instances to own input partitions", () -> activeTasks(first) > 0 && activeTasks(second) > 0
                && activeTasks(first) + activeTasks(second) == 4, consume);
            assertEquals(1, first.registry().currentVersion(TestRepository.NAME));
            assertEquals(1, second.registry().currentVersion(TestRepository.NAME));

            producer.send(new ProducerRecord<>("two-control", null, new Announcement(TestRepository.NAME, 2).toJson())).get();
            await("both instances to switch", () -> first.registry().currentVersion(TestRepository.NAME) == 2
                && second.registry().currentVersion(TestRepository.NAME) == 2, consume);
            for (int i = 0; i < 2_000; i++) {
                producer.send(new ProducerRecord<>("two-input", ("t" + i).getBytes(StandardCharsets.UTF_8),
                    JSON.writeValueAsBytes(rows.get(i % rows.size()))));
            }
            producer.flush();
            await("2 000 results", () -> versionByKey.size() == 2_000, consume);
            assertEquals(Set.of(2), Set.copyOf(versionByKey.values()), "every instance scores with v2 after one announcement");
            assertTrue(activeTasks(first) > 0 && activeTasks(second) > 0, "both instances kept partitions");
        } finally {
            TestRepository.deleteTree(repository);
        }
    }

    private static Map<String, String> settings(String... keysAndValues) {
        Map<String, String> settings = new HashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            settings.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return settings;
    }

    private static int activeTasks(ScoringApp app) {
        if (app.streams().state() != org.apache.kafka.streams.KafkaStreams.State.RUNNING) {
            return 0;
        }
        return app.streams().metadataForLocalThreads().stream().mapToInt(t -> t.activeTasks().size()).sum();
    }

    /** Produces good records {@code from..to} (keys r<i>) with a bad one (keys bad<i>) after every {@link #BAD_EVERY}. */
    private static int produce(KafkaProducer<byte[], byte[]> producer, String topic, int from, int to, List<byte[]> rows,
                               Map<String, Future<RecordMetadata>> planted, Map<String, byte[]> plantedBytes) {
        int bad = 0;
        for (int i = from; i < to; i++) {
            producer.send(new ProducerRecord<>(topic, ("r" + i).getBytes(StandardCharsets.UTF_8), rows.get(i % rows.size())));
            if (i % BAD_EVERY == BAD_EVERY - 1) {
                String key = "bad" + i;
                byte[] value = switch (bad % 3) {
                    case 0 -> ("{\"Sepal.Length\": 5.1, \"Sepal.Width\": " + i).getBytes(StandardCharsets.UTF_8);
                    case 1 -> "{\"Sepal.Length\": 5.1, \"Sepal.Width\": 3.5, \"Petal.Width\": 0.2}".getBytes(StandardCharsets.UTF_8);
                    default -> "{\"Sepal.Length\": 5.1, \"Sepal.Width\": 3.5, \"Petal.Length\": [1.4], \"Petal.Width\": 0.2}"
                        .getBytes(StandardCharsets.UTF_8);
                };
                planted.put(key, producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)));
                plantedBytes.put(key, value);
                bad++;
            }
        }
        producer.flush();
        return bad;
    }

    private static void checkLetter(String key, byte[] value, byte[] original, Future<RecordMetadata> sent, String topic)
        throws Exception {
        if (original == null) {
            fail("dead letter for " + key + ", which was not planted: " + new String(value, StandardCharsets.UTF_8));
        }
        Map<String, Object> letter = JSON.readValue(value, new TypeReference<Map<String, Object>>() { });
        assertArrayEquals(original, Base64.getDecoder().decode((String) letter.get("original_base64")), key);
        String error = (String) letter.get("error");
        assertTrue(error.contains("not valid JSON") || error.contains("field 'Petal.Length' is absent")
            || error.contains("field 'Petal.Length' value [1.4] is a JSON array"), key + ": " + error);
        RecordMetadata where = sent.get(60, TimeUnit.SECONDS);
        assertEquals(topic, letter.get("topic"));
        assertEquals(where.partition(), letter.get("partition"), key);
        assertEquals(where.offset(), ((Number) letter.get("offset")).longValue(), key);
    }

    /** Waits until the app's group has committed every input offset: no more output can appear after that. */
    private static void awaitCommitted(KafkaBroker broker, AppConfig config, Consume consume) throws Exception {
        try (Admin admin = broker.admin();
             KafkaConsumer<byte[], byte[]> probe = consumer()) {
            List<TopicPartition> inputs = partitions(probe, config.inputTopic());
            Map<TopicPartition, Long> ends = probe.endOffsets(inputs);
            await("the app to commit every input offset", () -> {
                Map<TopicPartition, OffsetAndMetadata> committed;
                try {
                    committed = admin.listConsumerGroupOffsets(config.get(AppConfig.APPLICATION_ID))
                        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    return false;
                }
                return inputs.stream().allMatch(tp -> committed.get(tp) != null
                    && committed.get(tp).offset() >= ends.get(tp));
            }, consume);
        }
    }

    /** Reads until this consumer's positions reach the committed end of every output partition. */
    private static void drainToEnd(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> outputs, Consume consume)
        throws Exception {
        Map<TopicPartition, Long> ends = consumer.endOffsets(outputs);
        await("the end of the output topics", () -> outputs.stream().allMatch(tp -> consumer.position(tp) >= ends.get(tp)),
            consume);
    }

    private static void await(String what, BooleanSupplier done, Consume consume) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("gave up waiting for " + what + " after " + DEADLINE);
            }
            consume.poll();
        }
    }

    @FunctionalInterface
    private interface Consume {
        void poll() throws Exception;
    }

    private static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String... topics) {
        List<TopicPartition> all = new ArrayList<>();
        for (String topic : topics) {
            consumer.partitionsFor(topic).forEach(p -> all.add(new TopicPartition(topic, p.partition())));
        }
        return all;
    }

    private static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
            ProducerConfig.LINGER_MS_CONFIG, 5, ProducerConfig.BATCH_SIZE_CONFIG, 65536),
            new ByteArraySerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<byte[], byte[]> consumer() {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000),
            new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
