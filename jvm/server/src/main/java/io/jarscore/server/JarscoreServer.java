package io.jarscore.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.Result;
import io.jarscore.server.grpc.GrpcServer;
import io.jarscore.server.http.HttpServer;
import io.jarscore.server.infer.Inference;
import io.jarscore.server.infer.Tensor;

/**
 * A running model server: the registry over the repository (with its watcher), the scoring queue,
 * and the REST and gRPC listeners on shared Netty event loops. {@link #close()} shuts down
 * gracefully: readiness turns false, the listeners stop accepting, requests in flight finish (up to
 * the drain time), then everything closes.
 */
public final class JarscoreServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(JarscoreServer.class.getName());

    private final ServerConfig config;
    private final ModelRegistry registry;
    private final ServerMetrics metrics = new ServerMetrics();
    private final Admission admission;
    private final ServerContext context;
    private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workers;
    private HttpServer http;
    private GrpcServer grpc;
    private int httpPort = -1;
    private int grpcPort = -1;
    private boolean closed;

    private JarscoreServer(ServerConfig config) throws IOException {
        this.config = config;
        if (!Files.isDirectory(config.root())) {
            throw new IllegalArgumentException("model repository not found: " + config.root()
                + " (expected ROOT/<name>/<version>/ folders written by 'jarscore convert')");
        }
        BearerToken token = config.tokenFile() == null ? null : BearerToken.fromFile(config.tokenFile());
        this.registry = new ModelRegistry(config.root(), config.policy());
        config.routes().forEach(registry::route);
        config.shadows().forEach((name, version) -> registry.shadow(name, version, this::compareShadow));
        metrics.registry(registry);
        this.admission = new Admission(config.threads(), config.queue(), config.timeout(), metrics);
        this.context = new ServerContext(new Inference(registry, config.maxRows()), admission, metrics, token,
            config.accessLog());
        this.workers = new MultiThreadIoEventLoopGroup(Math.max(1, Runtime.getRuntime().availableProcessors()),
            NioIoHandler.newFactory());
    }

    /** Loads the repository, starts polling it, and listens; the returned server is serving. */
    public static JarscoreServer start(ServerConfig config) throws Exception {
        JarscoreServer server = new JarscoreServer(config);
        try {
            server.listen();
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void listen() throws Exception {
        registry.reload();
        if (config.poll().compareTo(Duration.ZERO) > 0) {
            registry.watch(config.poll());
        }
        if (registry.modelNames().isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "no model serves yet from " + config.root() + "; the server starts"
                + " anyway and serves each model once a complete version of it appears");
        }
        if (config.httpPort() >= 0) {
            http = new HttpServer(context, config.maxRequestBytes());
            httpPort = http.start(boss, workers, config.host(), config.httpPort());
        }
        if (config.grpcPort() >= 0) {
            grpc = new GrpcServer(context, config.maxRequestBytes());
            grpcPort = grpc.start(boss, workers, config.host(), config.grpcPort());
        }
        if (config.portsFile() != null) {
            writePorts(config.portsFile());
        }
    }

    public int httpPort() {
        return httpPort;
    }

    public int grpcPort() {
        return grpcPort;
    }

    public ModelRegistry registry() {
        return registry;
    }

    /** {"http": port, "grpc": port}, written beside the file and renamed into place: a reader sees all or nothing. */
    private void writePorts(Path file) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path partial = absolute.resolveSibling(absolute.getFileName() + ".partial");
        Files.writeString(partial, "{\"http\": " + httpPort + ", \"grpc\": " + grpcPort + "}\n", StandardCharsets.UTF_8);
        Files.move(partial, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** A shadow version's outputs against the primary's: a difference is counted, never answered. */
    private void compareShadow(Result<?> primary, Result<?> shadow) {
        if (primary.values() instanceof List<?> mine && shadow.values() instanceof List<?> theirs && !same(mine, theirs)) {
            metrics.shadowDisagreement(shadow.model(), shadow.version());
        }
    }

    private static boolean same(List<?> a, List<?> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!(a.get(i) instanceof Tensor x) || !(b.get(i) instanceof Tensor y) || !x.name().equals(y.name())
                || !Arrays.deepEquals(new Object[]{x.values()}, new Object[]{y.values()})) {
                return false;
            }
        }
        return true;
    }

    /** Graceful shutdown; see the class comment. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        context.drain();
        admission.closing();
        if (http != null) {
            http.stopAccepting();
        }
        if (grpc != null) {
            grpc.shutdown();
        }
        long end = System.nanoTime() + config.drain().toNanos();
        try {
            if (!admission.awaitIdle(config.drain())) {
                LOG.log(System.Logger.Level.WARNING, admission.inFlight() + " requests were still in flight after "
                    + config.drain().toSeconds() + " s (--drain-seconds); closing anyway");
            }
            if (grpc != null) {
                grpc.awaitTermination(Math.max(0, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (http != null) {
            http.close();
        }
        admission.close();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        registry.close();
    }

    /** For the log: what serves where. */
    String describe() {
        Map<String, Object> models = new java.util.TreeMap<>();
        registry.modelNames().forEach(name -> models.put(name, registry.versions(name)));
        return "serving " + (models.isEmpty() ? "no model yet" : models) + " from " + config.root()
            + (httpPort >= 0 ? "; REST on http://" + config.host() + ":" + httpPort : "")
            + (grpcPort >= 0 ? "; gRPC on " + config.host() + ":" + grpcPort : "")
            + (Objects.isNull(config.tokenFile()) ? "" : "; bearer token required");
    }
}
