package dev.ferry.benchmarks;

import dev.ferry.benchmarks.proto.Payload;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * gRPC-java's streams for S8, written as its documentation asks: producers write only while
 * {@code isReady()} and resume from {@code onReady}, so gRPC is measured as correct code, not as an
 * unbounded producer (whose {@code onNext} never blocks and would only fill memory). The echo's server
 * reads with manual flow control ({@code disableAutoRequest}, one {@code request(1)} per message it
 * could write back), as in gRPC's own flow-control example, so that a slow reader of the responses
 * holds the client's writes back. Descriptors are hand-written as in {@link GrpcSystem}; one
 * ManagedChannel (one connection), direct executors on both sides, its default windows (1 MiB).
 *
 * <p>Threads: callbacks run on gRPC's event loops (direct executors); {@link #open} on the load thread.
 */
final class GrpcStreams implements StreamSystem {
  static final MethodDescriptor<Payload, Payload> FLOOD = MethodDescriptor.<Payload, Payload>newBuilder()
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
      .setFullMethodName("ferry.bench.Streams/Flood")
      .setRequestMarshaller(ProtoUtils.marshaller(Payload.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Payload.getDefaultInstance()))
      .build();
  static final MethodDescriptor<Payload, Payload> ECHO_STREAM = MethodDescriptor.<Payload, Payload>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName("ferry.bench.Streams/Echo")
      .setRequestMarshaller(ProtoUtils.marshaller(Payload.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Payload.getDefaultInstance()))
      .build();

  private final Server server;
  private final ManagedChannel channel;

  private GrpcStreams(Server server, ManagedChannel channel) {
    this.server = server;
    this.channel = channel;
  }

  static GrpcStreams start() throws Exception {
    ServerServiceDefinition service = ServerServiceDefinition.builder("ferry.bench.Streams")
        .addMethod(FLOOD, ServerCalls.asyncServerStreamingCall(GrpcStreams::flood))
        .addMethod(ECHO_STREAM, ServerCalls.asyncBidiStreamingCall(GrpcStreams::echo))
        .build();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(service)
        .directExecutor()
        .maxInboundMessageSize(16 * 1024 * 1024)
        .build().start();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .directExecutor()
        .usePlaintext()
        .maxInboundMessageSize(16 * 1024 * 1024)
        .build();
    channel.getState(true);
    return new GrpcStreams(server, channel);
  }

  /** The server stream: writes the request again and again while the transport is ready. */
  private static void flood(Payload request, StreamObserver<Payload> out) {
    ServerCallStreamObserver<Payload> responses = (ServerCallStreamObserver<Payload>) out;
    Runnable produce = () -> {
      while (responses.isReady() && !responses.isCancelled()) {
        responses.onNext(request);
      }
    };
    responses.setOnCancelHandler(() -> { }); // a cancel is how every stream ends here: nothing to clean up
    responses.setOnReadyHandler(produce);
    produce.run();
  }

  /** The echo: reads one request per response it can write now. */
  private static StreamObserver<Payload> echo(StreamObserver<Payload> out) {
    ServerCallStreamObserver<Payload> responses = (ServerCallStreamObserver<Payload>) out;
    responses.disableAutoRequest();
    responses.setOnCancelHandler(() -> { });
    // Callbacks of one call never run at once (gRPC serialises them), so a plain field suffices.
    boolean[] reading = {false};
    responses.setOnReadyHandler(() -> {
      if (responses.isReady() && !reading[0]) {
        reading[0] = true;
        responses.request(1);
      }
    });
    return new StreamObserver<>() {
      @Override
      public void onNext(Payload value) {
        responses.onNext(value);
        if (responses.isReady()) {
          responses.request(1);
        } else {
          reading[0] = false; // onReady asks for the next one
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }

  @Override
  public String name() {
    return StreamSystem.Kind.GRPC.label;
  }

  @Override
  public Streams open(Mode mode, int streams, Payload message, Counters counters) {
    List<Counting> calls = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      Counting c = new Counting(counters, mode == Mode.BIDI ? message : null);
      calls.add(c);
      if (mode == Mode.SERVER_STREAM) {
        ClientCalls.asyncServerStreamingCall(channel.newCall(FLOOD, CallOptions.DEFAULT), message, c);
      } else {
        ClientCalls.asyncBidiStreamingCall(channel.newCall(ECHO_STREAM, CallOptions.DEFAULT), c);
      }
    }
    return () -> {
      for (Counting c : calls) {
        c.stop();
      }
    };
  }

  /** One client stream: counts the responses; for the echo, writes {@code message} while ready. */
  private static final class Counting implements ClientResponseObserver<Payload, Payload> {
    private final Counters counters;
    private final Payload message; // null: a server stream, nothing to write
    private volatile ClientCallStreamObserver<Payload> call;
    private volatile boolean stopped;

    Counting(Counters counters, Payload message) {
      this.counters = counters;
      this.message = message;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<Payload> requests) {
      call = requests;
      if (message != null) {
        requests.setOnReadyHandler(() -> {
          while (requests.isReady() && !stopped) {
            requests.onNext(message);
          }
        });
      }
    }

    @Override
    public void onNext(Payload value) {
      counters.messages.increment();
    }

    @Override
    public void onError(Throwable t) {
      if (!stopped) {
        counters.errors.increment();
      }
    }

    @Override
    public void onCompleted() {
      if (!stopped) {
        counters.errors.increment(); // the streams run until they are stopped
      }
    }

    void stop() {
      stopped = true;
      ClientCallStreamObserver<Payload> c = call;
      if (c != null) {
        c.cancel("the benchmark block ended", null);
      }
    }
  }

  @Override
  public void close() throws Exception {
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }
}
