package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.StatusCode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Channels built from a target: static and dns targets over several loopback addresses, the pickers,
 * GOAWAY and transparent retry across endpoints, resolver updates (coalesced, last good set kept),
 * endpoints leaving, and reconnect backoff on a fake clock.
 */
class MultiEndpointTest {
  private static final PoolOptions ONE = PoolOptions.builder().size(1).build();
  private final List<FakeServer> servers = new ArrayList<>();
  private final List<FerryChannel> channels = new ArrayList<>();
  private final FakeScheduler clock = new FakeScheduler();

  @AfterEach
  void closeAll() {
    for (FerryChannel c : channels) {
      c.shutdownNow();
      c.close();
    }
    for (FakeServer s : servers) {
      s.close();
    }
  }

  /** A server on {@code host} that echoes with its own address ("127.0.0.2:1234 x"). */
  private FakeServer server(String host, int port) {
    FakeServer server = FakeServer.start(host, port);
    servers.add(server);
    server.autoRespond(r -> r.respond(StringValue.of(server.address() + " " + r.string())));
    return server;
  }

  private FerryChannel build(FerryChannelBuilder b) {
    FerryChannel c = b.build();
    channels.add(c);
    return c;
  }

  /** {@code ip} (a literal: no lookup) named {@code host}, as the JDK's resolver returns a name's addresses. */
  private static InetAddress address(String host, String ip) {
    try {
      return InetAddress.getByAddress(host, InetAddress.getByName(ip).getAddress());
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private static String target(List<FakeServer> list) {
    StringBuilder b = new StringBuilder("static://");
    for (FakeServer s : list) {
      b.append(b.length() > 9 ? "," : "").append(s.address());
    }
    return b.toString();
  }

  /** Which server answered each of {@code n} calls, counted by address. */
  private static Map<String, Integer> calls(FerryChannel channel, int n) throws Exception {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      String answer = value(channel.call(ECHO, s("x"))).getValue();
      counts.merge(answer.substring(0, answer.indexOf(' ')), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void staticTargetSpreadsCallsOverServersOnSeveralLoopbackAddresses() throws Exception {
    List<FakeServer> three = List.of(server("127.0.0.1", 0), server("127.0.0.2", 0), server("127.0.0.3", 0));
    FerryChannel channel = build(FerryChannel.builder(target(three)).pool(ONE));
    Map<String, Integer> counts = calls(channel, 300);
    assertThat(counts.keySet()).containsExactlyInAnyOrder(three.get(0).address(), three.get(1).address(),
        three.get(2).address());
    assertThat(channel.state()).isEqualTo(ChannelState.READY);
    assertThat(channel.balancer().openConnections()).hasSize(3);
  }

  @Test
  void dnsTargetUsesEveryAddressOfTheNameAndFollowsItsChanges() throws Exception {
    FakeServer first = server("127.0.0.1", 0);
    int port = first.port();
    FakeServer second = server("127.0.0.2", port);
    FakeServer third = server("127.0.0.3", port);
    AtomicReference<List<String>> records = new AtomicReference<>(List.of("127.0.0.1", "127.0.0.2", "127.0.0.3"));
    List<String> looked = new CopyOnWriteArrayList<>();
    DnsNameResolver.Lookup lookup = host -> {
      looked.add(host);
      if (records.get().isEmpty()) {
        return CompletableFuture.failedFuture(new java.net.UnknownHostException(host + ": no such name"));
      }
      List<InetAddress> addresses = new ArrayList<>();
      for (String ip : records.get()) {
        addresses.add(address(host, ip));
      }
      return CompletableFuture.completedFuture(addresses);
    };
    FerryChannel channel = build(FerryChannel.builder("dns:///fleet.test:" + port).pool(ONE).dnsLookup(lookup)
        .scheduler(clock).resolverOptions(ResolverOptions.builder().refreshInterval(Duration.ofSeconds(10)).build()));
    assertThat(looked).containsExactly("fleet.test");
    assertThat(calls(channel, 300).keySet()).containsExactlyInAnyOrder(first.address(), second.address(),
        third.address());

    records.set(List.of("127.0.0.1", "127.0.0.2"));
    clock.advance(Duration.ofSeconds(10)); // the refresh interval: looks again
    assertThat(looked).hasSize(2);
    clock.advance(ResolverOptions.DEFAULT_UPDATE_DELAY); // the coalescing window closes
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.balancer().openConnections().size() == 2);
    assertThat(calls(channel, 100).keySet()).containsExactlyInAnyOrder(first.address(), second.address());

    // A lookup that fails keeps the endpoints the channel has.
    records.set(List.of());
    clock.advance(Duration.ofSeconds(11));
    assertThat(calls(channel, 50).keySet()).containsExactlyInAnyOrder(first.address(), second.address());
  }

  @Test
  void dnsRefreshesThatTheChannelAsksForComeAtMostOnceASecond() {
    List<Long> lookups = new CopyOnWriteArrayList<>();
    DnsNameResolver resolver = new DnsNameResolver("fleet.test", 7070, host -> {
      lookups.add(clock.nanoTime());
      return CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));
    }, clock, Duration.ofSeconds(30));
    List<List<Endpoint>> results = new CopyOnWriteArrayList<>();
    resolver.start(new NameResolver.Listener() {
      @Override
      public void onEndpoints(List<Endpoint> endpoints) {
        results.add(endpoints);
      }

      @Override
      public void onError(String description, Throwable cause) {
        throw new AssertionError(description, cause);
      }
    });
    assertThat(results).hasSize(1);
    assertThat(results.get(0)).extracting(Endpoint::port).containsExactly(7070);
    for (int i = 0; i < 5; i++) {
      resolver.refresh(); // a burst of connection failures
    }
    assertThat(lookups).hasSize(1);
    clock.advance(Duration.ofMillis(999));
    assertThat(lookups).hasSize(1);
    clock.advance(Duration.ofMillis(1));
    assertThat(lookups).as("one lookup for the burst, a second after the last").hasSize(2);
    clock.advance(Duration.ofSeconds(29));
    assertThat(lookups).hasSize(2);
    clock.advance(Duration.ofSeconds(1));
    assertThat(lookups).as("then every refresh interval").hasSize(3);
    resolver.shutdown();
    clock.advance(Duration.ofMinutes(5));
    assertThat(lookups).hasSize(3);
  }

  @Test
  void aCallTheServerDidNotProcessMovesToAnotherEndpoint() throws Exception {
    FakeServer a = server("127.0.0.1", 0);
    FakeServer b = server("127.0.0.2", 0);
    AtomicBoolean goneAway = new AtomicBoolean();
    List<String> refusedBy = new CopyOnWriteArrayList<>();
    for (FakeServer s : List.of(a, b)) {
      s.autoRespond(r -> {
        if (goneAway.compareAndSet(false, true)) {
          refusedBy.add(s.address());
          FakeServer.goAway(r.channel(), 0, "restarting"); // last id 0: this request was not processed
        } else {
          r.respond(StringValue.of(s.address() + " " + r.string()));
        }
      });
    }
    FerryChannel channel = build(FerryChannel.builder(target(List.of(a, b)))
        .pool(PoolOptions.builder().size(1).eager(true).build()));
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.balancer().readyConnections().size() == 2);

    String answer = value(channel.call(ECHO, s("moved"))).getValue();
    assertThat(refusedBy).hasSize(1);
    assertThat(answer).as("answered by the other server").doesNotStartWith(refusedBy.get(0)).endsWith(" moved");
  }

  @Test
  void anEndpointThatSentGoawayGetsNoCallsUntilItHasANewConnection() throws Exception {
    FakeServer a = server("127.0.0.1", 0);
    FakeServer b = server("127.0.0.2", 0);
    FerryChannel channel = build(FerryChannel.builder(target(List.of(a, b)))
        .pool(PoolOptions.builder().size(2).eager(true).build()));
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.balancer().readyConnections().size() == 4);
    a.stopListening(); // its replacement connections are refused
    FakeServer.goAway(a.connections.take(), 0, "shutting down");
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.balancer().readyConnections().size() == 3);
    // Its other connection still looks ready, but the endpoint is suspect: the picker leaves it out.
    assertThat(calls(channel, 100).keySet()).containsExactly(b.address());
  }

  @Test
  void pickersChooseAsTheirPolicySays() throws Exception {
    List<FakeServer> three = List.of(server("127.0.0.1", 0), server("127.0.0.2", 0), server("127.0.0.3", 0));
    Random seeded = new Random(42);
    FerryChannel p2c = build(FerryChannel.builder(target(three)).random(seeded::nextDouble).scheduler(clock)
        .pool(PoolOptions.builder().size(1).eager(true).build()));
    await().atMost(Duration.ofSeconds(10)).until(() -> p2c.balancer().readyConnections().size() == 3);
    Balancer balancer = p2c.balancer();
    List<Subchannel> endpoints;
    synchronized (balancer) {
      endpoints = balancer.subchannels();
    }
    long now = clock.nanoTime();
    balancer.record(endpoints.get(0), now, 10_000_000, StatusCode.OK, true); // 10 ms: the slow one
    balancer.record(endpoints.get(1), now, 1_000_000, StatusCode.OK, true);
    balancer.record(endpoints.get(2), now, 1_000_000, StatusCode.OK, true);
    assertThat(picks(balancer, 300).get(endpoints.get(0))).as("the slow endpoint loses every draw").isNull();

    // Load counts too: an endpoint holding many calls costs more than a slower idle one.
    List<ClientConnection> held = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      held.add(endpoints.get(1).acquire());
      held.add(endpoints.get(2).acquire());
    }
    // It wins every draw it is in (two in three): far more than a fair third.
    assertThat(picks(balancer, 300).get(endpoints.get(0))).isGreaterThan(170);
    held.forEach(ClientConnection::release);

    // The excluded endpoint (a call just moved off it) is never chosen while another can take the call.
    Map<Subchannel, Integer> excluding = new HashMap<>();
    for (int i = 0; i < 200; i++) {
      ClientConnection c = balancer.picker().pick(endpoints.get(1));
      excluding.merge(c.subchannel(), 1, Integer::sum);
      c.release();
    }
    assertThat(excluding).doesNotContainKey(endpoints.get(1));

    FerryChannel rr = build(FerryChannel.builder(target(three)).scheduler(clock)
        .balancer(BalancerOptions.builder().policy(BalancerOptions.Policy.ROUND_ROBIN).build())
        .pool(PoolOptions.builder().size(1).eager(true).build()));
    await().atMost(Duration.ofSeconds(10)).until(() -> rr.balancer().readyConnections().size() == 3);
    assertThat(picks(rr.balancer(), 300).values()).containsExactly(100, 100, 100);

    FerryChannel first = build(FerryChannel.builder(target(three)).scheduler(clock)
        .balancer(BalancerOptions.builder().policy(BalancerOptions.Policy.PICK_FIRST).build()).pool(ONE));
    assertThat(calls(first, 50)).containsOnlyKeys(three.get(0).address());
    assertThat(first.balancer().openConnections()).as("pick-first connects the first only").hasSize(1);
  }

  private static Map<Subchannel, Integer> picks(Balancer balancer, int n) {
    Map<Subchannel, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      ClientConnection c = balancer.picker().pick(null);
      counts.merge(c.subchannel(), 1, Integer::sum);
      c.release();
    }
    return counts;
  }

  @Test
  void anEndpointTheResolverDropsFinishesItsCallsThenCloses() throws Exception {
    FakeServer a = server("127.0.0.1", 0);
    FakeServer b = server("127.0.0.2", 0);
    a.autoRespond(null); // a answers only when told
    TestResolver resolver = new TestResolver();
    FerryChannel channel = build(FerryChannel.builder("test://fleet").resolverProvider(resolver.provider())
        .scheduler(clock).balancer(BalancerOptions.builder().policy(BalancerOptions.Policy.PICK_FIRST).build())
        .pool(ONE));
    resolver.set(Endpoint.of("127.0.0.1", a.port()), Endpoint.of("127.0.0.2", b.port()));
    CompletableFuture<StringValue> inFlight = channel.call(ECHO, s("slow"));
    FakeServer.FakeRequest request = a.nextRequest();

    resolver.set(Endpoint.of("127.0.0.2", b.port()));
    clock.advance(ResolverOptions.DEFAULT_UPDATE_DELAY);
    assertThat(calls(channel, 20)).containsOnlyKeys(b.address());
    assertThat(inFlight).isNotDone();
    assertThat(channel.balancer().openConnections()).as("a's connection drains").hasSize(2);

    request.respond(s("done"));
    assertThat(value(inFlight).getValue()).isEqualTo("done");
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.balancer().openConnections().size() == 1);
  }

  @Test
  void resolverUpdatesAreCoalescedAndAnEmptyListOrAnErrorKeepsTheLastGoodSet() throws Exception {
    FakeServer a = server("127.0.0.1", 0);
    FakeServer b = server("127.0.0.2", 0);
    TestResolver resolver = new TestResolver();
    FerryChannel channel = build(FerryChannel.builder("test://fleet").resolverProvider(resolver.provider())
        .scheduler(clock).pool(ONE));
    resolver.set(Endpoint.of("127.0.0.1", a.port()));
    assertThat(endpoints(channel)).as("the first list, at once").containsExactly("127.0.0.1:" + a.port());

    resolver.set(Endpoint.of("127.0.0.2", b.port()));
    resolver.set();
    resolver.listener.onError("registry unreachable", null);
    resolver.set(Endpoint.of("127.0.0.1", a.port()), Endpoint.of("127.0.0.2", b.port()));
    clock.advance(Duration.ofMillis(999));
    assertThat(endpoints(channel)).containsExactly("127.0.0.1:" + a.port());
    clock.advance(Duration.ofMillis(1));
    assertThat(endpoints(channel)).as("the last list of the burst, once")
        .containsExactly("127.0.0.1:" + a.port(), "127.0.0.2:" + b.port());

    resolver.set();
    resolver.listener.onError("registry unreachable", null);
    clock.advance(Duration.ofSeconds(5));
    assertThat(endpoints(channel)).containsExactly("127.0.0.1:" + a.port(), "127.0.0.2:" + b.port());
    assertThat(calls(channel, 100)).containsOnlyKeys(a.address(), b.address());
  }

  @Test
  void aResolverThatFailsBeforeFindingAnythingFailsCallsSayingWhy() {
    TestResolver resolver = new TestResolver();
    FerryChannel channel = build(FerryChannel.builder("test://fleet").resolverProvider(resolver.provider())
        .scheduler(clock));
    CompletableFuture<StringValue> waiting = channel.call(ECHO, s("x"));
    assertThat(channel.state()).isEqualTo(ChannelState.CONNECTING);
    resolver.listener.onError("no such service: fleet", null);
    assertThat(channel.state()).isEqualTo(ChannelState.TRANSIENT_FAILURE);
    assertThat(failure(waiting).getMessage()).contains("no such service: fleet");
    assertThat(failure(channel.call(ECHO, s("y"))).code()).isEqualTo(StatusCode.UNAVAILABLE);
  }

  @Test
  void failedConnectsAreRetriedAfterTheBackoffOnTheChannelsClock() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: connecting to it is refused
    }
    BackoffOptions backoff = BackoffOptions.of(Duration.ofSeconds(1), 2, Duration.ofSeconds(8), 0.2);
    FerryChannel channel = build(FerryChannel.builder("static://127.0.0.1:" + port).pool(ONE).scheduler(clock)
        .random(() -> 0.5).reconnectBackoff(backoff));
    assertThat(failure(channel.call(ECHO, s("x"))).getMessage()).contains("127.0.0.1:" + port);
    assertThat(channel.balancer().connectAttempts()).isEqualTo(1);
    assertThat(clock.pendingDelays()).contains(Duration.ofSeconds(1));
    clock.advance(Duration.ofMillis(999));
    assertThat(channel.balancer().connectAttempts()).isEqualTo(1);
    clock.advance(Duration.ofMillis(1));
    assertThat(channel.balancer().connectAttempts()).isEqualTo(2);
    await().atMost(Duration.ofSeconds(10)).until(() -> clock.pendingDelays().contains(Duration.ofSeconds(2)));
    clock.advance(Duration.ofSeconds(2));
    assertThat(channel.balancer().connectAttempts()).isEqualTo(3);
    assertThat(channel.state()).isEqualTo(ChannelState.TRANSIENT_FAILURE);
  }

  @Test
  void malformedTargetsAreRefusedSayingWhatWasExpected() {
    assertThatThrownBy(() -> FerryChannel.builder("localhost:7070")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected: a URI such as dns:///host:port");
    assertThatThrownBy(() -> FerryChannel.builder("static://h1:7070,h2").build())
        .hasMessageContaining("\"h2\" is not host:port");
    assertThatThrownBy(() -> FerryChannel.builder("dns://8.8.8.8/kv.internal:7070").build())
        .hasMessageContaining("names a DNS server");
    assertThatThrownBy(() -> FerryChannel.builder("nope://x").build())
        .hasMessageContaining("no name resolver for scheme \"nope\"");
    assertThatThrownBy(() -> FerryChannel.builder("zk://127.0.0.1:2181/svc").build())
        .hasMessageContaining("ferry-discovery-zookeeper");
    assertThat(StaticNameResolver.of("static://[::1]:7070,127.0.0.1:7071").endpoints())
        .extracting(Endpoint::host, Endpoint::port)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("::1", 7070),
            org.assertj.core.groups.Tuple.tuple("127.0.0.1", 7071));
  }

  private static List<String> endpoints(FerryChannel channel) {
    Balancer b = channel.balancer();
    List<String> out = new ArrayList<>();
    synchronized (b) {
      for (Subchannel s : b.subchannels()) {
        out.add(s.endpoint().host() + ":" + s.endpoint().port());
      }
    }
    return out;
  }

  /** A resolver the test drives by hand. */
  static final class TestResolver implements NameResolver {
    volatile Listener listener;

    NameResolverProvider provider() {
      TestResolver self = this;
      return new NameResolverProvider() {
        @Override
        public String scheme() {
          return "test";
        }

        @Override
        public NameResolver newResolver(URI target, Args args) {
          return self;
        }
      };
    }

    void set(Endpoint... endpoints) {
      listener.onEndpoints(List.of(endpoints));
    }

    @Override
    public String authority() {
      return "fleet";
    }

    @Override
    public void start(Listener listener) {
      this.listener = listener;
    }

    @Override
    public void shutdown() {}
  }
}
