package io.jarscore.server.grpc;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;

import io.jarscore.server.ServerContext;

/** The gRPC side: grpc-java's Netty transport on the event loops the HTTP side uses too. */
public final class GrpcServer implements AutoCloseable {

    private final ServerContext server;
    private final int maxRequestBytes;
    private Server grpc;

    public GrpcServer(ServerContext server, int maxRequestBytes) {
        this.server = server;
        this.maxRequestBytes = maxRequestBytes;
    }

    /** Binds and starts; returns the port (the one the system chose for port 0). */
    public int start(EventLoopGroup boss, EventLoopGroup workers, String host, int port) throws IOException {
        grpc = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            .channelType(NioServerSocketChannel.class)
            // scoring goes to the Admission queue; the rest is cheap enough for the network thread
            .directExecutor()
            .maxInboundMessageSize(maxRequestBytes)
            .addService(ServerInterceptors.intercept(ParseGuard.wrap(new OipGrpcService(server).bindService()),
                new CallGuard(server)))
            .build()
            .start();
        return grpc.getPort();
    }

    /** Refuses new calls; calls in flight go on. */
    public void shutdown() {
        if (grpc != null) {
            grpc.shutdown();
        }
    }

    /** Waits for the calls in flight, then ends those left. */
    public void awaitTermination(long millis) throws InterruptedException {
        if (grpc != null && !grpc.awaitTermination(millis, TimeUnit.MILLISECONDS)) {
            grpc.shutdownNow();
        }
    }

    @Override
    public void close() throws InterruptedException {
        shutdown();
        awaitTermination(0);
    }
}
