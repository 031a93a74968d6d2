package io.jarscore.server.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;

import io.jarscore.server.Admission;
import io.jarscore.server.ServerMetrics;
import io.jarscore.server.infer.RequestException;

/**
 * Takes a place in the scoring queue for every POST as soon as its headers arrive, before its body
 * is read: when there is none, the request is answered 429 (503 while shutting down) at once and
 * its body dropped as it arrives, so a flood costs no memory for bodies nobody will score (the
 * connection stays open: closing it under a client still sending would reset it before the client
 * read the answer). The place goes to {@link HttpHandler} with the request, or back to the queue if
 * the connection closes first.
 */
final class AdmissionGate extends ChannelDuplexHandler {

    private static final AttributeKey<Boolean> RESERVED = AttributeKey.valueOf("jarscore.reserved");

    private final Admission admission;
    private final ServerMetrics metrics;
    private boolean refusing;

    AdmissionGate(Admission admission, ServerMetrics metrics) {
        this.admission = admission;
        this.metrics = metrics;
    }

    /** Whether the request on this channel holds a place; the place passes to the caller. */
    static boolean take(io.netty.channel.Channel channel) {
        return Boolean.TRUE.equals(channel.attr(RESERVED).getAndSet(null));
    }

    /** Gives back a place the channel still holds (the request failed before it was submitted). */
    static void release(io.netty.channel.Channel channel, Admission admission) {
        if (take(channel)) {
            admission.release();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object message) {
        if (message instanceof HttpRequest request) {
            refusing = false;
            if (request.method().equals(HttpMethod.POST) && request.decoderResult().isSuccess()) {
                if (admission.tryReserve()) {
                    ctx.channel().attr(RESERVED).set(true);
                } else {
                    refusing = !(request instanceof io.netty.handler.codec.http.LastHttpContent);
                    refuse(ctx, request, admission.busy("http"));
                    ReferenceCountUtil.release(request);
                    return;
                }
            }
        }
        if (refusing) {
            refusing = !(message instanceof io.netty.handler.codec.http.LastHttpContent);
            ReferenceCountUtil.release(message); // the body of a refused request is dropped as it comes
            return;
        }
        ctx.fireChannelRead(message);
    }

    private void refuse(ChannelHandlerContext ctx, HttpRequest request, RequestException busy) {
        metrics.request("http", "other", null, Integer.toString(busy.kind().http));
        byte[] body = Json.error(busy.getMessage());
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(busy.kind().http), Unpooled.wrappedBuffer(body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpAnswer.JSON);
        response.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        String requestId = request.headers().get(HttpHandler.REQUEST_ID);
        if (requestId != null) {
            response.headers().set(HttpHandler.REQUEST_ID, requestId);
        }
        HttpUtil.setContentLength(response, body.length);
        ctx.writeAndFlush(response);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        release(ctx.channel(), admission);
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        release(ctx.channel(), admission);
        ctx.close();
    }
}
