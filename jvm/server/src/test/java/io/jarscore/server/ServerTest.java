package io.jarscore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jarscore.oip.GRPCInferenceServiceGrpc;
import io.jarscore.oip.InferTensorContents;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import io.jarscore.oip.ServerLiveRequest;
import io.jarscore.registry.TestRepository;
import io.jarscore.registry.VersionPolicy;

/**
 * The server in-process on free ports, serving two Iris versions: typed gRPC contents (what
 * tritonclient never sends), the bearer token on both protocols, the size limit, and the model
 * repository extension. tests/test_server.py drives the jar with real clients.
 */
class ServerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "t0ken";
    private static Path root;
    private static JarscoreServer server;
    private static ManagedChannel channel;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        root = Files.createTempDirectory("jarscore-server-test-");
        for (int version : new int[]{1, 2}) { // with the training columns, as the converter writes them
            Map<String, Object> manifest = new java.util.LinkedHashMap<>(TestRepository.manifest(version));
            manifest.put("features", List.of("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"));
            TestRepository.publish(root, version, version, manifest);
        }
        Path token = Files.writeString(root.resolve(".token"), TOKEN);
        ServerConfig defaults = ServerConfig.defaults(root);
        server = JarscoreServer.start(new ServerConfig(root, "127.0.0.1", 0, 0, VersionPolicy.all(), Duration.ZERO,
            token, 4096, 1000, 2, 16, Duration.ofSeconds(30), Duration.ofSeconds(5), null, false,
            Map.of(TestRepository.NAME, Map.of(1, 50, 2, 50)), Map.of(TestRepository.NAME, 1)));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
        assertEquals(defaults.host(), "127.0.0.1", "loopback by default");
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        server.close();
        TestRepository.deleteTree(root);
    }

    private static GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub(String token) {
        Metadata headers = new Metadata();
        if (token != null) {
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        }
        return GRPCInferenceServiceGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    private static HttpResponse<String> http(String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void typedGrpcContentsScoreAsTheModelDoesAndAnswerInKind() throws Exception {
        List<Map<String, Object>> rows = TestRepository.irisRows().subList(40, 60);
        List<Map<String, Object>> expected = TestRepository.expectedOutputs(1).subList(40, 60);
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(TestRepository.NAME)
            .setModelVersion("1").setId("typed-1");
        for (String field : List.of("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width")) {
            InferTensorContents.Builder contents = InferTensorContents.newBuilder();
            rows.forEach(row -> contents.addFp64Contents((Double) row.get(field)));
            request.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(field).setDatatype("FP64")
                .addShape(rows.size()).setContents(contents));
        }
        ModelInferResponse response = stub(TOKEN).modelInfer(request.build());
        assertEquals("1", response.getModelVersion());
        assertEquals("typed-1", response.getId());
        assertEquals(0, response.getRawOutputContentsCount(), "a typed request gets typed outputs");
        Map<String, ModelInferResponse.InferOutputTensor> outputs = new java.util.HashMap<>();
        response.getOutputsList().forEach(output -> outputs.put(output.getName(), output));
        for (int r = 0; r < rows.size(); r++) {
            assertEquals(expected.get(r).get("Species"), outputs.get("Species").getContents().getBytesContents(r).toStringUtf8());
            assertEquals((Double) expected.get(r).get("probability(setosa)"),
                outputs.get("probability(setosa)").getContents().getFp64Contents(r), 1e-12);
        }
    }

    @Test
    void aRoutingKeyPicksTheVersionTheRegistrysHashGivesItAndShadowsScoreInTheBackground() throws Exception {
        String row = "{\"inputs\": [{\"name\": \"Sepal.Length\", \"datatype\": \"FP64\", \"shape\": [1], \"data\": [5.1]},"
            + " {\"name\": \"Sepal.Width\", \"datatype\": \"FP64\", \"shape\": [1], \"data\": [3.5]},"
            + " {\"name\": \"Petal.Length\", \"datatype\": \"FP64\", \"shape\": [1], \"data\": [1.4]},"
            + " {\"name\": \"Petal.Width\", \"datatype\": \"FP64\", \"shape\": [1], \"data\": [0.2]}%s]}";
        java.util.Set<Integer> versions = new java.util.TreeSet<>(List.of(1, 2));
        io.jarscore.registry.Router router = new io.jarscore.registry.Router(Map.of(1, 50, 2, 50));
        java.util.Set<Integer> routedTo = new java.util.TreeSet<>();
        for (int i = 0; i < 12; i++) {
            String key = "customer-" + i;
            int expected = router.pick(key, versions);
            routedTo.add(expected);
            HttpRequest byHeader = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort()
                    + "/v2/models/iris/infer")).header("Authorization", "Bearer " + TOKEN).header("X-Routing-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString(String.format(row, ""))).build();
            assertEquals(Integer.toString(expected), HTTP.send(byHeader, HttpResponse.BodyHandlers.ofString())
                .headers().firstValue("X-Model-Version").orElse(null), key);
            String byParameter = http("POST", "/v2/models/iris/infer", String.format(row.replace("{\"inputs\"",
                "{\"parameters\": {\"routing_key\": \"" + key + "\"}, \"inputs\""), ""), TOKEN).body();
            assertEquals(Integer.toString(expected), JSON.readTree(byParameter).get("model_version").asText(), key);
        }
        assertEquals(versions, routedTo, "the keys reach both versions");
        assertEquals("2", JSON.readTree(http("POST", "/v2/models/iris/infer", String.format(row, ""), TOKEN).body())
            .get("model_version").asText(), "no key: the default version");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String metrics = "";
        // version 1 shadows every request version 2 answers; the two disagree on this row
        while (!metrics.matches("(?s).*jarscore_shadow_requests_total\\{model=\"iris\",version=\"1\"\\} [1-9].*")
            || !metrics.matches("(?s).*jarscore_server_shadow_disagreements_total\\{model=\"iris\",version=\"1\"\\} [1-9].*")) {
            assertTrue(System.nanoTime() < deadline, "no shadow scoring on version 1: " + metrics);
            Thread.sleep(10);
            metrics = http("GET", "/metrics", null, TOKEN).body();
        }
    }

    @Test
    void theTokenIsRequiredOnBothProtocolsExceptForHealth() throws Exception {
        assertEquals(200, http("GET", "/v2/health/live", null, null).statusCode());
        HttpResponse<String> refused = http("GET", "/v2/models/iris", null, null);
        assertEquals(401, refused.statusCode());
        assertEquals("Bearer", refused.headers().firstValue("WWW-Authenticate").orElse(null));
        assertEquals(401, http("GET", "/metrics", null, "wrong").statusCode());
        assertEquals(200, http("GET", "/v2/models/iris", null, TOKEN).statusCode());
        assertTrue(stub(null).serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
        StatusRuntimeException grpc = assertThrows(StatusRuntimeException.class,
            () -> stub("wrong").modelInfer(ModelInferRequest.newBuilder().setModelName("iris").build()));
        assertEquals(Status.Code.UNAUTHENTICATED, grpc.getStatus().getCode());
        assertTrue(grpc.getStatus().getDescription().contains("--token-file"), grpc.getStatus().getDescription());
    }

    @Test
    void aBodyOverTheLimitIsRefusedBeforeItIsReadAndTheServerAnswersAfter() throws Exception {
        HttpResponse<String> big = http("POST", "/v2/models/iris/infer", "[" + "0,".repeat(4000) + "0]", TOKEN);
        assertEquals(413, big.statusCode());
        assertTrue(big.body().contains("--max-request-bytes"), big.body());
        StatusRuntimeException grpc = assertThrows(StatusRuntimeException.class, () -> stub(TOKEN).modelInfer(
            ModelInferRequest.newBuilder().setModelName("iris").setId("x".repeat(8000)).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, grpc.getStatus().getCode());
        assertEquals(200, http("GET", "/v2/health/ready", null, null).statusCode());
    }

    @Test
    void theRepositoryExtensionIndexesUnloadsAndLoadsModels() throws Exception {
        JsonNode index = JSON.readTree(http("POST", "/v2/repository/index", "", TOKEN).body());
        List<String> versions = new ArrayList<>();
        index.forEach(entry -> versions.add(entry.get("name").asText() + ":" + entry.get("version").asText() + ":"
            + entry.get("state").asText()));
        assertEquals(List.of("iris:1:READY", "iris:2:READY"), versions);
        assertEquals(404, http("POST", "/v2/repository/models/..%2F..%2Fetc/load", "", TOKEN).statusCode(),
            "only names the repository lists are loaded");
        assertEquals(200, http("POST", "/v2/repository/models/iris/unload", "", TOKEN).statusCode());
        assertEquals(503, http("GET", "/v2/models/iris/ready", null, TOKEN).statusCode());
        assertEquals(404, http("GET", "/v2/models/iris", null, TOKEN).statusCode());
        HttpResponse<String> loaded = http("POST", "/v2/repository/models/iris/load", "", TOKEN);
        assertEquals(200, loaded.statusCode(), loaded.body());
        assertEquals(200, http("GET", "/v2/models/iris/versions/1/ready", null, TOKEN).statusCode());
    }
}
