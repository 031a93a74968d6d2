package io.jarscore.server.http;

import java.net.InetSocketAddress;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;

import io.jarscore.server.ServerContext;

/**
 * The REST side: Netty's HTTP/1.1 codec, keep-alive, the {@link AdmissionGate} (a place in the
 * scoring queue before a body is read), an aggregator that holds a request body up to the size
 * limit (a larger one is answered 413 and its connection closed, before the rest of it is read),
 * then {@link HttpHandler}.
 */
public final class HttpServer implements AutoCloseable {

    private final ServerContext server;
    private final int maxRequestBytes;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel listening;

    public HttpServer(ServerContext server, int maxRequestBytes) {
        this.server = server;
        this.maxRequestBytes = maxRequestBytes;
    }

    /** Binds and starts accepting; returns the port (the one the system chose for port 0). */
    public int start(EventLoopGroup boss, EventLoopGroup workers, String host, int port) throws InterruptedException {
        HttpHandler handler = new HttpHandler(server);
        ServerBootstrap bootstrap = new ServerBootstrap().group(boss, workers)
            .channel(NioServerSocketChannel.class)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel channel) {
                    connections.add(channel);
                    channel.pipeline()
                        .addLast(new HttpServerCodec(8192, 16384, 65536))
                        .addLast(new HttpServerKeepAliveHandler())
                        .addLast(new AdmissionGate(server.admission(), server.metrics()))
                        .addLast(new LimitedAggregator(maxRequestBytes))
                        .addLast(handler);
                }
            });
        listening = bootstrap.bind(host, port).sync().channel();
        return ((InetSocketAddress) listening.localAddress()).getPort();
    }

    /** Stops accepting connections; those open go on until {@link #close()}. */
    public void stopAccepting() {
        if (listening != null) {
            listening.close().syncUninterruptibly();
        }
    }

    @Override
    public void close() {
        stopAccepting();
        connections.close().awaitUninterruptibly();
    }

    /**
     * Answers a body over the limit with a JSON 413 that names the limit, before reading it. On a
     * keep-alive connection the aggregator then drops the body as it comes and the connection stays
     * usable (closing it under a client still sending would reset it before the client read the
     * answer); otherwise the connection closes.
     */
    private final class LimitedAggregator extends HttpObjectAggregator {

        LimitedAggregator(int maxContentLength) {
            super(maxContentLength);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            AdmissionGate.release(ctx.channel(), server.admission());
            server.metrics().rejected("http", "too_large");
            server.metrics().request("http", "other", null, "413");
            String length = oversized.headers().get(HttpHeaderNames.CONTENT_LENGTH);
            byte[] body = Json.error("the request body" + (length == null ? "" : " of " + length + " bytes")
                + " is over this server's limit of " + maxRequestBytes + " bytes (--max-request-bytes)");
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpAnswer.JSON);
            HttpUtil.setContentLength(response, body.length);
            String requestId = oversized.headers().get(HttpHandler.REQUEST_ID);
            if (requestId != null) {
                response.headers().set(HttpHandler.REQUEST_ID, requestId);
            }
            boolean close = oversized instanceof FullHttpMessage || !HttpUtil.isKeepAlive(oversized);
            if (close) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            }
        }
    }
}
