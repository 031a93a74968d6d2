package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.Models;
import io.jarscore.ScoringModel;
import io.jarscore.registry.TestRepository;

/**
 * The runnable jar as a user runs it: {@code java -jar target/jarscore-kafka-app.jar --config FILE} in a
 * child JVM, against a real KRaft broker, over a repository holding one real artifact. Run by failsafe
 * in {@code verify}, after {@code package} wrote the jar (system property {@code jarscore.kafkaAppJar}).
 * Valid rows must come out scored exactly as the artifact loaded in-process scores them, naming the model
 * and version; an invalid row must come out on the dead-letter topic naming the field and value.
 */
class ScoringAppJarIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Every wait of this test: the broker, the app's first results, the app's exit. */
    private static final Duration WAIT = Duration.ofSeconds(90);
    /** Iris rows of all three species. */
    private static final int[] ROWS = {0, 1, 49, 50, 75, 100, 149};
    private static final String BAD_KEY = "bad";
    private static final byte[] BAD_VALUE =
        "{\"Sepal.Length\": 5.1, \"Sepal.Width\": 3.5, \"Petal.Length\": \"long\", \"Petal.Width\": 0.2}"
            .getBytes(StandardCharsets.UTF_8);

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void runnableJarScoresRecordsAndDeadLettersABadOne() throws Exception {
        Path jar = runnableJar();
        Path dir = Files.createTempDirectory("jarscore-jar-it-");
        KafkaBroker broker = null;
        Process app = null;
        Path appLog = dir.resolve("app.log");
        try {
            Path artifact = TestRepository.publish(dir.resolve("models"), 1);
            broker = KafkaBroker.start();

            String id = "jar-it-" + UUID.randomUUID().toString().substring(0, 8);
            Properties settings = new Properties();
            settings.put(AppConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers());
            settings.put(AppConfig.APPLICATION_ID, "jarscore-" + id);
            settings.put(AppConfig.MODEL_ROOT, dir.resolve("models").toString());
            settings.put(AppConfig.MODEL_NAME, TestRepository.NAME);
            settings.put(AppConfig.INPUT_TOPIC, id + "-input");
            settings.put(AppConfig.OUTPUT_TOPIC, id + "-scores");
            settings.put(AppConfig.DLQ_TOPIC, id + "-dead-letters");
            settings.put(AppConfig.CONTROL_TOPIC, id + "-control");
            settings.put(AppConfig.WATCH_INTERVAL_MS, "0");
            settings.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
            settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
            Path config = dir.resolve("app.properties");
            try (var out = Files.newOutputStream(config)) {
                settings.store(out, "ScoringAppJarIT");
            }
            // The test broker creates no topics on its own, nor does the app.
            for (String topic : List.of(AppConfig.INPUT_TOPIC, AppConfig.OUTPUT_TOPIC, AppConfig.DLQ_TOPIC,
                AppConfig.CONTROL_TOPIC)) {
                broker.createTopic(settings.getProperty(topic), 1);
            }

            // What the artifact itself says for each row: the results must equal these.
            List<Map<String, Object>> iris = TestRepository.irisRows();
            Map<String, Map<String, Object>> rowByKey = new LinkedHashMap<>();
            Map<String, Map<String, Object>> expected = new LinkedHashMap<>();
            String target;
            try (ScoringModel model = Models.load(artifact)) {
                assertEquals(TestRepository.NAME, model.name());
                assertEquals(1, model.version());
                target = model.outputs().get(0).name();
                for (int i : ROWS) {
                    rowByKey.put("r" + i, iris.get(i));
                    expected.put("r" + i, model.score(iris.get(i)));
                }
            }

            app = startJar(jar, config, appLog);

            Map<String, List<Map<String, Object>>> results = new LinkedHashMap<>();
            List<Map<String, Object>> letters = new ArrayList<>();
            RecordMetadata badSent;
            try (KafkaProducer<byte[], byte[]> producer = producer(broker);
                 KafkaConsumer<byte[], byte[]> consumer = consumer(broker)) {
                for (Map.Entry<String, Map<String, Object>> row : rowByKey.entrySet()) {
                    producer.send(new ProducerRecord<>(settings.getProperty(AppConfig.INPUT_TOPIC),
                        row.getKey().getBytes(StandardCharsets.UTF_8), JSON.writeValueAsBytes(row.getValue())));
                }
                badSent = producer.send(new ProducerRecord<>(settings.getProperty(AppConfig.INPUT_TOPIC),
                    BAD_KEY.getBytes(StandardCharsets.UTF_8), BAD_VALUE)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
                producer.flush();

                List<TopicPartition> outputs = List.of(
                    new TopicPartition(settings.getProperty(AppConfig.OUTPUT_TOPIC), 0),
                    new TopicPartition(settings.getProperty(AppConfig.DLQ_TOPIC), 0));
                consumer.assign(outputs);
                consumer.seekToBeginning(outputs);
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (!(results.keySet().containsAll(expected.keySet()) && !letters.isEmpty())) {
                    if (!app.isAlive()) {
                        fail("the app (java -jar " + jar + ") exited with " + app.exitValue() + " before it had scored"
                            + " every record; its output:\n" + tail(appLog));
                    }
                    if (System.nanoTime() > deadline) {
                        fail("gave up after " + WAIT.toSeconds() + " s waiting for the app's results: " + results.size()
                            + " of " + expected.size() + " keys scored, " + letters.size() + " dead letters;"
                            + " the app's output:\n" + tail(appLog));
                    }
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        String key = new String(record.key(), StandardCharsets.UTF_8);
                        Map<String, Object> value = JSON.readValue(record.value(), new TypeReference<Map<String, Object>>() { });
                        if (record.topic().equals(settings.getProperty(AppConfig.DLQ_TOPIC))) {
                            assertEquals(BAD_KEY, key, "dead letter for a valid record: " + value);
                            letters.add(value);
                        } else {
                            results.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
                        }
                    }
                }
            }

            assertEquals(expected.keySet(), results.keySet(), "keys scored (the bad one must not be among them)");
            for (Map.Entry<String, List<Map<String, Object>>> scored : results.entrySet()) {
                Map<String, Object> want = expected.get(scored.getKey());
                for (Map<String, Object> result : scored.getValue()) {
                    String what = "result of " + scored.getKey() + " " + rowByKey.get(scored.getKey()) + ": " + result;
                    assertEquals(TestRepository.NAME, result.get("model"), what);
                    assertEquals(1, result.get("version"), what);
                    assertEquals(want, result.get("outputs"), what);
                    assertEquals(want.get(target), result.get("prediction"), what);
                }
            }
            assertEquals(1, letters.size(), "dead letters: " + letters);
            Map<String, Object> letter = letters.get(0);
            String error = (String) letter.get("error");
            assertTrue(error.contains("field 'Petal.Length'") && error.contains("'long'"),
                "the dead letter's error should name the field and its value: " + letter);
            assertEquals(new String(BAD_VALUE, StandardCharsets.UTF_8), letter.get("original_text"));
            assertEquals(new String(BAD_VALUE, StandardCharsets.UTF_8),
                new String(Base64.getDecoder().decode((String) letter.get("original_base64")), StandardCharsets.UTF_8));
            assertEquals(settings.getProperty(AppConfig.INPUT_TOPIC), letter.get("topic"));
            assertEquals(badSent.offset(), ((Number) letter.get("offset")).longValue());

            // SIGTERM runs the app's shutdown hook, which closes Kafka Streams (within 60 s) and exits.
            long stopping = System.nanoTime();
            app.destroy();
            assertTrue(app.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS),
                "the app did not exit within " + WAIT.toSeconds() + " s of SIGTERM; its output:\n" + tail(appLog));
            System.out.printf("ScoringAppJarIT: java -jar %s scored %d records and dead-lettered 1; exited %d ms after"
                + " SIGTERM (code %d)%n", jar.getFileName(), results.size(), (System.nanoTime() - stopping) / 1_000_000,
                app.exitValue());
        } finally {
            if (app != null) {
                stop(app);
            }
            if (broker != null) {
                broker.close();
            }
            TestRepository.deleteTree(dir);
        }
    }

    /** The jar `package` wrote; the test fails here, saying so, when it is not there. */
    private static Path runnableJar() {
        String property = System.getProperty("jarscore.kafkaAppJar");
        if (property == null || property.isBlank()) {
            fail("system property jarscore.kafkaAppJar is not set; run this test through Maven (`mvn verify` in jvm/),"
                + " whose failsafe configuration in kafka-app/pom.xml sets it to target/jarscore-kafka-app.jar");
        }
        Path jar = Path.of(property).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            fail("the runnable jar " + jar + " is missing: maven-shade-plugin writes it at `package`, which `mvn verify`"
                + " runs before this test; check the shade plugin's outputFile in kafka-app/pom.xml");
        }
        return jar;
    }

    /** {@code java -jar JAR --config CONFIG}, stdout and stderr to {@code log}, no JARSCORE_* from this environment. */
    private static Process startJar(Path jar, Path config, Path log) throws IOException {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx512m", "-XX:+UseSerialGC", "-jar", jar.toString(), "--config", config.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("JARSCORE_"));
        return builder.start();
    }

    private static void stop(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(KafkaBroker broker) {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) WAIT.toMillis(),
            ProducerConfig.MAX_BLOCK_MS_CONFIG, WAIT.toMillis()),
            new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<byte[], byte[]> consumer(KafkaBroker broker) {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) WAIT.toMillis()),
            new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
