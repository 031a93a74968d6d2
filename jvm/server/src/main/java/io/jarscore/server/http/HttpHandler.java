package io.jarscore.server.http;

import java.util.Map;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import io.jarscore.server.ServerContext;
import io.jarscore.server.infer.RequestException;

/**
 * Answers one HTTP request: routes it, checks the token, and answers cheap reads on the network
 * thread; scoring and repository changes go to the {@link io.jarscore.server.Admission} queue.
 * While a connection's request is out, the connection reads nothing more, so its responses leave
 * in the order its requests came (HTTP/1.1 pipelining) and one client cannot queue without bound.
 */
@ChannelHandler.Sharable
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final System.Logger ACCESS = System.getLogger("io.jarscore.server.access");
    static final String REQUEST_ID = "X-Request-Id";
    static final String ROUTING_KEY = "X-Routing-Key";

    private final ServerContext server;
    private final OipRest oip;
    private final TfsRest tfs;

    HttpHandler(ServerContext server) {
        super(false);
        this.server = server;
        this.oip = new OipRest(server);
        this.tfs = new TfsRest(server);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        long start = System.nanoTime();
        String method = request.method().name();
        String uri = request.uri();
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        String requestId = request.headers().get(REQUEST_ID);
        Respond respond = new Respond(ctx, method, uri, keepAlive, requestId, start);
        if (!request.decoderResult().isSuccess()) {
            AdmissionGate.release(ctx.channel(), server.admission());
            request.release();
            respond.send(HttpAnswer.error(RequestException.badRequest("malformed HTTP request: "
                + request.decoderResult().cause())), null, false);
            return;
        }
        boolean reserved = AdmissionGate.take(ctx.channel());
        Route route;
        Route.Exchange exchange;
        try {
            route = Route.of(request.method(), uri, oip, tfs, server.metrics()::text);
            respond.endpoint = route.endpoint();
            respond.model = route.model();
            if (!route.open() && server.token() != null
                && !server.token().accepts(request.headers().get(HttpHeaderNames.AUTHORIZATION))) {
                server.metrics().rejected("http", "unauthorized");
                throw new RequestException(RequestException.Kind.UNAUTHORIZED, "this server needs a bearer token:"
                    + " send the header 'Authorization: Bearer <token>' with the token it was started with (--token-file)");
            }
            exchange = new Route.Exchange(ByteBufUtil.getBytes(request.content()),
                request.headers().get(OipRest.HEADER_LENGTH), request.headers().get(ROUTING_KEY));
        } catch (RequestException e) {
            if (reserved) {
                server.admission().release();
            }
            respond.send(HttpAnswer.error(e), null, false);
            return;
        } finally {
            request.release();
        }
        if (route.inline()) {
            if (reserved) {
                server.admission().release(); // a read answered here needs no place in the queue
            }
            HttpAnswer answer;
            try {
                answer = route.action().apply(exchange);
            } catch (RequestException e) {
                answer = HttpAnswer.error(e);
            } catch (RuntimeException e) {
                answer = HttpAnswer.error(new RequestException(RequestException.Kind.INTERNAL,
                    "the server failed on this request: " + io.jarscore.runtime.Model.describe(e)));
            }
            respond.send(answer, null, false);
            return;
        }
        ctx.channel().config().setAutoRead(false);
        if (reserved) {
            server.admission().submitReserved("http", () -> route.action().apply(exchange),
                (answer, error) -> respond.send(answer, error, true));
        } else {
            server.admission().submit("http", () -> route.action().apply(exchange),
                (answer, error) -> respond.send(answer, error, true));
        }
    }

    /** Sends the one response of a request, logs it and counts it. */
    private final class Respond {
        private final ChannelHandlerContext ctx;
        private final String method;
        private final String uri;
        private final boolean keepAlive;
        private final String requestId;
        private final long start;
        String endpoint = "other";
        String model;

        Respond(ChannelHandlerContext ctx, String method, String uri, boolean keepAlive, String requestId, long start) {
            this.ctx = ctx;
            this.method = method;
            this.uri = uri;
            this.keepAlive = keepAlive;
            this.requestId = requestId;
            this.start = start;
        }

        void send(HttpAnswer given, RequestException error, boolean resumeReading) {
            HttpAnswer answer = error != null ? HttpAnswer.error(error) : given;
            HttpResponseStatus status = answer.status();
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(answer.body()));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, answer.contentType());
            HttpUtil.setContentLength(response, answer.body().length);
            if (requestId != null) {
                response.headers().set(REQUEST_ID, requestId);
            }
            for (Map.Entry<String, String> header : answer.headers().entrySet()) {
                response.headers().set(header.getKey(), header.getValue());
            }
            if (status.code() == 401) {
                response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
            }
            boolean close = !keepAlive || status.code() == 400 && endpoint.equals("other");
            HttpUtil.setKeepAlive(response, !close);
            String model = answer.model() != null ? answer.model() : this.model;
            int version = answer.version();
            ctx.writeAndFlush(response).addListener((ChannelFutureListener) future -> {
                if (close) {
                    future.channel().close();
                } else if (resumeReading) {
                    future.channel().config().setAutoRead(true);
                }
            });
            long nanos = System.nanoTime() - start;
            server.metrics().request("http", endpoint, model, Integer.toString(status.code()));
            if (endpoint.equals("infer") || endpoint.equals("predict")) {
                server.metrics().latency("http", endpoint, model, status.code() == 200 ? version : 0, nanos);
            }
            if (server.accessLog()) {
                ACCESS.log(System.Logger.Level.INFO, () -> String.format("%s %s %s %d %d bytes %.3f ms model=%s version=%s id=%s",
                    ctx.channel().remoteAddress(), method, uri, status.code(), answer.body().length, nanos / 1e6,
                    model == null ? "-" : model, version > 0 ? version : "-", requestId == null ? "-" : requestId));
            }
        }
    }
}
