package io.jarscore.kafka;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;

import io.jarscore.oip.GRPCInferenceServiceGrpc;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import io.jarscore.oip.ModelMetadataRequest;
import io.jarscore.registry.Repository;
import io.jarscore.runtime.Model;

/**
 * Remote scoring: each record is one ModelInfer call to an Open Inference Protocol gRPC server
 * ({@code jarscore serve}, Triton, KServe, ...), made on the stream thread. Records are not batched
 * into one call: Kafka Streams commits the offset of every record {@code process} has returned from,
 * so a record held back for a batch would be lost if the app stopped before the batch went out.
 * More stream threads (and input partitions) make more calls at once.
 *
 * <p>What the server answers decides where the record goes. A result goes to the output topic,
 * stamped with the model version the response names. INVALID_ARGUMENT (the server refused the
 * record) goes to the dead letters with the server's message, after one look at the model's metadata
 * in case its inputs changed. Any other failure (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 * NOT_FOUND while a model reloads, ...) is retried with exponential back-off for up to
 * {@link AppConfig#REMOTE_RETRY_MS}; after that the stream thread fails, and the replacement
 * {@link ScoringApp} starts resumes from the last committed offsets. A record is never dropped or
 * dead-lettered because the server was out of reach.
 */
final class RemoteModel implements RecordScorer, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RemoteModel.class.getName());
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(2);
    static final Duration STARTUP_WAIT = Duration.ofMinutes(1);

    private final String target;
    private final String name;
    private final String version;
    private final Duration deadline;
    private final Duration retry;
    private final ManagedChannel channel;
    private final GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub;
    private volatile OipTensors.Signature signature;
    private volatile boolean stopping;

    private RemoteModel(AppConfig config, String token) {
        this.target = config.remoteTarget();
        this.name = config.modelName();
        this.version = config.remoteModelVersion();
        this.deadline = config.remoteDeadline();
        this.retry = config.remoteRetry();
        try {
            this.channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config key '" + AppConfig.REMOTE_TARGET + "' is '" + target
                + "', which gRPC cannot connect to (" + e.getMessage() + "); expected host:port or a gRPC target URI", e);
        }
        GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub plain = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        if (token != null) {
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, "Bearer " + token);
            plain = plain.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        this.stub = plain;
    }

    /**
     * Connects to {@code config}'s server and reads the model's metadata, retrying while the server
     * is out of reach, for {@link AppConfig#REMOTE_RETRY_MS} but at least {@link #STARTUP_WAIT}: a
     * server started with the app may take that long. A server that answers but does not serve the
     * model, or refuses the token, fails at once: that is a setting to fix, not a wait.
     */
    static RemoteModel connect(AppConfig config) {
        RemoteModel remote = new RemoteModel(config, token(config.remoteTokenFile()));
        try {
            remote.signature = remote.withRetries("read the metadata of", remote::fetchSignature,
                remote.retry.compareTo(STARTUP_WAIT) > 0 ? remote.retry : STARTUP_WAIT, true);
        } catch (RuntimeException e) {
            remote.close();
            throw e;
        }
        return remote;
    }

    private static String token(Path file) {
        if (file == null) {
            return null;
        }
        try {
            String token = Files.readString(file, StandardCharsets.UTF_8).strip().lines().findFirst().orElse("").strip();
            if (token.isEmpty()) {
                throw new IllegalArgumentException("the token file " + file + " (" + AppConfig.REMOTE_TOKEN_FILE + ") is empty");
            }
            return token;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the token file " + file + " (" + AppConfig.REMOTE_TOKEN_FILE
                + "): " + e.getMessage(), e);
        }
    }

    /** For the log: what is scored where. */
    String describe() {
        return "model '" + name + "' " + (version.isEmpty() ? "(the version the server picks)" : "version " + version)
            + " on the Open Inference Protocol server at " + target;
    }

    @Override
    public byte[] score(byte[] key, byte[] value) {
        Map<String, Object> row = RecordCodec.parseObject(value);
        String routingKey = key == null ? null : new String(key, StandardCharsets.UTF_8);
        OipTensors.Signature used = signature;
        ModelInferResponse response;
        try {
            response = infer(OipTensors.request(name, version, used, row, routingKey));
        } catch (Refused refused) {
            // A new version may take other inputs than the metadata read before: read it again, and
            // send the record once more if it changed.
            OipTensors.Signature now = withRetries("read the metadata of", this::fetchSignature, retry, false);
            signature = now;
            if (now.equals(used)) {
                throw refused;
            }
            response = infer(OipTensors.request(name, version, now, row, routingKey));
        }
        Map<String, Object> values = OipTensors.firstRow(response);
        String model = response.getModelName().isEmpty() ? name : response.getModelName();
        return RecordCodec.result(model, versionOf(response.getModelVersion()), values, values.values().iterator().next());
    }

    private ModelInferResponse infer(ModelInferRequest request) {
        return withRetries("score a record with", () -> stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
            .modelInfer(request), retry, false);
    }

    private OipTensors.Signature fetchSignature() {
        return OipTensors.Signature.of(stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
            .modelMetadata(ModelMetadataRequest.newBuilder().setName(name).setVersion(version).build()));
    }

    /** The version a response names: its number, or the server's own text when it is not one. */
    private static Object versionOf(String text) {
        Integer number = Repository.versionNumber(text);
        return number != null ? number : text;
    }

    /**
     * Runs {@code call} until it succeeds, the server refuses the request (INVALID_ARGUMENT: {@link Refused}),
     * or {@code window} passes ({@link ScoringUnavailableException}). At start-up ({@code starting}),
     * an answer saying the setting is wrong fails at once.
     */
    private <T> T withRetries(String what, Supplier<T> call, Duration window, boolean starting) {
        long start = System.nanoTime();
        long backoff = FIRST_BACKOFF_NANOS;
        int attempts = 0;
        while (true) {
            StatusRuntimeException failure;
            try {
                T answer = call.get();
                if (attempts > 0) {
                    LOG.log(System.Logger.Level.INFO, "the server at {0} answers again, after {1} attempts", target, attempts + 1);
                }
                return answer;
            } catch (StatusRuntimeException e) {
                failure = e;
            }
            Status.Code code = failure.getStatus().getCode();
            if (code == Status.Code.INVALID_ARGUMENT) {
                throw new Refused(failure.getStatus());
            }
            if (starting && (code == Status.Code.NOT_FOUND || code == Status.Code.UNAUTHENTICATED
                || code == Status.Code.PERMISSION_DENIED || code == Status.Code.UNIMPLEMENTED)) {
                throw new IllegalStateException("cannot " + what + " " + describe() + ": " + status(failure.getStatus())
                    + (code == Status.Code.UNAUTHENTICATED ? " (set " + AppConfig.REMOTE_TOKEN_FILE + " to the server's token)"
                    : code == Status.Code.NOT_FOUND ? " (check " + AppConfig.MODEL_NAME + " and " + AppConfig.REMOTE_MODEL_VERSION + ")"
                    : ""));
            }
            attempts++;
            long waited = System.nanoTime() - start;
            if (stopping || waited + backoff > window.toNanos()) {
                throw new ScoringUnavailableException("could not " + what + " " + describe() + " in " + attempts
                    + " attempts over " + TimeUnit.NANOSECONDS.toMillis(waited) + " ms: " + status(failure.getStatus())
                    + (starting ? "" : "; the record stays unprocessed (" + AppConfig.REMOTE_RETRY_MS + " is "
                    + retry.toMillis() + ")"), failure);
            }
            if (attempts == 1) {
                LOG.log(System.Logger.Level.WARNING, "cannot " + what + " " + describe() + " (" + status(failure.getStatus())
                    + "); retrying for up to " + window.toMillis() + " ms");
            }
            try {
                TimeUnit.NANOSECONDS.sleep(backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ScoringUnavailableException("interrupted while waiting to retry " + describe(), e);
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_NANOS);
            // grpc-java waits up to two minutes between reconnections; a server back up should be
            // found by the next attempt, not the channel's next scheduled one.
            channel.resetConnectBackoff();
        }
    }

    private static String status(Status status) {
        return status.getCode() + (status.getDescription() == null ? "" : ": " + Model.shorten(status.getDescription()));
    }

    /** Stops waiting for the server: a call retrying now gives up, so the app can shut down. */
    void stopRetrying() {
        stopping = true;
    }

    @Override
    public void close() {
        stopping = true;
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** The server refused the record (INVALID_ARGUMENT); the message is the server's. */
    static final class Refused extends RuntimeException {
        Refused(Status status) {
            super("the server refused the record (" + status.getCode() + "): " + status.getDescription(), null, false, false);
        }
    }
}
