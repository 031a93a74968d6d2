package io.jarscore.server.grpc;

import java.io.InputStream;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;

/**
 * Parses each request message itself, so that bytes that are no protobuf message of the method's
 * type get INVALID_ARGUMENT naming the message type (grpc-java would close such a call UNKNOWN,
 * "Application error processing RPC"). The service then gets the parsed message as usual.
 */
final class ParseGuard {

    private ParseGuard() {
    }

    static ServerServiceDefinition wrap(ServerServiceDefinition service) {
        ServerServiceDefinition.Builder wrapped = ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            wrapped.addMethod(guarded(method));
        }
        return wrapped.build();
    }

    private static <Q, R> ServerMethodDefinition<InputStream, R> guarded(ServerMethodDefinition<Q, R> method) {
        MethodDescriptor<Q, R> typed = method.getMethodDescriptor();
        MethodDescriptor<InputStream, R> raw = typed.toBuilder(new Passthrough(), typed.getResponseMarshaller()).build();
        ServerCallHandler<InputStream, R> handler = (call, headers) -> {
            ServerCall<Q, R> typedCall = new ForwardingServerCall.SimpleForwardingServerCall<Q, R>(cast(call)) {
                @Override
                public MethodDescriptor<Q, R> getMethodDescriptor() {
                    return typed;
                }
            };
            ServerCall.Listener<Q> inner = method.getServerCallHandler().startCall(typedCall, headers);
            return new ServerCall.Listener<>() {
                private boolean refused;

                @Override
                public void onMessage(InputStream message) {
                    Q parsed;
                    try {
                        parsed = typed.parseRequest(message);
                    } catch (RuntimeException e) {
                        refused = true;
                        String type = typed.getRequestMarshaller() instanceof MethodDescriptor.ReflectableMarshaller<?> r
                            ? "inference." + r.getMessageClass().getSimpleName() : "request";
                        call.close(Status.INVALID_ARGUMENT.withDescription("the request is not a valid " + type
                            + " protobuf message: " + io.jarscore.runtime.Model.describe(e)), new Metadata());
                        return;
                    }
                    inner.onMessage(parsed);
                }

                @Override
                public void onHalfClose() {
                    if (!refused) {
                        inner.onHalfClose();
                    }
                }

                @Override
                public void onCancel() {
                    inner.onCancel();
                }

                @Override
                public void onComplete() {
                    inner.onComplete();
                }

                @Override
                public void onReady() {
                    if (!refused) {
                        inner.onReady();
                    }
                }
            };
        };
        return ServerMethodDefinition.create(raw, handler);
    }

    @SuppressWarnings("unchecked")
    private static <A, B, R> ServerCall<B, R> cast(ServerCall<A, R> call) {
        // The call only ever sends responses (of type R); its request type is never used to send.
        return (ServerCall<B, R>) (ServerCall<?, R>) call;
    }

    /** The request's bytes as they came, for {@link ParseGuard} to parse. */
    private static final class Passthrough implements MethodDescriptor.Marshaller<InputStream> {
        @Override
        public InputStream stream(InputStream value) {
            return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
            return stream;
        }
    }
}
