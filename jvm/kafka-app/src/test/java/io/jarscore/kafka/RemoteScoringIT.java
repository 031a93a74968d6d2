package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.TestRepository;

/**
 * The app scoring remotely ({@code jarscore.scoring=remote}) through a real {@code jarscore serve}: the
 * model server's runnable jar (system property {@code jarscore.serverJar}) in a child JVM, serving a
 * repository of a real Iris artifact over gRPC, and a real KRaft broker. A result record must be
 * byte for byte what the app writes scoring the same artifact embedded; a record the server refuses
 * must reach the dead letters with the server's message; and records arriving while the server is
 * stopped, long enough for the stream thread to give up and be replaced, must all come out once it
 * is back.
 */
class RemoteScoringIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofMinutes(3);

    private static KafkaBroker broker;
    private static Path dir;
    private static Path models;
    /** Each Iris row's result record as the embedded app writes it. */
    private static List<byte[]> embedded;
    /** The server; the restart test replaces it with one on the same port. */
    private static ServerProcess server;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("jarscore-remote-it-");
        models = dir.resolve("models");
        TestRepository.publish(models, 2);
        embedded = scoreEmbedded();
        server = ServerProcess.start(models, 0, dir.resolve("server.log"));
        broker = KafkaBroker.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (broker != null) {
            broker.close();
        }
        TestRepository.deleteTree(dir);
    }

    @Test
    void scoresAsTheEmbeddedAppDoesAndDeadLettersWhatTheServerRefuses() throws Exception {
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("bad-string", "{\"Sepal.Length\": 5.1, \"Sepal.Width\": 3.5, \"Petal.Length\": \"long\", \"Petal.Width\": 0.2}"
            .getBytes(StandardCharsets.UTF_8));
        bad.put("bad-absent", "{\"Sepal.Length\": 5.1, \"Sepal.Width\": 3.5, \"Petal.Length\": 1.4}".getBytes(StandardCharsets.UTF_8));
        bad.put("bad-json", "{\"Sepal.Length\": 5.1,".getBytes(StandardCharsets.UTF_8));
        try (ScoringApp app = ScoringApp.start(remoteConfig("a", server.grpcPort(), 120_000));
             KafkaProducer<byte[], byte[]> producer = producer()) {
            assertEquals(null, app.registry(), "a remote app holds no model of its own");
            List<Map<String, Object>> rows = TestRepository.irisRows();
            for (int i = 0; i < rows.size(); i++) {
                producer.send(new ProducerRecord<>("a-input", ("r" + i).getBytes(StandardCharsets.UTF_8),
                    JSON.writeValueAsBytes(rows.get(i))));
            }
            bad.forEach((key, value) -> producer.send(new ProducerRecord<>("a-input", key.getBytes(StandardCharsets.UTF_8), value)));
            producer.flush();

            Map<String, byte[]> results = new HashMap<>();
            Map<String, Map<String, Object>> letters = new HashMap<>();
            readUntil("a", results, letters, () -> results.size() == rows.size() && letters.size() == bad.size());
            for (int i = 0; i < rows.size(); i++) {
                assertEquals(new String(embedded.get(i), StandardCharsets.UTF_8),
                    new String(results.get("r" + i), StandardCharsets.UTF_8), "record r" + i);
            }
            for (Map.Entry<String, byte[]> planted : bad.entrySet()) {
                Map<String, Object> letter = letters.get(planted.getKey());
                assertArrayEquals(planted.getValue(), Base64.getDecoder().decode((String) letter.get("original_base64")));
            }
            String refusedString = (String) letters.get("bad-string").get("error");
            assertTrue(refusedString.startsWith("the server refused the record (INVALID_ARGUMENT): input 'Petal.Length'"),
                refusedString);
            String refusedAbsent = (String) letters.get("bad-absent").get("error");
            assertTrue(refusedAbsent.startsWith("the server refused the record (INVALID_ARGUMENT): ")
                && refusedAbsent.contains("'Petal.Width'"), refusedAbsent);
            assertTrue(((String) letters.get("bad-json").get("error")).contains("not valid JSON"), letters.get("bad-json").toString());
        }
    }

    @Test
    void aServerRestartMidStreamLosesNoRecord() throws Exception {
        int records = 1_000;
        List<Map<String, Object>> rows = TestRepository.irisRows();
        Map<String, byte[]> results = new HashMap<>();
        Map<String, Map<String, Object>> letters = new HashMap<>();
        int port = server.grpcPort();
        // Retries give up after a second: the outage below outlasts them, so the stream thread also
        // fails and is replaced, and its replacement resumes from the committed offsets.
        try (ScoringApp app = ScoringApp.start(remoteConfig("b", port, 1_000));
             KafkaProducer<byte[], byte[]> producer = producer()) {
            produce(producer, "b-input", 0, records / 2);
            readUntil("b", results, letters, () -> results.size() == records / 2);
            server.close();
            // The second half arrives while the server is down: none of it can be scored, none may be lost.
            produce(producer, "b-input", records / 2, records);
            long stoppedAt = System.nanoTime();
            readUntil("b", results, letters, () -> System.nanoTime() - stoppedAt > TimeUnit.SECONDS.toNanos(3));
            assertEquals(records / 2, results.size(), "results while no server was up");
            server = ServerProcess.start(models, port, dir.resolve("server-restarted.log"));
            readUntil("b", results, letters, () -> results.size() == records);
            assertEquals(Map.of(), letters, "no record may become a dead letter because the server was down");
            for (int i = 0; i < records; i++) {
                assertArrayEquals(embedded.get(i % rows.size()), results.get("r" + i), "record r" + i);
            }
        }
    }

    private static void produce(KafkaProducer<byte[], byte[]> producer, String topic, int from, int to) throws Exception {
        List<Map<String, Object>> rows = TestRepository.irisRows();
        for (int i = from; i < to; i++) {
            producer.send(new ProducerRecord<>(topic, ("r" + i).getBytes(StandardCharsets.UTF_8),
                JSON.writeValueAsBytes(rows.get(i % rows.size()))));
        }
        producer.flush();
    }

    /** Topics {@code <id>-input}, {@code -scores}, {@code -dead-letters}, and the remote app's settings for them. */
    private static AppConfig remoteConfig(String id, int grpcPort, int retryMs) throws Exception {
        for (String topic : List.of("input", "scores", "dead-letters")) {
            broker.createTopic(id + "-" + topic, topic.equals("input") ? 2 : 1);
        }
        Map<String, String> settings = new HashMap<>();
        settings.put(AppConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers());
        settings.put(AppConfig.APPLICATION_ID, "jarscore-remote-" + id);
        settings.put(AppConfig.SCORING, "remote");
        settings.put(AppConfig.REMOTE_TARGET, "localhost:" + grpcPort);
        settings.put(AppConfig.REMOTE_RETRY_MS, Integer.toString(retryMs));
        settings.put(AppConfig.MODEL_NAME, TestRepository.NAME);
        settings.put(AppConfig.INPUT_TOPIC, id + "-input");
        settings.put(AppConfig.OUTPUT_TOPIC, id + "-scores");
        settings.put(AppConfig.DLQ_TOPIC, id + "-dead-letters");
        settings.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state-" + id).toString());
        settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200");
        // A replaced stream thread's consumer does not leave the group (Kafka Streams keeps members
        // on close): its partitions move on when its session times out, 45 s by default.
        settings.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        settings.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        return AppConfig.of(settings);
    }

    /** Each Iris row scored by the embedded app's topology on the same repository. */
    private static List<byte[]> scoreEmbedded() throws Exception {
        AppConfig config = AppConfig.of(Map.of(AppConfig.BOOTSTRAP_SERVERS, "unused:9092",
            AppConfig.MODEL_ROOT, models.toString(), AppConfig.MODEL_NAME, TestRepository.NAME,
            AppConfig.WATCH_INTERVAL_MS, "0", StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state-embedded").toString()));
        List<byte[]> out = new ArrayList<>();
        try (ModelRegistry registry = ScoringApp.openRegistry(config);
             TopologyTestDriver driver = new TopologyTestDriver(ScoringTopology.build(config, registry), config.streamsProperties())) {
            TestInputTopic<byte[], byte[]> input = driver.createInputTopic(config.inputTopic(), new ByteArraySerializer(),
                new ByteArraySerializer());
            TestOutputTopic<byte[], byte[]> scores = driver.createOutputTopic(config.outputTopic(), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
            for (Map<String, Object> row : TestRepository.irisRows()) {
                input.pipeInput("k".getBytes(StandardCharsets.UTF_8), JSON.writeValueAsBytes(row));
                out.add(scores.readValue());
            }
        }
        return out;
    }

    /** Reads {@code <id>-scores} and {@code <id>-dead-letters} from the start until {@code done}. */
    private static void readUntil(String id, Map<String, byte[]> results, Map<String, Map<String, Object>> letters,
                                  BooleanSupplier done) throws Exception {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
            new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> outputs = List.of(new TopicPartition(id + "-scores", 0), new TopicPartition(id + "-dead-letters", 0));
            consumer.assign(outputs);
            consumer.seekToBeginning(outputs);
            long deadline = System.nanoTime() + WAIT.toNanos();
            do {
                if (System.nanoTime() > deadline) {
                    fail("gave up after " + WAIT + " with " + results.size() + " results and dead letters " + letters.keySet());
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    if (record.topic().endsWith("-scores")) {
                        results.put(key, record.value());
                    } else {
                        letters.put(key, JSON.readValue(record.value(), new TypeReference<Map<String, Object>>() { }));
                    }
                }
            } while (!done.getAsBoolean());
        }
    }

    private static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.LINGER_MS_CONFIG, 5),
            new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * {@code java -jar jarscore-server.jar ROOT --grpc-port PORT --http-port -1} in a child JVM; port 0
     * picks a free one, which the server writes to its ports file. {@link #close()} sends SIGTERM (the
     * server's graceful shutdown) and waits for the exit.
     */
    static final class ServerProcess implements AutoCloseable {

        private final Process process;
        private final int grpcPort;

        private ServerProcess(Process process, int grpcPort) {
            this.process = process;
            this.grpcPort = grpcPort;
        }

        static ServerProcess start(Path root, int port, Path log) throws Exception {
            String jar = System.getProperty("jarscore.serverJar");
            if (jar == null || !Files.isRegularFile(Path.of(jar))) {
                fail("the model server's jar is not there (system property jarscore.serverJar = " + jar
                    + "); run this test through Maven (cd jvm && mvn verify -pl kafka-app -am)");
            }
            Path ports = Files.createTempFile(log.getParent(), "ports-", ".json");
            Files.delete(ports);
            Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-jar", jar, root.toString(), "--http-port", "-1",
                "--grpc-port", Integer.toString(port), "--poll-seconds", "0", "--ports-file", ports.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!Files.exists(ports)) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    process.destroyForcibly();
                    fail("the model server did not start (" + (process.isAlive() ? "no ports file" : "exit "
                        + process.waitFor()) + "):\n" + Files.readString(log));
                }
                Thread.sleep(50);
            }
            Map<String, Integer> bound = JSON.readValue(ports.toFile(), new TypeReference<Map<String, Integer>>() { });
            ServerProcess server = new ServerProcess(process, bound.get("grpc"));
            if (server.grpcPort <= 0) {
                server.close();
                fail(jar + " serves no gRPC (ports " + bound + "); rebuild it: cd jvm && mvn install -pl server -am");
            }
            return server;
        }

        int grpcPort() {
            return grpcPort;
        }

        @Override
        public void close() throws IOException, InterruptedException {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
