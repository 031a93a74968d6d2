package io.jarscore.kafka;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;

import io.jarscore.registry.TestRepository;

/**
 * A real single-node Kafka broker in KRaft mode (broker and controller in one process), run as a child
 * JVM from the Maven Central jars on the test classpath ({@code kafka.Kafka}), its storage formatted
 * with {@code kafka.tools.StorageTool}. Ports are free ones; logs and data live in a temporary
 * directory that {@link #close()} deletes, as does a shutdown hook if the test JVM dies first.
 */
final class KafkaBroker implements AutoCloseable {

    private final Path dir;
    private final Process process;
    private final String bootstrapServers;
    private final Thread cleanup;

    private KafkaBroker(Path dir, Process process, String bootstrapServers) {
        this.dir = dir;
        this.process = process;
        this.bootstrapServers = bootstrapServers;
        this.cleanup = new Thread(this::stop, "kafka-broker-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    static KafkaBroker start() throws Exception {
        Path dir = Files.createTempDirectory("jarscore-kraft-");
        try {
            int brokerPort = freePort();
            int controllerPort = freePort();
            Properties server = new Properties();
            server.put("process.roles", "broker,controller");
            server.put("node.id", "1");
            server.put("controller.quorum.voters", "1@localhost:" + controllerPort);
            server.put("listeners", "PLAINTEXT://localhost:" + brokerPort + ",CONTROLLER://localhost:" + controllerPort);
            server.put("advertised.listeners", "PLAINTEXT://localhost:" + brokerPort);
            server.put("controller.listener.names", "CONTROLLER");
            server.put("inter.broker.listener.name", "PLAINTEXT");
            server.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            server.put("log.dirs", dir.resolve("data").toString());
            server.put("num.partitions", "1");
            server.put("offsets.topic.replication.factor", "1");
            server.put("offsets.topic.num.partitions", "4");
            server.put("transaction.state.log.replication.factor", "1");
            server.put("transaction.state.log.min.isr", "1");
            server.put("transaction.state.log.num.partitions", "4");
            server.put("share.coordinator.state.topic.replication.factor", "1");
            server.put("share.coordinator.state.topic.min.isr", "1");
            server.put("group.initial.rebalance.delay.ms", "0");
            server.put("auto.create.topics.enable", "false");
            Path config = dir.resolve("server.properties");
            try (var out = Files.newOutputStream(config)) {
                server.store(out, "jarscore integration test broker");
            }
            Path log = dir.resolve("broker.log");
            int formatted = java("kafka.tools.StorageTool", List.of("format", "-t", Uuid.randomUuid().toString(),
                "-c", config.toString()), dir.resolve("format.log")).waitFor();
            if (formatted != 0) {
                throw new IllegalStateException("kafka-storage format failed (" + formatted + "):\n"
                    + Files.readString(dir.resolve("format.log")));
            }
            Process process = java("kafka.Kafka", List.of(config.toString()), log);
            KafkaBroker broker = new KafkaBroker(dir, process, "localhost:" + brokerPort);
            broker.awaitReady(log);
            return broker;
        } catch (Exception | Error e) {
            TestRepository.deleteTree(dir);
            throw e;
        }
    }

    /**
     * A broker for a process that is not a JUnit test (models/kafka_broker.py: the online-learning example
     * and its test): creates the topics given as {@code NAME:PARTITIONS}, prints
     * {@code bootstrap.servers=HOST:PORT} on a line of its own, and stops when its standard input closes
     * (its parent closed it, or died).
     */
    public static void main(String[] args) throws Exception {
        try (KafkaBroker broker = start()) {
            for (String topic : args) {
                int colon = topic.lastIndexOf(':');
                broker.createTopic(colon < 0 ? topic : topic.substring(0, colon),
                    colon < 0 ? 1 : Integer.parseInt(topic.substring(colon + 1)));
            }
            System.out.println("bootstrap.servers=" + broker.bootstrapServers());
            System.out.flush();
            while (System.in.read() != -1) {
                // runs until the parent closes our standard input
            }
        }
    }

    String bootstrapServers() {
        return bootstrapServers;
    }

    Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
    }

    void createTopic(String name, int partitions) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
    }

    private void awaitReady(Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the Kafka broker exited with " + process.exitValue() + ":\n" + tail(log));
            }
            try (Admin admin = admin()) {
                admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                return;
            } catch (Exception notYet) {
                if (System.nanoTime() > deadline) {
                    close();
                    throw new IllegalStateException("the Kafka broker did not answer within 90 s:\n" + tail(log));
                }
                Thread.sleep(200);
            }
        }
    }

    private static Process java(String mainClass, List<String> args, Path output) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-XX:+UseSerialGC");
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.add(mainClass);
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private void stop() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        TestRepository.deleteTree(dir);
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run
        }
    }

}
