package io.jarscore.server.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import io.jarscore.oip.GRPCInferenceServiceGrpc;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import io.jarscore.oip.ModelMetadataRequest;
import io.jarscore.oip.ModelMetadataResponse;
import io.jarscore.oip.ModelReadyRequest;
import io.jarscore.oip.ModelReadyResponse;
import io.jarscore.oip.ServerLiveRequest;
import io.jarscore.oip.ServerLiveResponse;
import io.jarscore.oip.ServerMetadataRequest;
import io.jarscore.oip.ServerMetadataResponse;
import io.jarscore.oip.ServerReadyRequest;
import io.jarscore.oip.ServerReadyResponse;
import io.jarscore.runtime.FieldSpec;
import io.jarscore.server.ServerContext;
import io.jarscore.server.infer.InferRequest;
import io.jarscore.server.infer.Inference;
import io.jarscore.server.infer.ModelSignature;
import io.jarscore.server.infer.RequestException;

/**
 * The Open Inference Protocol's gRPC service. Health and metadata are answered on the network
 * thread; ModelInfer is decoded there and scored on the {@link io.jarscore.server.Admission} queue
 * (RESOURCE_EXHAUSTED when it is full). Errors are statuses whose description names the model,
 * field or value at fault.
 */
final class OipGrpcService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

    private final ServerContext server;

    OipGrpcService(ServerContext server) {
        this.server = server;
    }

    static String endpoint(String method) {
        return switch (method) {
            case "ModelInfer" -> "infer";
            case "ServerLive", "ServerReady", "ModelReady" -> "health";
            default -> "metadata";
        };
    }

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> responses) {
        reply(responses, "health", null, ServerLiveResponse.newBuilder().setLive(true).build());
    }

    @Override
    public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> responses) {
        reply(responses, "health", null, ServerReadyResponse.newBuilder().setReady(server.ready()).build());
    }

    @Override
    public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> responses) {
        try {
            int version = Inference.parseVersion(request.getName(), request.getVersion());
            reply(responses, "health", request.getName(),
                ModelReadyResponse.newBuilder().setReady(server.inference().ready(request.getName(), version)).build());
        } catch (RequestException e) {
            fail(responses, "health", request.getName(), e);
        }
    }

    @Override
    public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> responses) {
        reply(responses, "metadata", null, ServerMetadataResponse.newBuilder().setName(ServerContext.NAME)
            .setVersion(ServerContext.version()).addAllExtensions(java.util.List.of("binary_tensor_data", "model_repository"))
            .build());
    }

    @Override
    public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> responses) {
        String model = request.getName();
        try {
            ModelSignature signature = server.inference().signature(model, Inference.parseVersion(model, request.getVersion()));
            ModelMetadataResponse.Builder out = ModelMetadataResponse.newBuilder().setName(model)
                .setPlatform(signature.platform());
            server.registry().versions(model).forEach(v -> out.addVersions(Integer.toString(v)));
            for (FieldSpec field : signature.inputs()) {
                out.addInputs(ModelMetadataResponse.TensorMetadata.newBuilder().setName(field.name())
                    .setDatatype(ModelSignature.inputType(field).name()).addShape(-1));
            }
            for (ModelSignature.Output output : signature.outputs().values()) {
                ModelMetadataResponse.TensorMetadata.Builder tensor = ModelMetadataResponse.TensorMetadata.newBuilder()
                    .setName(output.name()).setDatatype(output.type().name());
                for (long dim : output.shape(-1)) {
                    tensor.addShape(dim);
                }
                out.addOutputs(tensor);
            }
            reply(responses, "metadata", model, out.build());
        } catch (RequestException e) {
            fail(responses, "metadata", model, e);
        }
    }

    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> responses) {
        long start = System.nanoTime();
        String model = request.getModelName();
        InferRequest decoded;
        try {
            decoded = GrpcCodec.decode(request, CallGuard.ROUTING_KEY.get());
        } catch (RequestException e) {
            fail(responses, "infer", model, e);
            return;
        }
        boolean raw = request.getRawInputContentsCount() > 0;
        server.admission().submit("grpc", () -> server.inference().infer(decoded), (response, error) -> {
            if (error != null) {
                fail(responses, "infer", model, error);
                server.metrics().latency("grpc", "infer", model, 0, System.nanoTime() - start);
                return;
            }
            ModelInferResponse encoded;
            try {
                encoded = GrpcCodec.encode(response, raw);
            } catch (RuntimeException e) {
                fail(responses, "infer", model, new RequestException(RequestException.Kind.INTERNAL,
                    "the server failed to encode the response: " + io.jarscore.runtime.Model.describe(e)));
                return;
            }
            reply(responses, "infer", model, encoded);
            server.metrics().latency("grpc", "infer", model, response.version(), System.nanoTime() - start);
        });
    }

    private <T> void reply(StreamObserver<T> responses, String endpoint, String model, T message) {
        server.metrics().request("grpc", endpoint, model, Status.Code.OK.name());
        if (responses instanceof ServerCallStreamObserver<T> call && call.isCancelled()) {
            return; // the client gave up (its deadline passed): nobody to answer
        }
        try {
            responses.onNext(message);
            responses.onCompleted();
        } catch (IllegalStateException e) {
            // the call closed meanwhile (cancelled by the client): nothing left to send
        }
    }

    private void fail(StreamObserver<?> responses, String endpoint, String model, RequestException e) {
        server.metrics().request("grpc", endpoint, model, e.kind().grpc.name());
        try {
            responses.onError(Status.fromCode(e.kind().grpc).withDescription(e.getMessage()).asRuntimeException());
        } catch (IllegalStateException closed) {
            // the call closed meanwhile (cancelled by the client): nothing left to send
        }
    }
}
