package dev.ferry.benchmarks;

import dev.ferry.MethodDescriptor;
import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;

/** Ferry: an echo service on a FerryServer, called through one FerryChannel with a pool. */
final class FerrySystem implements BenchSystem {
  static final MethodDescriptor<Payload, Payload> ECHO =
      MethodDescriptor.of("ferry.bench.Bench/Echo", Payload.parser(), Payload.parser());

  private final FerryServer server;
  private final FerryChannel channel;

  private FerrySystem(FerryServer server, FerryChannel channel) {
    this.server = server;
    this.channel = channel;
  }

  static FerrySystem start(Config config) throws Exception {
    FerryServer.Builder sb = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(ServiceDefinition.builder("ferry.bench.Bench").unary(ECHO, (req, ctx) -> req).build())
        .maxConcurrentCallsPerConnection(100_000);
    if (config.directExecutor()) {
      sb.directExecutor();
    }
    if (!config.heartbeats()) {
      sb.heartbeatInterval(Duration.ZERO);
    }
    FerryServer server = sb.build().start();
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(config.connections()).eager(true).maxPendingCalls(1_000_000).build())
        .heartbeat(config.heartbeats() ? HeartbeatOptions.DEFAULT : HeartbeatOptions.DISABLED)
        .build();
    FerrySystem system = new FerrySystem(server, channel);
    // Every connection up before anything is measured.
    for (int i = 0; i < config.connections() * 4; i++) {
      channel.blockingCall(ECHO, Payload.getDefaultInstance(), CallOptions.DEFAULT);
    }
    return system;
  }

  @Override
  public String name() {
    return Kind.FERRY.label;
  }

  @Override
  public void call(Payload request, Callback done) {
    channel.call(ECHO, request, CallOptions.DEFAULT).whenComplete((response, error) -> done.done(error));
  }

  @Override
  public void close() throws Exception {
    channel.close();
    server.shutdownNow();
    server.awaitTermination(Duration.ofSeconds(10));
  }
}
