package dev.ferry.benchmarks;

import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.internal.Transports;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * gRPC-java on its Netty transport, plaintext: the same echo, with hand-written descriptors (what its
 * generated code would contain). One ManagedChannel per connection, used round robin. The client
 * always runs callbacks directly on its event loop, as Ferry's does; the server's executor follows the
 * row: direct, or gRPC's default pool.
 */
final class GrpcSystem implements BenchSystem {
  static final MethodDescriptor<Payload, Payload> ECHO = MethodDescriptor.<Payload, Payload>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("ferry.bench.Bench/Echo")
      .setRequestMarshaller(ProtoUtils.marshaller(Payload.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Payload.getDefaultInstance()))
      .build();

  private final Server server;
  private final ManagedChannel[] channels;
  private final AtomicInteger next = new AtomicInteger();
  private final String name;
  private final NioEventLoopGroup[] nioGroups; // made here for the NIO rows, shut down on close; else empty

  private GrpcSystem(Server server, ManagedChannel[] channels, String name, NioEventLoopGroup... nioGroups) {
    this.name = name;
    this.server = server;
    this.channels = channels;
    this.nioGroups = nioGroups;
  }

  static GrpcSystem start(Config config, boolean tls) throws Exception {
    ServerServiceDefinition service = ServerServiceDefinition.builder("ferry.bench.Bench")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((Payload request, StreamObserver<Payload> out) -> {
          out.onNext(request);
          out.onCompleted();
        }))
        .build();
    NettyServerBuilder sb = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(service)
        .maxInboundMessageSize(16 * 1024 * 1024);
    if (tls) {
      sb.sslContext(GrpcSslContexts.forServer(BenchCertificates.serverChain().toFile(),
          BenchCertificates.serverKey().toFile()).build());
    }
    if (config.directExecutor()) {
      sb.directExecutor();
    }
    // On the NIO rows (--nio) gRPC runs on NIO too: one server and one client loop per core.
    boolean nio = !Transports.nativeEpoll();
    NioEventLoopGroup serverBoss = null;
    NioEventLoopGroup serverWorkers = null;
    NioEventLoopGroup clientGroup = null;
    if (nio) {
      serverBoss = new NioEventLoopGroup(1, new DefaultThreadFactory("grpc-nio-boss", true));
      serverWorkers = new NioEventLoopGroup(Runtime.getRuntime().availableProcessors(),
          new DefaultThreadFactory("grpc-nio-server", true));
      clientGroup = new NioEventLoopGroup(Runtime.getRuntime().availableProcessors(),
          new DefaultThreadFactory("grpc-nio-client", true));
      sb.channelType(NioServerSocketChannel.class).bossEventLoopGroup(serverBoss).workerEventLoopGroup(serverWorkers);
    }
    if (config.heartbeats()) {
      // The same heartbeat policy as Ferry's defaults: keepalive every 10 s, permitted by the server.
      sb.permitKeepAliveTime(5, TimeUnit.SECONDS).keepAliveTime(30, TimeUnit.SECONDS);
    }
    Server server = sb.build().start();
    ManagedChannel[] channels = new ManagedChannel[config.connections()];
    for (int i = 0; i < channels.length; i++) {
      NettyChannelBuilder cb = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
          .directExecutor()
          .maxInboundMessageSize(16 * 1024 * 1024);
      if (nio) {
        cb.channelType(NioSocketChannel.class).eventLoopGroup(clientGroup);
      }
      if (tls) {
        cb.sslContext(GrpcSslContexts.forClient().trustManager(BenchCertificates.ca().toFile()).build());
      } else {
        cb.usePlaintext();
      }
      if (config.heartbeats()) {
        cb.keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(20, TimeUnit.SECONDS).keepAliveWithoutCalls(true);
      }
      channels[i] = cb.build();
    }
    GrpcSystem system = new GrpcSystem(server, channels, tls ? Kind.GRPC_TLS.label : Kind.GRPC.label,
        nio ? new NioEventLoopGroup[] {clientGroup, serverWorkers, serverBoss} : new NioEventLoopGroup[0]);
    for (ManagedChannel c : channels) {
      for (int i = 0; i < 4; i++) {
        ClientCalls.blockingUnaryCall(c, ECHO, CallOptions.DEFAULT, Payload.getDefaultInstance());
      }
    }
    return system;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void call(Payload request, Callback done) {
    ManagedChannel channel = channels[channels.length == 1 ? 0 : Math.floorMod(next.getAndIncrement(), channels.length)];
    ClientCalls.asyncUnaryCall(channel.newCall(ECHO, CallOptions.DEFAULT), request, new StreamObserver<Payload>() {
      @Override
      public void onNext(Payload value) {}

      @Override
      public void onError(Throwable t) {
        done.done(t);
      }

      @Override
      public void onCompleted() {
        done.done(null);
      }
    });
  }

  @Override
  public void close() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      c.awaitTermination(10, TimeUnit.SECONDS);
    }
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    for (NioEventLoopGroup g : nioGroups) {
      g.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
