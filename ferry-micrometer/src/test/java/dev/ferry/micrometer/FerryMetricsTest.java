package dev.ferry.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.BalancerOptions;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.ChannelState;
import dev.ferry.client.ChannelStats;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Meter names, units and tags against the conventions, bounded tags, and the Ferry-only meters. */
class FerryMetricsTest {
  private static final String SERVICE = "ferry.test.Store";
  private static final MethodDescriptor<StringValue, StringValue> GET =
      MethodDescriptor.of(SERVICE + "/Get", StringValue.parser(), StringValue.parser());
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();
  /** Every tag a Ferry meter may carry: nothing that names a peer. */
  private static final Set<String> ALLOWED_TAGS = Set.of(FerryMetrics.RPC_SYSTEM, FerryMetrics.RPC_SERVICE,
      FerryMetrics.RPC_METHOD, FerryMetrics.STATUS_CODE, FerryMetrics.SERVER_ADDRESS, FerryMetrics.SERVER_PORT,
      FerryMetrics.STATE);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final FerryMetrics metrics = FerryMetrics.create(registry);
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private FerryServer server() throws Exception {
    ServiceDefinition store = ServiceDefinition.builder(SERVICE)
        .unary(GET, (request, ctx) -> {
          if (request.getValue().equals("missing")) {
            throw new FerryException(StatusCode.NOT_FOUND, "no such key");
          }
          return StringValue.of("value of " + request.getValue());
        })
        .build();
    FerryServer server = FerryServer.builder().host("127.0.0.1").port(0).addService(store)
        .addListener(metrics.serverListener()).build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  private FerryChannel channel(int port) {
    FerryChannel channel = FerryChannel.builder("127.0.0.1", port).addListener(metrics.channelListener()).build();
    resources.add(channel);
    return channel;
  }

  private void fourCalls(FerryChannel channel) {
    for (int i = 0; i < 3; i++) {
      channel.blockingCall(GET, StringValue.of("k"), TEN_SECONDS); // 3 bytes in, "value of k": 12 bytes out
    }
    assertThatThrownBy(() -> channel.blockingCall(GET, StringValue.of("missing"), TEN_SECONDS))
        .isInstanceOf(FerryException.class);
  }

  @Test
  void callMetersFollowTheRpcConventions() throws Exception {
    FerryServer server = server();
    FerryChannel channel = channel(server.port());
    fourCalls(channel);

    // Server: durations by status, in seconds; bytes.
    FunctionTimer ok = registry.get(FerryMetrics.SERVER_CALL_DURATION).tags(FerryMetrics.RPC_SYSTEM, "ferry",
        FerryMetrics.RPC_SERVICE, SERVICE, FerryMetrics.RPC_METHOD, "Get", FerryMetrics.STATUS_CODE, "OK")
        .functionTimer();
    assertThat(ok.count()).isEqualTo(3);
    assertThat(ok.totalTime(TimeUnit.NANOSECONDS)).isPositive();
    assertThat(ok.getId().getBaseUnit()).isEqualTo("seconds");
    assertThat(registry.get(FerryMetrics.SERVER_CALL_DURATION).tag(FerryMetrics.STATUS_CODE, "NOT_FOUND")
        .functionTimer().count()).isEqualTo(1);
    FunctionCounter requestBytes = registry.get(FerryMetrics.SERVER_REQUEST_BYTES).tag(FerryMetrics.RPC_METHOD, "Get")
        .functionCounter();
    assertThat(requestBytes.getId().getBaseUnit()).isEqualTo("bytes");
    assertThat(requestBytes.count()).isEqualTo(3 * 3 + 9);
    assertThat(registry.get(FerryMetrics.SERVER_RESPONSE_BYTES).functionCounter().count())
        .as("OK responses only").isEqualTo(3 * 12);
    assertThat(registry.find(FerryMetrics.SERVER_REQUEST_SIZE).meters()).as("only with size buckets").isEmpty();
    assertThat(registry.get(FerryMetrics.SERVER_CALLS_STARTED).tag(FerryMetrics.RPC_METHOD, "Get").functionCounter()
        .count()).isEqualTo(4);
    assertThat(registry.get(FerryMetrics.SERVER_CALLS_ACTIVE).tag(FerryMetrics.RPC_METHOD, "Get").gauge().value())
        .isZero();
    assertThat(registry.get(FerryMetrics.SERVER_CONNECTIONS).gauge().value()).isEqualTo(PoolOptions.DEFAULT_SIZE);

    // Client: the same, tagged with the target the channel was built with.
    String port = Integer.toString(server.port());
    FunctionTimer clientOk = registry.get(FerryMetrics.CLIENT_CALL_DURATION).tags(FerryMetrics.RPC_SYSTEM, "ferry",
        FerryMetrics.SERVER_ADDRESS, "127.0.0.1", FerryMetrics.SERVER_PORT, port, FerryMetrics.RPC_SERVICE, SERVICE,
        FerryMetrics.RPC_METHOD, "Get", FerryMetrics.STATUS_CODE, "OK").functionTimer();
    assertThat(clientOk.count()).isEqualTo(3);
    assertThat(clientOk.getId().getBaseUnit()).isEqualTo("seconds");
    assertThat(registry.get(FerryMetrics.CLIENT_CALL_DURATION).tag(FerryMetrics.STATUS_CODE, "NOT_FOUND")
        .functionTimer().count()).isEqualTo(1);
    assertThat(registry.get(FerryMetrics.CLIENT_REQUEST_BYTES).functionCounter().count()).isEqualTo(3 * 3 + 9);
    assertThat(registry.get(FerryMetrics.CLIENT_RESPONSE_BYTES).functionCounter().count()).isEqualTo(3 * 12);
    assertThat(registry.get(FerryMetrics.CLIENT_CALLS_STARTED).tag(FerryMetrics.SERVER_PORT, port).functionCounter()
        .count()).isEqualTo(4);
    assertThat(registry.get(FerryMetrics.CLIENT_CALLS_ACTIVE).gauge().value()).isZero();
    assertThat(registry.get(FerryMetrics.CLIENT_CALLS_WAITING).gauge().value()).isZero();
    await().atMost(Duration.ofSeconds(10)).until(() ->
        registry.get(FerryMetrics.CLIENT_CONNECTIONS).tag(FerryMetrics.STATE, "ready").gauge().value()
            == PoolOptions.DEFAULT_SIZE);
    assertThat(registry.get(FerryMetrics.CLIENT_CONNECTIONS).tag(FerryMetrics.STATE, "connecting").gauge().value())
        .isZero();
    assertThat(registry.get(FerryMetrics.CLIENT_STATE_CHANGES).tag(FerryMetrics.STATE, "READY").counter().count())
        .isEqualTo(1);

    // No meter is tagged with anything that names a peer.
    for (Meter meter : registry.getMeters()) {
      Set<String> keys = meter.getId().getTags().stream().map(Tag::getKey).collect(Collectors.toSet());
      assertThat(ALLOWED_TAGS).as(meter.getId().toString()).containsAll(keys);
      assertThat(meter.getId().getTag(FerryMetrics.RPC_SYSTEM)).isEqualTo("ferry");
      if (meter.getId().getName().startsWith("rpc.server") || meter.getId().getName().startsWith("ferry.server")) {
        assertThat(keys).as(meter.getId().toString())
            .doesNotContain(FerryMetrics.SERVER_ADDRESS, FerryMetrics.SERVER_PORT);
      }
    }
  }

  @Test
  void withBucketsDurationsAndSizesAreHistograms() throws Exception {
    SimpleMeterRegistry histograms = new SimpleMeterRegistry();
    FerryMetrics detailed = FerryMetrics.builder(histograms)
        .durationBuckets(FerryMetrics.RECOMMENDED_DURATION_BUCKETS).sizeBuckets(16, 1024).build();
    ServiceDefinition store = ServiceDefinition.builder(SERVICE).unary(GET, (r, c) -> {
      if (r.getValue().equals("missing")) {
        throw new FerryException(StatusCode.NOT_FOUND, "no such key");
      }
      return StringValue.of("value of " + r.getValue());
    }).build();
    FerryServer server = FerryServer.builder().host("127.0.0.1").port(0).addService(store)
        .addListener(detailed.serverListener()).build().start();
    resources.add(server::shutdownNow);
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port())
        .addListener(detailed.channelListener()).build();
    resources.add(channel);
    fourCalls(channel);

    for (String name : List.of(FerryMetrics.SERVER_CALL_DURATION, FerryMetrics.CLIENT_CALL_DURATION)) {
      Timer ok = histograms.get(name).tags(FerryMetrics.RPC_METHOD, "Get", FerryMetrics.STATUS_CODE, "OK").timer();
      assertThat(ok.count()).isEqualTo(3);
      assertThat(ok.getId().getBaseUnit()).isEqualTo("seconds");
      assertThat(ok.takeSnapshot().histogramCounts()).hasSize(FerryMetrics.RECOMMENDED_DURATION_BUCKETS.length);
      assertThat(histograms.get(name).tag(FerryMetrics.STATUS_CODE, "NOT_FOUND").timer().count()).isEqualTo(1);
    }
    for (String side : List.of("server", "client")) {
      DistributionSummary requests = histograms.get("rpc." + side + ".request.size").summary();
      assertThat(requests.getId().getBaseUnit()).isEqualTo("bytes");
      assertThat(requests.count()).isEqualTo(4);
      assertThat(requests.totalAmount()).isEqualTo(3 * 3 + 9);
      assertThat(requests.takeSnapshot().histogramCounts()).hasSize(2);
      DistributionSummary responses = histograms.get("rpc." + side + ".response.size").summary();
      assertThat(responses.count()).as("OK responses only").isEqualTo(3);
      assertThat(responses.totalAmount()).isEqualTo(3 * 12);
    }
  }

  @Test
  void tenThousandCallsToRandomUnknownMethodsMakeOneSeries() throws Exception {
    FerryServer server = server();
    FerryChannel channel = channel(server.port());
    Random random = new Random(16);
    Semaphore window = new Semaphore(256);
    List<CompletableFuture<StringValue>> calls = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      // Both made-up services and made-up methods of the served one.
      String name = (i % 2 == 0 ? "scan" + random.nextInt(1_000_000) + ".Svc" : SERVICE) + "/M" + random.nextLong();
      MethodDescriptor<StringValue, StringValue> unknown =
          MethodDescriptor.of(name, StringValue.parser(), StringValue.parser());
      window.acquire();
      CompletableFuture<StringValue> call = channel.call(unknown, StringValue.of("x"), TEN_SECONDS);
      call.whenComplete((r, e) -> window.release());
      calls.add(call);
    }
    for (CompletableFuture<StringValue> call : calls) {
      assertThat(call).failsWithin(Duration.ofSeconds(10));
    }

    assertThat(series(FerryMetrics.SERVER_CALL_DURATION)).containsExactly(
        "rpc.method=_OTHER rpc.response.status_code=UNIMPLEMENTED rpc.service=_OTHER rpc.system=ferry");
    assertThat(series(FerryMetrics.SERVER_CALLS_STARTED)).containsExactly(
        "rpc.method=_OTHER rpc.service=_OTHER rpc.system=ferry");
    assertThat(registry.get(FerryMetrics.SERVER_CALL_DURATION).functionTimer().count()).isEqualTo(10_000);
    assertThat(series(FerryMetrics.CLIENT_CALL_DURATION)).containsExactly("rpc.method=_OTHER "
        + "rpc.response.status_code=UNIMPLEMENTED rpc.service=_OTHER rpc.system=ferry server.address=127.0.0.1 "
        + "server.port=" + server.port());
    assertThat(registry.get(FerryMetrics.CLIENT_CALL_DURATION).functionTimer().count()).isEqualTo(10_000);
    assertThat(registry.getMeters().stream().map(m -> m.getId().getTag(FerryMetrics.RPC_METHOD))
        .filter(m -> m != null && !m.equals(FerryMetrics.OTHER))).isEmpty();
  }

  /** The tag sets of the meters named {@code name}, as text, tags in key order. */
  private List<String> series(String name) {
    return registry.find(name).meters().stream()
        .map(m -> m.getId().getTags().stream().map(t -> t.getKey() + "=" + t.getValue()).sorted()
            .collect(Collectors.joining(" ")))
        .collect(Collectors.toList());
  }

  @Test
  void aChannelNamesAtMostMaxClientMethodsMethods() throws Exception {
    FerryMetrics capped = FerryMetrics.builder(registry).maxClientMethods(2).build();
    int port;
    try (ServerSocket unused = new ServerSocket(0)) {
      port = unused.getLocalPort(); // closed again: nobody listens there, calls fail fast
    }
    FerryChannel channel = FerryChannel.builder("127.0.0.1", port).addListener(capped.channelListener()).build();
    resources.add(channel);
    for (int i = 0; i < 5; i++) {
      MethodDescriptor<StringValue, StringValue> m =
          MethodDescriptor.of(SERVICE + "/M" + i, StringValue.parser(), StringValue.parser());
      assertThat(channel.call(m, StringValue.of("x"), TEN_SECONDS)).failsWithin(Duration.ofSeconds(10));
    }
    Set<String> methods = new HashSet<>();
    registry.find(FerryMetrics.CLIENT_CALL_DURATION).functionTimers()
        .forEach(t -> methods.add(t.getId().getTag(FerryMetrics.RPC_METHOD)));
    assertThat(methods).containsExactlyInAnyOrder("M0", "M1", FerryMetrics.OTHER);
  }

  @Test
  void goAwaysReconnectsAndStateChangesAreCounted() throws Exception {
    var builder = FerryServer.builder().host("127.0.0.1").port(0).maxConnectionIdle(Duration.ofMillis(200))
        .addService(ServiceDefinition.builder(SERVICE).unary(GET, (r, c) -> r).build())
        .addListener(metrics.serverListener());
    FerryServer server = builder.build().start();
    resources.add(server::shutdownNow);
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).build()).addListener(metrics.channelListener()).build();
    resources.add(channel);

    channel.blockingCall(GET, StringValue.of("a"), TEN_SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.state() == ChannelState.IDLE);
    channel.blockingCall(GET, StringValue.of("b"), TEN_SECONDS);

    assertThat(registry.get(FerryMetrics.SERVER_GOAWAYS_SENT).counter().count()).isEqualTo(1);
    assertThat(registry.get(FerryMetrics.CLIENT_GOAWAYS_RECEIVED).counter().count()).isEqualTo(1);
    assertThat(registry.get(FerryMetrics.CLIENT_RECONNECTS).counter().count()).isEqualTo(1);
    assertThat(registry.get(FerryMetrics.CLIENT_STATE_CHANGES).tag(FerryMetrics.STATE, "READY").counter().count())
        .isEqualTo(2);
    assertThat(registry.get(FerryMetrics.CLIENT_STATE_CHANGES).tag(FerryMetrics.STATE, "IDLE").counter().count())
        .isEqualTo(1);
    assertThat(registry.get(FerryMetrics.CLIENT_RETRIES).counter().count()).isZero();
    assertThat(registry.get(FerryMetrics.SERVER_HEARTBEAT_TIMEOUTS).counter().count()).isZero();
    channel.close();
    assertThat(registry.get(FerryMetrics.CLIENT_CONNECTIONS).tag(FerryMetrics.STATE, "ready").gauge().value())
        .as("a terminated channel counts no more").isZero();
  }

  @Test
  void balancerEjectionsAreCounted() throws Exception {
    FerryServer healthy = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(ServiceDefinition.builder(SERVICE).unary(GET, (r, c) -> r).build()).build().start();
    resources.add(healthy::shutdownNow);
    FerryServer failing = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(ServiceDefinition.builder(SERVICE).unary(GET, (r, c) -> {
          throw new FerryException(StatusCode.UNAVAILABLE, "out of order");
        }).build()).build().start();
    resources.add(failing::shutdownNow);
    // Round robin: every other call goes to the failing server, whatever the timing.
    FerryChannel channel = FerryChannel.builder("static://127.0.0.1:" + healthy.port() + ",127.0.0.1:" + failing.port())
        .balancer(BalancerOptions.builder().policy(BalancerOptions.Policy.ROUND_ROBIN).build())
        .addListener(metrics.channelListener()).build();
    resources.add(channel);
    int failures = 0;
    for (int i = 0; i < 100 && registry.get(FerryMetrics.CLIENT_EJECTIONS).counter().count() == 0; i++) {
      failures += channel.call(GET, StringValue.of("x"), TEN_SECONDS).handle((v, t) -> t == null ? 0 : 1).get();
    }
    assertThat(registry.get(FerryMetrics.CLIENT_EJECTIONS).counter().count()).isEqualTo(1);
    assertThat(failures).as("ejected on its fifth failure in a row").isEqualTo(BalancerOptions.DEFAULT_CONSECUTIVE_FAILURES);
    assertThat(registry.get(FerryMetrics.CLIENT_EJECTIONS).counter().getId().getTag(FerryMetrics.SERVER_ADDRESS))
        .as("the target, never the ejected server's address")
        .isEqualTo("127.0.0.1:" + healthy.port() + ",127.0.0.1:" + failing.port());
  }

  @Test
  void aChannelListenerServesOneChannel() {
    ChannelListener listener = metrics.channelListener();
    listener.channelCreated(new FixedStats("a.example", 1));
    assertThatThrownBy(() -> listener.channelCreated(new FixedStats("b.example", 2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("a new channelListener() per channel");
  }

  @Test
  void optionsAreChecked() {
    assertThatThrownBy(() -> FerryMetrics.builder(registry).durationBuckets(Duration.ofMillis(-1)))
        .hasMessage("durationBuckets: PT-0.001S (expected: > 0)");
    assertThatThrownBy(() -> FerryMetrics.builder(registry).sizeBuckets(0))
        .hasMessage("sizeBuckets: 0 (expected: > 0)");
    assertThatThrownBy(() -> FerryMetrics.builder(registry).maxClientMethods(-1))
        .hasMessage("maxClientMethods: -1 (expected: >= 0)");
    FerryMetrics noHistogram = FerryMetrics.builder(new SimpleMeterRegistry()).durationBuckets().build();
    assertThat(noHistogram.durationBuckets).isEmpty();
  }

  private record FixedStats(String host, int port) implements ChannelStats {
    @Override
    public ChannelState state() {
      return ChannelState.IDLE;
    }

    @Override
    public int activeCalls() {
      return 0;
    }

    @Override
    public int waitingCalls() {
      return 0;
    }

    @Override
    public int connectingConnections() {
      return 0;
    }

    @Override
    public int readyConnections() {
      return 0;
    }

    @Override
    public int drainingConnections() {
      return 0;
    }
  }
}
