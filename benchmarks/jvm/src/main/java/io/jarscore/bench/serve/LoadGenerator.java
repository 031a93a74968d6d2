package io.jarscore.bench.serve;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.jarscore.oip.GRPCInferenceServiceGrpc;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The model servers' load generator ({@code benchmarks/serve.py} runs it): for each protocol, batch
 * size and concurrency, {@link ClosedLoop} load on one server's Open Inference Protocol endpoint,
 * the same requests for every server. Writes one JSON list of figures.
 */
@Command(name = "run", mixinStandardHelpOptions = true, description = "load one server, write the figures")
public final class LoadGenerator implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--rest", paramLabel = "HOST:PORT", description = "the server's REST endpoint")
    String rest;

    @Option(names = "--grpc", paramLabel = "HOST:PORT", description = "the server's gRPC endpoint")
    String grpc;

    @Option(names = "--model", required = true)
    String model;

    @Option(names = "--rows", required = true, description = "rows.csv: the held-out rows, training columns")
    Path rows;

    @Option(names = "--batches", split = ",", defaultValue = "1,100")
    List<Integer> batches;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,8,64")
    List<Integer> concurrency;

    @Option(names = "--warmup-seconds", defaultValue = "3")
    double warmup;

    @Option(names = "--seconds", defaultValue = "8")
    double seconds;

    @Option(names = "--server-warmup-seconds", defaultValue = "10",
        description = "before the first cell, load every protocol and size this long in all, untimed (JIT, connections)")
    double serverWarmup;

    @Option(names = "--out", required = true)
    Path out;

    @Override
    public Integer call() throws Exception {
        Requests requests = Requests.read(rows);
        List<Map<String, Object>> figures = new ArrayList<>();
        if (grpc != null) {
            int channels = Math.max(1, Runtime.getRuntime().availableProcessors());
            List<ManagedChannel> opened = new ArrayList<>();
            for (int c = 0; c < channels; c++) {
                String[] hostPort = grpc.split(":");
                opened.add(NettyChannelBuilder.forAddress(new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])))
                    .usePlaintext().directExecutor().maxInboundMessageSize(64 << 20).build());
            }
            try {
                for (int batch : batches) {
                    List<ModelInferRequest> built = requests.grpcRequests(model, batch);
                    warmUp(grpcSender(opened, built), built.size());
                }
                for (int batch : batches) {
                    List<ModelInferRequest> built = requests.grpcRequests(model, batch);
                    for (int lanes : concurrency) {
                        figures.add(cell("grpc", batch, lanes, grpcSender(opened, built), built.size()));
                    }
                }
            } finally {
                opened.forEach(ManagedChannel::shutdownNow);
            }
        }
        if (rest != null) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
            URI uri = URI.create("http://" + rest + "/v2/models/" + model + "/infer");
            for (int batch : batches) {
                List<byte[]> bodies = requests.restBodies(batch);
                warmUp(restSender(client, uri, bodies), bodies.size());
            }
            for (int batch : batches) {
                List<byte[]> bodies = requests.restBodies(batch);
                for (int lanes : concurrency) {
                    figures.add(cell("rest", batch, lanes, restSender(client, uri, bodies), bodies.size()));
                }
            }
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), figures);
        return 0;
    }

    /** Untimed load at concurrency 8, a share of --server-warmup-seconds for each protocol and size. */
    private void warmUp(ClosedLoop.Sender sender, int distinct) throws InterruptedException {
        long share = (long) (serverWarmup * 1000 / (2 * batches.size()));
        if (share > 0) {
            ClosedLoop.run(sender, distinct, 8, Duration.ofMillis(share), Duration.ofMillis(1));
        }
    }

    private Map<String, Object> cell(String protocol, int batch, int lanes, ClosedLoop.Sender sender, int distinct)
        throws InterruptedException {
        Map<String, Object> cell = new LinkedHashMap<>();
        cell.put("protocol", protocol);
        cell.put("rows", batch);
        cell.put("concurrency", lanes);
        cell.putAll(ClosedLoop.run(sender, distinct, lanes, Duration.ofMillis((long) (warmup * 1000)),
            Duration.ofMillis((long) (seconds * 1000))));
        System.err.println("load-generator: " + JSON.valueToTree(cell));
        return cell;
    }

    private static ClosedLoop.Sender grpcSender(List<ManagedChannel> channels, List<ModelInferRequest> requests) {
        List<GRPCInferenceServiceGrpc.GRPCInferenceServiceStub> stubs = channels.stream()
            .map(GRPCInferenceServiceGrpc::newStub).toList();
        return (index, done) -> stubs.get(index % stubs.size()).withDeadlineAfter(60, TimeUnit.SECONDS)
            .modelInfer(requests.get(index), new StreamObserver<>() {
                @Override
                public void onNext(ModelInferResponse response) {
                }

                @Override
                public void onError(Throwable error) {
                    done.accept(String.valueOf(error));
                }

                @Override
                public void onCompleted() {
                    done.accept(null);
                }
            });
    }

    private static ClosedLoop.Sender restSender(HttpClient client, URI uri, List<byte[]> bodies) {
        List<HttpRequest> requests = bodies.stream().map(body -> HttpRequest.newBuilder(uri)
            .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build()).toList();
        return (index, done) -> client.sendAsync(requests.get(index), HttpResponse.BodyHandlers.ofByteArray())
            .whenComplete((response, error) -> {
                if (error != null) {
                    done.accept(String.valueOf(error));
                } else if (response.statusCode() != 200) {
                    done.accept("HTTP " + response.statusCode() + ": " + new String(response.body(), java.nio.charset.StandardCharsets.UTF_8));
                } else {
                    done.accept(null);
                }
            });
    }

    @Command(name = "load-generator", mixinStandardHelpOptions = true,
        subcommands = {LoadGenerator.class, NoopServers.class, InProcess.class})
    static final class Commands {
    }

    /** {@code run ...}, {@code noop-servers ...} or {@code in-process ...}. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new Commands()).execute(args));
    }
}
