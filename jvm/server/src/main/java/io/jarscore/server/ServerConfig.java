package io.jarscore.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import io.jarscore.registry.VersionPolicy;

/**
 * How a server runs; {@link ServerMain} builds it from the command line.
 *
 * @param root            the model repository, ROOT/&lt;name&gt;/&lt;version&gt;/
 * @param host            the address both protocols listen on
 * @param httpPort        REST port (0: any free one; -1: no REST)
 * @param grpcPort        gRPC port (0: any free one; -1: no gRPC)
 * @param policy          which versions of each model serve
 * @param poll            how often the repository is polled for new versions (zero: never)
 * @param tokenFile       a file holding the bearer token clients must send, or null for none
 * @param maxRequestBytes the largest request body (REST) or message (gRPC)
 * @param maxRows         the most rows one request may score
 * @param threads         scoring threads
 * @param queue           requests that may wait for a scoring thread; more are refused
 * @param timeout         how long a request may take, queue included
 * @param drain           how long shutdown waits for requests in flight
 * @param portsFile       where to write the bound ports as JSON once listening, or null
 * @param accessLog       whether to log every request
 * @param routes          per model, A/B weights by version, for requests carrying a routing key
 * @param shadows         per model, a version that scores every request as well, in the background
 */
public record ServerConfig(Path root, String host, int httpPort, int grpcPort, VersionPolicy policy, Duration poll,
                           Path tokenFile, int maxRequestBytes, int maxRows, int threads, int queue, Duration timeout,
                           Duration drain, Path portsFile, boolean accessLog, Map<String, Map<Integer, Integer>> routes,
                           Map<String, Integer> shadows) {

    /** The defaults of the command line, serving {@code root} on any free ports. */
    public static ServerConfig defaults(Path root) {
        return new ServerConfig(root, "127.0.0.1", 0, 0, VersionPolicy.latest(), Duration.ofSeconds(2), null,
            64 << 20, 100_000, Runtime.getRuntime().availableProcessors(), 256, Duration.ofSeconds(30),
            Duration.ofSeconds(30), null, false, Map.of(), Map.of());
    }
}
