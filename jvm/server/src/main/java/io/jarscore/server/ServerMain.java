package io.jarscore.server;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.jarscore.registry.VersionPolicy;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code java -jar jarscore-server.jar ROOT [options]}: serves a model repository until SIGINT or
 * SIGTERM, then shuts down gracefully. A bad option or repository is one line on stderr and exit
 * status 2; {@code jarscore serve} runs this same command.
 */
@Command(name = "jarscore-server", sortOptions = false, usageHelpAutoWidth = true,
    description = "Serves the models of a repository (ROOT/<name>/<version>/, written by 'jarscore convert') over the"
        + " Open Inference Protocol (REST /v2/... and gRPC inference.GRPCInferenceService) and TensorFlow Serving's"
        + " REST API (/v1/models/...), with Prometheus metrics at /metrics. See docs/server.md.")
public final class ServerMain implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "ROOT", description = "the model repository")
    Path root;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE}, loopback only)")
    String host;

    @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "8000", description = "REST port; 0 picks a free one, -1 turns REST off (default: ${DEFAULT-VALUE})")
    int httpPort;

    @Option(names = "--grpc-port", paramLabel = "PORT", defaultValue = "8001", description = "gRPC port; 0 picks a free one, -1 turns gRPC off (default: ${DEFAULT-VALUE})")
    int grpcPort;

    @Option(names = "--policy", defaultValue = "latest", paramLabel = "POLICY",
        description = "versions to serve: latest, all, specific:V[,V...] or label:L (default: ${DEFAULT-VALUE})")
    String policy;

    @Option(names = "--poll-seconds", paramLabel = "SECONDS", defaultValue = "2", description = "how often to look for new versions; 0: never (default: ${DEFAULT-VALUE})")
    double pollSeconds;

    @Option(names = "--token-file", paramLabel = "FILE", description = "require 'Authorization: Bearer <token>' with the token in FILE, on both protocols")
    Path tokenFile;

    @Option(names = "--max-request-bytes", paramLabel = "BYTES", defaultValue = "67108864", description = "largest request body or gRPC message (default: ${DEFAULT-VALUE})")
    int maxRequestBytes;

    @Option(names = "--max-rows", paramLabel = "N", defaultValue = "100000", description = "most rows one request may score (default: ${DEFAULT-VALUE})")
    int maxRows;

    @Option(names = "--threads", paramLabel = "N", description = "scoring threads (default: the number of CPUs, ${sys:jarscore.cpus})")
    Integer threads;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "256", description = "requests that may wait for a scoring thread; beyond it: HTTP 429 / RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE})")
    int queue;

    @Option(names = "--timeout", defaultValue = "30", paramLabel = "SECONDS", description = "longest a request may take, waiting included: then HTTP 504 / DEADLINE_EXCEEDED (default: ${DEFAULT-VALUE})")
    double timeoutSeconds;

    @Option(names = "--drain-seconds", paramLabel = "SECONDS", defaultValue = "30", description = "on shutdown, how long to wait for requests in flight (default: ${DEFAULT-VALUE})")
    double drainSeconds;

    @Option(names = "--route", paramLabel = "NAME=V:W[,V:W...]", description = "A/B routing of requests that carry a routing key, e.g. price=3:90,4:10 (repeatable)")
    List<String> routes = List.of();

    @Option(names = "--shadow", paramLabel = "NAME=V", description = "also score every request of NAME on version V in the background (repeatable)")
    List<String> shadows = List.of();

    @Option(names = "--ports-file", paramLabel = "FILE", description = "once listening, write {\"http\": port, \"grpc\": port} to FILE")
    Path portsFile;

    @Option(names = "--access-log", description = "log every request (off by default)")
    boolean accessLog;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;

    @Option(names = "--version", versionHelp = true, description = "print the version and exit")
    boolean version;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    ServerConfig config() {
        VersionPolicy parsed;
        try {
            parsed = VersionPolicy.parse(policy);
        } catch (IllegalArgumentException e) {
            throw bad("--policy: " + e.getMessage());
        }
        require(httpPort >= -1 && httpPort <= 65535, "--http-port " + httpPort + " is not a port (0-65535, or -1 for none)");
        require(grpcPort >= -1 && grpcPort <= 65535, "--grpc-port " + grpcPort + " is not a port (0-65535, or -1 for none)");
        require(httpPort >= 0 || grpcPort >= 0, "--http-port and --grpc-port are both -1: nothing would listen");
        require(maxRequestBytes > 0, "--max-request-bytes must be positive, got " + maxRequestBytes);
        require(maxRows > 0, "--max-rows must be positive, got " + maxRows);
        int scoring = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        require(scoring > 0, "--threads must be positive, got " + scoring);
        require(queue > 0, "--queue must be positive, got " + queue);
        require(timeoutSeconds > 0, "--timeout must be positive, got " + timeoutSeconds);
        require(drainSeconds >= 0 && pollSeconds >= 0, "--drain-seconds and --poll-seconds cannot be negative");
        Map<String, Map<Integer, Integer>> routed = new LinkedHashMap<>();
        for (String route : routes) {
            routed.put(name(route, "--route"), weights(route));
        }
        Map<String, Integer> shadowed = new LinkedHashMap<>();
        for (String shadow : shadows) {
            shadowed.put(name(shadow, "--shadow"), version(shadow.substring(shadow.indexOf('=') + 1), "--shadow " + shadow));
        }
        return new ServerConfig(root.toAbsolutePath().normalize(), host, httpPort, grpcPort, parsed, seconds(pollSeconds),
            tokenFile, maxRequestBytes, maxRows, scoring, queue, seconds(timeoutSeconds), seconds(drainSeconds),
            portsFile, accessLog, routed, shadowed);
    }

    private static Duration seconds(double seconds) {
        return Duration.ofNanos((long) (seconds * 1e9));
    }

    private String name(String option, String flag) {
        int equals = option.indexOf('=');
        require(equals > 0, flag + " " + option + ": expected NAME=...");
        return option.substring(0, equals);
    }

    private Map<Integer, Integer> weights(String route) {
        Map<Integer, Integer> weights = new TreeMap<>();
        for (String part : route.substring(route.indexOf('=') + 1).split(",")) {
            String[] pair = part.split(":");
            require(pair.length == 2, "--route " + route + ": expected NAME=VERSION:WEIGHT[,VERSION:WEIGHT...]");
            int weight;
            try {
                weight = Integer.parseInt(pair[1].trim());
            } catch (NumberFormatException e) {
                throw bad("--route " + route + ": weight '" + pair[1] + "' is not a whole number");
            }
            require(weight > 0, "--route " + route + ": weights are positive");
            weights.put(version(pair[0], "--route " + route), weight);
        }
        return weights;
    }

    private int version(String text, String where) {
        Integer version = io.jarscore.registry.Repository.versionNumber(text.trim());
        require(version != null, where + ": '" + text + "' is not a version (a positive integer)");
        return version;
    }

    private void require(boolean condition, String message) {
        if (!condition) {
            throw bad(message);
        }
    }

    private CommandLine.ParameterException bad(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() throws Exception {
        ServerConfig config = config();
        JarscoreServer server = JarscoreServer.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // stderr, not the log: the logging system closes its handlers in a shutdown hook of its own
            System.err.println(spec.name() + ": shutting down, finishing the requests in flight");
            server.close();
            System.err.println(spec.name() + ": stopped");
            stopped.countDown();
        }, "jarscore-shutdown"));
        System.out.println(spec.name() + ": " + server.describe());
        System.out.flush();
        stopped.await();
        return 0;
    }

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.config.file") == null
            && System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT %4$s %3$s: %5$s%6$s%n");
        }
        System.setProperty("jarscore.cpus", Integer.toString(Runtime.getRuntime().availableProcessors()));
        System.exit(commandLine().execute(args));
    }

    /** The command, named as the caller knows it (the Python CLI runs it as 'jarscore serve'). */
    static CommandLine commandLine() {
        CommandLine command = new CommandLine(new ServerMain());
        command.setCommandName(System.getProperty("jarscore.command", "jarscore-server"));
        command.getCommandSpec().version("jarscore-server " + ServerContext.version());
        command.setParameterExceptionHandler((e, args) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println(e.getCommandLine().getCommandName() + ": error: " + e.getMessage() + " (see --help)");
            err.flush();
            return 2;
        });
        command.setExecutionExceptionHandler((e, line, parsed) -> {
            PrintWriter err = line.getErr();
            String message = e instanceof IllegalArgumentException || e instanceof java.io.IOException
                ? e.getMessage() : io.jarscore.runtime.Model.describe(e);
            err.println(line.getCommandName() + ": error: " + String.join(" | ", message.split("\\R")));
            err.flush();
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        return command;
    }
}
