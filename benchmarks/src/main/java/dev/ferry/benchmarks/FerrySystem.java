package dev.ferry.benchmarks;

import com.google.protobuf.MessageLite;
import dev.ferry.MethodDescriptor;
import dev.ferry.TlsProvider;
import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInterceptor;
import dev.ferry.client.ClientTls;
import dev.ferry.client.Response;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.FerryChannelBuilder;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.micrometer.FerryMetrics;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServerInterceptor;
import dev.ferry.server.ServerTls;
import dev.ferry.server.ServiceDefinition;
import io.micrometer.core.instrument.simple.CountingMode;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Ferry: an echo service on a FerryServer, called through one FerryChannel with a pool; optionally over
 * TLS, or with a pass-through interceptor on each side.
 */
final class FerrySystem implements BenchSystem {
  static final MethodDescriptor<Payload, Payload> ECHO =
      MethodDescriptor.of("ferry.bench.Bench/Echo", Payload.parser(), Payload.parser());

  private final java.util.List<FerryServer> servers;
  private final FerryChannel channel;
  private final String name;
  private final ExecutorService ownedExecutor; // null unless this system made the server's executor

  private FerrySystem(FerryServer server, FerryChannel channel, String name, ExecutorService ownedExecutor) {
    this(java.util.List.of(server), channel, name, ownedExecutor);
  }

  private FerrySystem(java.util.List<FerryServer> servers, FerryChannel channel, String name,
      ExecutorService ownedExecutor) {
    this.servers = servers;
    this.channel = channel;
    this.name = name;
    this.ownedExecutor = ownedExecutor;
  }

  /** Whether this JVM has virtual threads (Java 21+). */
  static boolean virtualThreadsAvailable() {
    try {
      Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  /** {@code Executors.newVirtualThreadPerTaskExecutor()}, called reflectively: this module compiles for Java 17. */
  private static ExecutorService newVirtualThreadPerTaskExecutor() throws Exception {
    return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
  }

  /**
   * {@code servers} echo servers on 127.0.0.1 and one channel: to the first one by host and port
   * ({@code targeted} 0), or built from a {@code static://} target listing the first {@code targeted}
   * (the default balancer, power of two choices). Each server gets {@code config.connections()}
   * connections of the channel.
   */
  static FerrySystem startFleet(Config config, int servers, int targeted, String name) throws Exception {
    java.util.List<FerryServer> started = new java.util.ArrayList<>();
    for (int i = 0; i < servers; i++) {
      FerryServerBuilder sb = FerryServer.builder().host("127.0.0.1").port(0)
          .addService(ServiceDefinition.builder("ferry.bench.Bench").unary(ECHO, (req, ctx) -> req).build())
          .maxConcurrentCallsPerConnection(100_000);
      if (config.directExecutor()) {
        sb.directExecutor();
      }
      if (!config.heartbeats()) {
        sb.heartbeatInterval(Duration.ZERO);
      }
      started.add(sb.build().start());
    }
    FerryChannelBuilder cb;
    if (targeted == 0) {
      cb = FerryChannel.builder("127.0.0.1", started.get(0).port());
    } else {
      StringBuilder target = new StringBuilder("static://");
      for (int i = 0; i < targeted; i++) {
        target.append(i > 0 ? "," : "").append("127.0.0.1:").append(started.get(i).port());
      }
      cb = FerryChannel.builder(target.toString());
    }
    FerryChannel channel = cb
        .pool(PoolOptions.builder().size(config.connections()).eager(true).maxPendingCalls(1_000_000).build())
        .heartbeat(config.heartbeats() ? HeartbeatOptions.DEFAULT : HeartbeatOptions.DISABLED)
        .build();
    FerrySystem system = new FerrySystem(started, channel, name, null);
    for (int i = 0; i < config.connections() * Math.max(1, targeted) * 8; i++) {
      channel.blockingCall(ECHO, Payload.getDefaultInstance(), CallOptions.DEFAULT);
    }
    return system;
  }

  /** A pass-through server interceptor: what having one installed costs. */
  private static final ServerInterceptor SERVER_PASS = new ServerInterceptor() {
    @Override
    public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
        Next<ReqT, RespT> next) {
      return next.proceed(request);
    }
  };

  /** A pass-through client interceptor. */
  private static final ClientInterceptor CLIENT_PASS = new ClientInterceptor() {
    @Override
    public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> interceptCall(
        MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, Next<ReqT, RespT> next) {
      return next.proceed(request, options);
    }
  };

  /** Which of ferry-micrometer's meters to install on both sides (S10). */
  enum Metrics {
    NONE,
    /** {@code FerryMetrics.create(registry)}: counts and totals, no histograms. */
    DEFAULT,
    /** With the recommended duration buckets and size buckets: every call recorded in timers and summaries. */
    HISTOGRAMS
  }

  /** Counts since the start, as a Prometheus registry does (the simple registry's default is per step). */
  private static final SimpleConfig CUMULATIVE = new SimpleConfig() {
    @Override
    public String get(String key) {
      return null;
    }

    @Override
    public CountingMode mode() {
      return CountingMode.CUMULATIVE;
    }
  };

  /**
   * @param tls the TLS provider, or null for plaintext
   * @param intercepted whether to install a pass-through interceptor on each side
   */
  static FerrySystem start(Config config, TlsProvider tls, boolean intercepted, String name) throws Exception {
    return start(config, tls, intercepted, Metrics.NONE, name);
  }

  /** As above, with {@code metered} meters installed on both sides, in a cumulative registry. */
  static FerrySystem start(Config config, TlsProvider tls, boolean intercepted, Metrics metered, String name)
      throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry(CUMULATIVE, io.micrometer.core.instrument.Clock.SYSTEM);
    FerryMetrics metrics = switch (metered) {
      case NONE -> null;
      case DEFAULT -> FerryMetrics.create(registry);
      case HISTOGRAMS -> FerryMetrics.builder(registry).durationBuckets(FerryMetrics.RECOMMENDED_DURATION_BUCKETS)
          .sizeBuckets(64, 1024, 16 * 1024, 256 * 1024).build();
    };
    int sleep = config.handlerSleepMillis();
    FerryServerBuilder sb = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(ServiceDefinition.builder("ferry.bench.Bench").unary(ECHO, sleep == 0 ? (req, ctx) -> req
            : (req, ctx) -> {
              Thread.sleep(sleep); // a handler that blocks, as one waiting for a database would
              return req;
            }).build())
        .maxConcurrentCallsPerConnection(100_000);
    ExecutorService virtual = null;
    switch (config.executor()) {
      case DIRECT -> sb.directExecutor();
      case VIRTUAL -> {
        virtual = newVirtualThreadPerTaskExecutor();
        sb.executor(virtual);
      }
      default -> { } // the server's default pool
    }
    if (!config.heartbeats()) {
      sb.heartbeatInterval(Duration.ZERO);
    }
    if (tls != null) {
      sb.tls(ServerTls.builder().keyCertChain(BenchCertificates.serverChain(), BenchCertificates.serverKey())
          .provider(tls).build());
    }
    if (intercepted) {
      sb.intercept(SERVER_PASS);
    }
    if (metrics != null) {
      sb.addListener(metrics.serverListener());
    }
    FerryServer server = sb.build().start();
    FerryChannelBuilder cb = FerryChannel.builder("127.0.0.1", server.port());
    if (tls != null) {
      cb.tls(ClientTls.builder().trustRoots(BenchCertificates.ca()).provider(tls).build());
    }
    if (intercepted) {
      cb.intercept(CLIENT_PASS);
    }
    if (metrics != null) {
      cb.addListener(metrics.channelListener());
    }
    FerryChannel channel = cb
        .pool(PoolOptions.builder().size(config.connections()).eager(true).maxPendingCalls(1_000_000).build())
        .heartbeat(config.heartbeats() ? HeartbeatOptions.DEFAULT : HeartbeatOptions.DISABLED)
        .build();
    FerrySystem system = new FerrySystem(server, channel, name, virtual);
    // Every connection up before anything is measured.
    for (int i = 0; i < config.connections() * 4; i++) {
      channel.blockingCall(ECHO, Payload.getDefaultInstance(), CallOptions.DEFAULT);
    }
    return system;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void call(Payload request, Callback done) {
    channel.call(ECHO, request, CallOptions.DEFAULT).whenComplete((response, error) -> done.done(error));
  }

  @Override
  public void close() throws Exception {
    channel.close();
    for (FerryServer server : servers) {
      server.shutdownNow();
    }
    for (FerryServer server : servers) {
      server.awaitTermination(Duration.ofSeconds(10));
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
  }
}
