package io.jarscore.kafka;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.jarscore.registry.TestRepository;

/**
 * The Kafka app's benchmark (run by {@code benchmarks/jvm_side.py}): a real KRaft broker
 * ({@link KafkaBroker}), the app in this JVM with its defaults (at-least-once, one stream thread), and
 * two phases on the artifact's rows. Throughput: N records sent as fast as the producer can, records/s
 * from the first send to the last result read. Latency: records paced at a fixed rate well under the
 * throughput, each timed from its producer timestamp (which the result keeps) to when the test's
 * consumer reads the result. Writes the figures as JSON.
 *
 * <p>{@code KafkaBench ARTIFACT_DIR ROWS.csv THROUGHPUT_RECORDS LATENCY_RECORDS LATENCY_RATE OUT.json [GRPC_TARGET]}:
 * with a gRPC target ({@code host:port} of a {@code jarscore serve} serving the artifact's model), the
 * app scores remotely ({@code jarscore.scoring=remote}) instead of embedded.
 */
public final class KafkaBench {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String INPUT = "bench-input";
    private static final String OUTPUT = "bench-scores";
    private static final int PARTITIONS = 2;
    private static final String APP_LINGER = "producer.linger.ms";

    private KafkaBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6 && args.length != 7) {
            System.err.println("usage: KafkaBench ARTIFACT_DIR ROWS.csv THROUGHPUT_RECORDS LATENCY_RECORDS LATENCY_RATE OUT.json"
                + " [GRPC_TARGET]");
            System.exit(2);
        }
        Path artifact = Path.of(args[0]);
        List<byte[]> rows = jsonRows(Path.of(args[1]));
        int throughputRecords = Integer.parseInt(args[2]);
        int latencyRecords = Integer.parseInt(args[3]);
        int rate = Integer.parseInt(args[4]);
        Map<?, ?> manifest = JSON.readValue(artifact.resolve("manifest.json").toFile(), Map.class);
        String name = String.valueOf(manifest.get("name"));
        int version = manifest.get("version") instanceof Number n ? n.intValue() : 1;

        Path root = Files.createTempDirectory("jarscore-kafka-bench-");
        Map<String, Object> out = new LinkedHashMap<>();
        long started = System.nanoTime();
        try (KafkaBroker broker = KafkaBroker.start()) {
            out.put("broker_start_seconds", (System.nanoTime() - started) / 1e9);
            copy(artifact, Files.createDirectories(root.resolve(name).resolve(Integer.toString(version))));
            broker.createTopic(INPUT, PARTITIONS);
            broker.createTopic(OUTPUT, PARTITIONS);
            broker.createTopic("bench-dead-letters", 1);
            broker.createTopic("bench-control", 1);
            Map<String, String> settings = new LinkedHashMap<>(Map.of(
                AppConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers(), AppConfig.APPLICATION_ID, "jarscore-bench",
                AppConfig.MODEL_ROOT, root.toString(), AppConfig.MODEL_NAME, name, AppConfig.WATCH_INTERVAL_MS, "0",
                AppConfig.INPUT_TOPIC, INPUT, AppConfig.OUTPUT_TOPIC, OUTPUT, AppConfig.DLQ_TOPIC, "bench-dead-letters",
                AppConfig.CONTROL_TOPIC, "bench-control"));
            settings.put("state.dir", root.resolve("state").toString());
            settings.put(APP_LINGER, "5"); // Kafka Streams' producer waits 100 ms by default to fill batches
            String remote = args.length == 7 ? args[6] : null;
            if (remote != null) {
                settings.put(AppConfig.SCORING, "remote");
                settings.put(AppConfig.REMOTE_TARGET, remote);
            }
            AppConfig config = AppConfig.of(settings);
            try (ScoringApp app = ScoringApp.start(config);
                 KafkaProducer<byte[], byte[]> producer = producer(broker);
                 KafkaConsumer<byte[], byte[]> consumer = consumer(broker)) {
                List<TopicPartition> partitions = new ArrayList<>();
                for (int p = 0; p < PARTITIONS; p++) {
                    partitions.add(new TopicPartition(OUTPUT, p));
                }
                consumer.assign(partitions);
                consumer.seekToEnd(partitions);
                partitions.forEach(consumer::position);

                // warm-up: JIT, the app's first rebalance, producer metadata
                send(producer, rows, 0, Math.min(5_000, throughputRecords), 0);
                read(consumer, Math.min(5_000, throughputRecords), null);

                long t0 = System.nanoTime();
                send(producer, rows, 0, throughputRecords, 0);
                read(consumer, throughputRecords, null);
                double seconds = (System.nanoTime() - t0) / 1e9;
                out.put("throughput", Map.of("records", throughputRecords, "seconds", seconds,
                    "records_per_second", throughputRecords / seconds));

                long[] latencies = new long[latencyRecords];
                Thread pacer = new Thread(() -> send(producer, rows, 0, latencyRecords, rate), "bench-pacer");
                pacer.start();
                read(consumer, latencyRecords, latencies);
                pacer.join();
                Arrays.sort(latencies);
                out.put("latency", Map.of("records", latencyRecords, "rate_per_second", rate,
                    "p50_ms", percentile(latencies, 0.50), "p90_ms", percentile(latencies, 0.90),
                    "p99_ms", percentile(latencies, 0.99), "max_ms", latencies[latencies.length - 1]));
                out.put("setup", Map.of("model", name, "version", version, "partitions", PARTITIONS,
                    "stream_threads", 1, "processing_guarantee", "at_least_once", "broker", "KRaft single node, child JVM",
                    "scoring", remote == null ? "embedded" : "remote: jarscore serve at " + remote,
                    "app", "in the benchmark JVM, Kafka Streams defaults but producer.linger.ms=5", "producer", "acks=all, linger.ms=5"));
            }
        } finally {
            TestRepository.deleteTree(root);
        }
        Files.writeString(Path.of(args[5]), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        System.out.println(JSON.writeValueAsString(out));
        System.exit(0);
    }

    /** Sends records {@code from..to} cycling over {@code rows}; {@code rate} > 0 paces them per second. */
    private static void send(KafkaProducer<byte[], byte[]> producer, List<byte[]> rows, int from, int to, int rate) {
        long start = System.nanoTime();
        for (int i = from; i < to; i++) {
            if (rate > 0) {
                long due = start + (long) ((i - from) * (1e9 / rate));
                while (System.nanoTime() < due) {
                    Thread.onSpinWait();
                }
            }
            producer.send(new ProducerRecord<>(INPUT, null, System.currentTimeMillis(),
                ("b" + i).getBytes(StandardCharsets.UTF_8), rows.get(i % rows.size())));
        }
        producer.flush();
    }

    /** Reads {@code count} results; with {@code latencies}, records now minus each result's (producer) timestamp. */
    private static void read(KafkaConsumer<byte[], byte[]> consumer, int count, long[] latencies) {
        int seen = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        while (seen < count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + seen + " of " + count + " results within 10 minutes");
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(50))) {
                long now = System.currentTimeMillis();
                if (latencies != null && seen < latencies.length) {
                    latencies[seen] = now - record.timestamp();
                }
                seen++;
            }
        }
    }

    private static double percentile(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    /** rows.csv as JSON objects: numbers as numbers, empty cells as null, anything else as a string. */
    private static List<byte[]> jsonRows(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv).stream().filter(l -> !l.isBlank()).toList();
        String[] header = lines.get(0).split(",", -1);
        List<byte[]> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            Map<String, Object> row = new LinkedHashMap<>();
            for (int c = 0; c < header.length; c++) {
                String cell = c < cells.length ? cells[c] : "";
                Object value;
                if (cell.isEmpty()) {
                    value = null;
                } else {
                    try {
                        value = Double.parseDouble(cell);
                    } catch (NumberFormatException e) {
                        value = cell;
                    }
                }
                row.put(header[c], value);
            }
            rows.add(JSON.writeValueAsBytes(row));
        }
        return rows;
    }

    private static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(KafkaBroker broker) {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.LINGER_MS_CONFIG, 5,
            ProducerConfig.BATCH_SIZE_CONFIG, 262144), new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<byte[], byte[]> consumer(KafkaBroker broker) {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false, ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000,
            ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10),
            new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
