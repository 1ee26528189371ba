package dev.ferry.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerListener;
import dev.ferry.services.health.v1.HealthCheckRequest;
import dev.ferry.services.health.v1.HealthCheckResponse;
import dev.ferry.services.health.v1.HealthCheckResponse.ServingStatus;
import dev.ferry.services.health.v1.HealthListRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The health service over the wire: statuses, NOT_FOUND, NOT_SERVING before a shutdown's GOAWAY, and
 * Watch (changes, unknown services, coalescing for slow readers, the end at shutdown).
 */
class HealthServiceTest {
  private static final String KV = "ferry.examples.kvstore.KvStore";
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  private final HealthService health = HealthService.create();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private FerryServer server(ServerListener... more) throws Exception {
    var builder = FerryServer.builder().host("127.0.0.1").port(0).addService(health.service())
        .addListener(health.shutdownListener());
    for (ServerListener l : more) {
      builder.addListener(l);
    }
    FerryServer server = builder.build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  private FerryChannel channel(FerryServer server, ChannelListener... listeners) {
    var builder = FerryChannel.builder("127.0.0.1", server.port());
    for (ChannelListener l : listeners) {
      builder.addListener(l);
    }
    FerryChannel channel = builder.build();
    resources.add(channel);
    return channel;
  }

  private static ServingStatus check(FerryChannel channel, String service) {
    return channel.blockingCall(HealthService.CHECK, HealthCheckRequest.newBuilder().setService(service).build(),
        TEN_SECONDS).getStatus();
  }

  @Test
  void answersTheStatusesTheApplicationSets() throws Exception {
    FerryChannel channel = channel(server());
    assertThat(check(channel, "")).isEqualTo(ServingStatus.SERVING);
    assertThatThrownBy(() -> check(channel, KV))
        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND))
        .hasMessageContaining("no health status for service \"" + KV + "\"");

    health.setStatus(KV, ServingStatus.NOT_SERVING);
    assertThat(check(channel, KV)).isEqualTo(ServingStatus.NOT_SERVING);
    health.setStatus(KV, ServingStatus.SERVING);
    assertThat(check(channel, KV)).isEqualTo(ServingStatus.SERVING);
    health.setStatus("other.Service", ServingStatus.NOT_SERVING);
    Map<String, ServingStatus> all = new java.util.TreeMap<>();
    channel.blockingCall(HealthService.LIST, HealthListRequest.getDefaultInstance(), TEN_SECONDS).getStatusesMap()
        .forEach((name, response) -> all.put(name, response.getStatus()));
    assertThat(all).containsExactly(Map.entry("", ServingStatus.SERVING), Map.entry(KV, ServingStatus.SERVING),
        Map.entry("other.Service", ServingStatus.NOT_SERVING));

    health.clearStatus(KV);
    assertThatThrownBy(() -> check(channel, KV)).isInstanceOf(FerryException.class);
    assertThatThrownBy(() -> health.setStatus(KV, ServingStatus.UNKNOWN))
        .hasMessage("status: UNKNOWN (expected: SERVING or NOT_SERVING)");
  }

  /**
   * A health check that reaches the server after its shutdown started, but before it sent GOAWAY, is
   * answered NOT_SERVING, and the answer reaches the client before the GOAWAY does. The check is made
   * from a listener added after the health service's, on the thread that called shutdown: the server
   * sends no GOAWAY until its listeners have returned, so this is exactly that window.
   */
  @Test
  void answersNotServingBeforeTheGoAway() throws Exception {
    AtomicInteger goAwaysSeen = new AtomicInteger();
    ChannelListener countGoAways = new ChannelListener() {
      @Override
      public void goAwayReceived() {
        goAwaysSeen.incrementAndGet();
      }
    };
    AtomicReference<FerryChannel> probe = new AtomicReference<>();
    AtomicReference<ServingStatus> answerDuringShutdown = new AtomicReference<>();
    AtomicInteger goAwaysBeforeTheAnswer = new AtomicInteger(-1);
    ServerListener probeAtShutdown = new ServerListener() {
      @Override
      public void shutdownStarted() {
        answerDuringShutdown.set(check(probe.get(), ""));
        goAwaysBeforeTheAnswer.set(goAwaysSeen.get());
      }
    };
    FerryServer server = server(probeAtShutdown);
    probe.set(channel(server, countGoAways));
    assertThat(check(probe.get(), "")).isEqualTo(ServingStatus.SERVING);

    server.shutdown(Duration.ofSeconds(5));

    assertThat(answerDuringShutdown.get()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(goAwaysBeforeTheAnswer.get()).as("GOAWAYs the client had seen when the answer came").isZero();
    await().atMost(Duration.ofSeconds(10)).until(() -> goAwaysSeen.get() >= 1); // the GOAWAY does come, after
    assertThat(health.status("")).isEqualTo(ServingStatus.NOT_SERVING);
  }

  @Test
  void afterShutdownEverythingStaysNotServing() {
    health.setStatus(KV, ServingStatus.SERVING);
    health.enterShutdown();
    health.setStatus(KV, ServingStatus.SERVING);
    health.setStatus("late.Service", ServingStatus.SERVING);
    assertThat(health.status("")).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health.status(KV)).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health.status("late.Service")).isNull();
  }

  private static HealthCheckRequest request(String service) {
    return HealthCheckRequest.newBuilder().setService(service).build();
  }

  private static StreamReader<HealthCheckResponse> watch(FerryChannel channel, String service) {
    return channel.serverStream(HealthService.WATCH, request(service), TEN_SECONDS);
  }

  @Test
  void watchSendsTheStatusAtOnceThenEachChangeAndWaitsForUnknownServices() throws Exception {
    FerryChannel channel = channel(server());
    try (StreamReader<HealthCheckResponse> server = watch(channel, "");
        StreamReader<HealthCheckResponse> kv = watch(channel, KV)) {
      assertThat(server.next().getStatus()).isEqualTo(ServingStatus.SERVING);
      assertThat(kv.next().getStatus()).as("no status yet: the stream stays open")
          .isEqualTo(ServingStatus.SERVICE_UNKNOWN);
      health.setStatus(KV, ServingStatus.SERVING);
      assertThat(kv.next().getStatus()).isEqualTo(ServingStatus.SERVING);
      health.setStatus(KV, ServingStatus.SERVING); // no change: nothing sent
      health.setStatus("other.Service", ServingStatus.NOT_SERVING); // another service: nothing sent here
      health.setStatus(KV, ServingStatus.NOT_SERVING);
      assertThat(kv.next().getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
      health.clearStatus(KV);
      assertThat(kv.next().getStatus()).isEqualTo(ServingStatus.SERVICE_UNKNOWN);
      assertThat(health.watchers()).isEqualTo(2);
    }
    // Closing a reader cancels its watch: the service forgets the watcher.
    await().atMost(Duration.ofSeconds(10)).until(() -> health.watchers() == 0);
  }

  /**
   * A watcher that does not read gets the latest status, not every one. Its client's window is 1 byte:
   * the first status uses it up, and the server gets no more credit until the client reads. The
   * thousand changes made meanwhile wait as one, the latest.
   */
  @Test
  void aSlowWatcherGetsTheLatestStatusNotEveryChange() throws Exception {
    FerryServer server = server();
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).streamWindow(1).build();
    resources.add(channel);
    health.setStatus(KV, ServingStatus.SERVING);
    try (StreamReader<HealthCheckResponse> kv = watch(channel, KV)) {
      // Registered: its first status was sent then, on the credit the window gave.
      await().atMost(Duration.ofSeconds(10)).until(() -> health.watchers() == 1);
      for (int i = 0; i < 1000; i++) {
        health.setStatus(KV, i % 2 == 0 ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
      }
      health.clearStatus(KV);
      assertThat(kv.next().getStatus()).isEqualTo(ServingStatus.SERVING);
      assertThat(kv.next().getStatus()).as("the latest status, sent once the client read the first")
          .isEqualTo(ServingStatus.SERVICE_UNKNOWN);
      health.setStatus(KV, ServingStatus.NOT_SERVING);
      assertThat(kv.next().getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    }
  }

  /**
   * A graceful shutdown sends NOT_SERVING to every watcher before the GOAWAY, then ends each watch with
   * OK, so that watches do not hold the shutdown for its grace period. The messages are taken on the
   * connection's event loop as they arrive (a Flow subscriber), where the GOAWAY is heard too: the order
   * seen is the order on the wire.
   */
  @Test
  void shutdownSendsNotServingToEveryWatcherBeforeTheGoAwayThenEndsTheWatch() throws Exception {
    AtomicInteger goAwaysSeen = new AtomicInteger();
    ChannelListener countGoAways = new ChannelListener() {
      @Override
      public void goAwayReceived() {
        goAwaysSeen.incrementAndGet();
      }
    };
    FerryServer server = server();
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).build()).addListener(countGoAways).build();
    resources.add(channel);
    health.setStatus(KV, ServingStatus.SERVING);
    Watch whole = new Watch(goAwaysSeen);
    Watch kv = new Watch(goAwaysSeen);
    Watch unknown = new Watch(goAwaysSeen);
    CallOptions noDeadline = CallOptions.builder().build();
    channel.serverStreamPublisher(HealthService.WATCH, request(""), noDeadline).subscribe(whole);
    channel.serverStreamPublisher(HealthService.WATCH, request(KV), noDeadline).subscribe(kv);
    channel.serverStreamPublisher(HealthService.WATCH, request("no.Such"), noDeadline).subscribe(unknown);
    await().atMost(Duration.ofSeconds(10)).until(() -> whole.seen.size() == 1 && kv.seen.size() == 1
        && unknown.seen.size() == 1);

    server.shutdown(Duration.ofSeconds(60));

    for (Watch w : List.of(whole, kv, unknown)) {
      w.end.get(10, java.util.concurrent.TimeUnit.SECONDS); // ended OK, long before the grace period
      assertThat(w.seen).last().isEqualTo("NOT_SERVING after 0 GOAWAYs");
    }
    assertThat(whole.seen).containsExactly("SERVING after 0 GOAWAYs", "NOT_SERVING after 0 GOAWAYs");
    assertThat(unknown.seen).containsExactly("SERVICE_UNKNOWN after 0 GOAWAYs", "NOT_SERVING after 0 GOAWAYs");
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).as("no watch holds the shutdown").isTrue();
    assertThat(goAwaysSeen).hasValue(1);
  }

  /** Records each status with the GOAWAYs heard before it, on the thread that delivers it. */
  private static final class Watch implements Flow.Subscriber<HealthCheckResponse> {
    final List<String> seen = new CopyOnWriteArrayList<>();
    final CompletableFuture<Void> end = new CompletableFuture<>();
    private final AtomicInteger goAways;

    Watch(AtomicInteger goAways) {
      this.goAways = goAways;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(HealthCheckResponse item) {
      seen.add(item.getStatus() + " after " + goAways.get() + " GOAWAYs");
    }

    @Override
    public void onError(Throwable t) {
      end.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      end.complete(null);
    }
  }
}
