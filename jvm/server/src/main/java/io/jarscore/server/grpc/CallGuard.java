package io.jarscore.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

import io.jarscore.server.ServerContext;

/**
 * Before any RPC: the bearer token (metadata {@code authorization: Bearer <token>}; the liveness and
 * readiness RPCs need none), the request id ({@code x-request-id}, echoed in the response's headers
 * and trailers) and the routing key ({@code x-routing-key}, for A/B routing).
 */
final class CallGuard implements ServerInterceptor {

    static final Context.Key<String> ROUTING_KEY = Context.key("jarscore-routing-key");
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> REQUEST_ID = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> ROUTING = Metadata.Key.of("x-routing-key", Metadata.ASCII_STRING_MARSHALLER);

    private final ServerContext server;

    CallGuard(ServerContext server) {
        this.server = server;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        boolean open = "ServerLive".equals(method) || "ServerReady".equals(method);
        if (!open && server.token() != null && !server.token().accepts(headers.get(AUTHORIZATION))) {
            server.metrics().rejected("grpc", "unauthorized");
            server.metrics().request("grpc", OipGrpcService.endpoint(method), null, Status.Code.UNAUTHENTICATED.name());
            call.close(Status.UNAUTHENTICATED.withDescription("this server needs a bearer token: send the metadata"
                + " 'authorization: Bearer <token>' with the token it was started with (--token-file)"), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        String id = headers.get(REQUEST_ID);
        ServerCall<Q, R> answering = id == null ? call : new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendHeaders(Metadata responseHeaders) {
                responseHeaders.put(REQUEST_ID, id);
                super.sendHeaders(responseHeaders);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                trailers.put(REQUEST_ID, id);
                super.close(status, trailers);
            }
        };
        Context context = Context.current().withValue(ROUTING_KEY, headers.get(ROUTING));
        return Contexts.interceptCall(context, answering, headers, next);
    }
}
