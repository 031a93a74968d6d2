package io.jarscore.bench.serve;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jarscore.oip.GRPCInferenceServiceGrpc;
import io.jarscore.oip.InferTensorContents;
import io.jarscore.oip.ModelInferRequest;
import io.jarscore.oip.ModelInferResponse;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The load generator's ceiling: servers that do no work, on the same stacks jarscore serve is built
 * on (Netty's HTTP codec, grpc-java on Netty). Each reads the whole request and answers one fixed,
 * small inference response, so loading them measures the client and the transport alone. Runs until
 * its standard input closes.
 */
@Command(name = "noop-servers", mixinStandardHelpOptions = true, description = "no-op REST and gRPC servers")
final class NoopServers implements Callable<Integer> {

    private static final byte[] REST_ANSWER = ("{\"model_name\":\"noop\",\"model_version\":\"1\",\"outputs\":"
        + "[{\"name\":\"predict\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[0.5]}]}").getBytes(StandardCharsets.UTF_8);
    private static final ModelInferResponse GRPC_ANSWER = ModelInferResponse.newBuilder().setModelName("noop")
        .setModelVersion("1").addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName("predict")
            .setDatatype("FP64").addShape(1).setContents(InferTensorContents.newBuilder().addFp64Contents(0.5)))
        .build();

    @Option(names = "--ports-file", required = true, description = "where to write {\"http\": port, \"grpc\": port}")
    Path portsFile;

    @Override
    public Integer call() throws Exception {
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).directExecutor()
            .maxInboundMessageSize(64 << 20)
            .addService(new GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase() {
                @Override
                public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> responses) {
                    responses.onNext(GRPC_ANSWER);
                    responses.onCompleted();
                }
            }).build().start();
        Channel http = new ServerBootstrap().group(loops).channel(NioServerSocketChannel.class)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel channel) {
                    channel.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 << 20),
                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext context, FullHttpRequest request) {
                                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                    HttpResponseStatus.OK, Unpooled.wrappedBuffer(REST_ANSWER));
                                response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                                    .setInt(HttpHeaderNames.CONTENT_LENGTH, REST_ANSWER.length);
                                context.writeAndFlush(response);
                            }
                        });
                }
            }).bind("127.0.0.1", 0).sync().channel();
        Path partial = portsFile.resolveSibling(portsFile.getFileName() + ".partial");
        Files.writeString(partial, "{\"http\": " + ((InetSocketAddress) http.localAddress()).getPort() + ", \"grpc\": "
            + grpc.getPort() + "}\n");
        Files.move(partial, portsFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        while (System.in.read() != -1) {
            // until the parent closes our standard input
        }
        grpc.shutdownNow();
        http.close().sync();
        loops.shutdownGracefully();
        return 0;
    }
}
