package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.BytesValue;
import com.google.protobuf.ByteString;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.BackoffOptions;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.ChannelState;
import dev.ferry.client.ClientInternals;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.testing.FaultProxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The long-connection guarantees: servers that close idle connections, peers that vanish without a FIN,
 * servers that restart or shut down under load: callers see no error they could have been spared, and
 * calls on a dead connection fail fast, never hang.
 */
class LongConnectionTest {
  private static final BackoffOptions FAST_BACKOFF =
      BackoffOptions.of(Duration.ofMillis(20), 2, Duration.ofMillis(200), 0.2);

  private final TestService service = new TestService();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  private FerryServer server(int port, FerryServerBuilder options) throws Exception {
    FerryServer server = options.host("127.0.0.1").port(port).addService(service.definition()).build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  private static CallOptions within(Duration timeout) {
    return CallOptions.builder().timeout(timeout).build();
  }

  private static BytesValue echo(FerryChannel channel, String text) {
    return channel.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFromUtf8(text)),
        within(Duration.ofSeconds(10)));
  }

  private static FerryException failure(CompletableFuture<?> f, Duration within) {
    try {
      f.get(within.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(FerryException.class);
      return (FerryException) e.getCause();
    } catch (Exception e) {
      throw new AssertionError("call did not fail within " + within, e);
    }
    throw new AssertionError("call succeeded");
  }

  /** The field failure: a pool handing out connections the server had closed for idleness. */
  @Test
  void serverClosingIdleConnectionsCostsCallersNothing() throws Exception {
    FerryServer server = server(0, FerryServer.builder().maxConnectionIdle(Duration.ofSeconds(1)));
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
        .pool(PoolOptions.builder().size(3).build()).build());
    // Before the calls: the server's idle timers start after their last response, so later than this.
    long gapStart = System.nanoTime();
    List<CompletableFuture<BytesValue>> warmUp = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      warmUp.add(channel.call(TestService.ECHO, BytesValue.getDefaultInstance(), within(Duration.ofSeconds(10))));
    }
    CompletableFuture.allOf(warmUp.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);
    assertThat(proxy.acceptedConnections()).isEqualTo(3);

    // The idle gap: the server closes all three connections (with GOAWAY) after 1 s without calls, not before.
    await().atMost(Duration.ofSeconds(10)).until(() -> proxy.openConnections() == 0);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - gapStart)).isGreaterThanOrEqualTo(1_000);
    await().atMost(Duration.ofSeconds(5)).until(() -> channel.state() == ChannelState.IDLE);

    for (int i = 0; i < 20; i++) {
      assertThat(echo(channel, "sequential " + i).getValue().toStringUtf8()).isEqualTo("sequential " + i);
    }
    List<CompletableFuture<BytesValue>> concurrent = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      concurrent.add(channel.call(TestService.ECHO, BytesValue.of(ByteString.copyFromUtf8("c" + i)),
          within(Duration.ofSeconds(10))));
    }
    for (int i = 0; i < 20; i++) {
      assertThat(concurrent.get(i).get(10, TimeUnit.SECONDS).getValue().toStringUtf8()).isEqualTo("c" + i);
    }
    assertThat(ClientInternals.activeCalls(channel)).isZero();
  }

  @Test
  void eagerPoolReplacesConnectionsTheServerClosedWithoutCallerErrors() throws Exception {
    FerryServer server = server(0, FerryServer.builder().maxConnectionIdle(Duration.ofMillis(300)));
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
        .pool(PoolOptions.builder().size(2).eager(true).build()).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.state() == ChannelState.READY);
    // The server idles them out; the eager pool reopens them. Wait for two generations of replacements.
    await().atMost(Duration.ofSeconds(10)).until(() -> proxy.acceptedConnections() >= 6);
    for (int i = 0; i < 20; i++) {
      echo(channel, "after churn " + i);
    }
  }

  @Test
  void blackHoledServerIsDetectedWithinTheHeartbeatTimeoutAndReplaced() throws Exception {
    FerryServer server = server(0, FerryServer.builder().minClientPingInterval(Duration.ofMillis(50)));
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    AtomicInteger heartbeatDeaths = new AtomicInteger();
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
        .heartbeat(HeartbeatOptions.of(Duration.ofMillis(500), Duration.ofMillis(2000)))
        .reconnectBackoff(FAST_BACKOFF)
        .addListener(new ChannelListener() {
          @Override
          public void heartbeatTimedOut() {
            heartbeatDeaths.incrementAndGet();
          }
        })
        .build());
    echo(channel, "warm up");
    List<CompletableFuture<StringValue>> inFlight = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      inFlight.add(channel.call(TestService.HANG, StringValue.of("x"), within(Duration.ofSeconds(60))));
    }
    for (int i = 0; i < 5; i++) {
      assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();
    }

    int silenced = ClientInternals.openConnections(channel);
    proxy.blackHole();
    for (CompletableFuture<StringValue> call : inFlight) {
      // Failed by the heartbeat (the description says so), not by the 60 s deadline.
      FerryException e = failure(call, Duration.ofSeconds(10));
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).contains("sent nothing for").contains("heartbeat timeout")
          .contains("127.0.0.1:" + proxy.port());
    }

    // Every connection of the pool went silent with the black hole; the one without calls may reach its
    // timeout a little after the others (its last PONG came later). Until it does it is not known dead,
    // and a call written on it in that moment fails with it: wait until the heartbeat has taken them all.
    await().atMost(Duration.ofSeconds(10)).until(() -> heartbeatDeaths.get() >= silenced);
    proxy.pass();
    assertThat(echo(channel, "after").getValue().toStringUtf8()).isEqualTo("after");
    assertThat(ClientInternals.activeCalls(channel)).isZero();
  }

  /**
   * A server's SETTINGS can lengthen the client's heartbeats (its minimum PING interval): the channel
   * says so once, at INFO, with the values in use and why, and a death names the timeout really used.
   */
  @Test
  void heartbeatsRaisedByTheServerAreLoggedOncePerChannelAndNamedInTheFailure() throws Exception {
    FerryServer server = server(0, FerryServer.builder().minClientPingInterval(Duration.ofMillis(1000)));
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    try (LogCapture log = new LogCapture()) {
      FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
          .heartbeat(HeartbeatOptions.of(Duration.ofMillis(200), Duration.ofMillis(600)))
          .pool(PoolOptions.builder().size(3).eager(true).build())
          .reconnectBackoff(FAST_BACKOFF)
          .build());
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.acceptedConnections() == 3
          && channel.state() == ChannelState.READY);
      echo(channel, "warm up");
      CompletableFuture<StringValue> hanging = channel.call(TestService.HANG, StringValue.of("x"),
          within(Duration.ofSeconds(60)));
      assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();

      proxy.blackHole();
      FerryException e = failure(hanging, Duration.ofSeconds(10));

      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).contains("sent nothing for 2000 ms")
          .contains("raised from the configured 600 ms");
      String notice = log.find("INFO", "heartbeats differ from the configured");
      assertThat(notice).isNotNull().contains("127.0.0.1:" + proxy.port())
          .contains("PING interval 200 ms -> 1000 ms").contains("dead-peer timeout 600 ms -> 2000 ms");
      assertThat(log.count("INFO", "heartbeats differ from the configured"))
          .as("once per channel, not once per connection").isEqualTo(1);
    }
  }

  @Test
  void serverRestartOnTheSamePort() throws Exception {
    FerryServer first = server(0, FerryServer.builder());
    int port = first.port();
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", port).reconnectBackoff(FAST_BACKOFF).build());
    echo(channel, "before");

    first.shutdownNow();
    assertThat(first.awaitTermination(Duration.ofSeconds(10))).isTrue();

    // Fail fast during the outage, not at the deadline. (A first call may still catch a connection whose
    // close the client has not read yet; either way it fails at once with UNAVAILABLE. Once the pool has
    // tried to reconnect and failed, it is in TRANSIENT_FAILURE.)
    for (int i = 0; i < 5 && channel.state() != ChannelState.TRANSIENT_FAILURE; i++) {
      // UNAVAILABLE within 10 s: not left to the 30 s deadline.
      FerryException e = failure(channel.call(TestService.ECHO, BytesValue.getDefaultInstance(),
          within(Duration.ofSeconds(30))), Duration.ofSeconds(10));
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    }
    assertThat(channel.state()).isEqualTo(ChannelState.TRANSIENT_FAILURE);

    // A wait-for-ready call rides out the outage.
    CompletableFuture<BytesValue> patient = channel.call(TestService.ECHO,
        BytesValue.of(ByteString.copyFromUtf8("patient")),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).waitForReady(true).build());
    assertThat(patient).isNotDone();

    server(port, FerryServer.builder());
    assertThat(patient.get(10, TimeUnit.SECONDS).getValue().toStringUtf8()).isEqualTo("patient");
    await().atMost(Duration.ofSeconds(10)).until(() -> channel.state() == ChannelState.READY);
    assertThat(echo(channel, "after").getValue().toStringUtf8()).isEqualTo("after");
  }

  @Test
  void gracefulShutdownAndRestartUnderLoadLosesNoCall() throws Exception {
    FerryServer first = server(0, FerryServer.builder());
    int port = first.port();
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", port)
        .pool(PoolOptions.builder().size(2).build()).reconnectBackoff(FAST_BACKOFF).build());
    int total = 4_000;
    Semaphore window = new Semaphore(64);
    AtomicInteger succeeded = new AtomicInteger();
    List<Throwable> failures = new ArrayList<>();
    List<CompletableFuture<BytesValue>> calls = new ArrayList<>(total);
    CallOptions patient = CallOptions.builder().timeout(Duration.ofSeconds(30)).waitForReady(true).build();
    CompletableFuture<Void> restart = null;
    for (int i = 0; i < total; i++) {
      assertThat(window.tryAcquire(30, TimeUnit.SECONDS)).isTrue();
      if (i == total / 4) {
        restart = CompletableFuture.runAsync(() -> {
          try {
            first.shutdown(Duration.ofSeconds(10));
            assertThat(first.awaitTermination(Duration.ofSeconds(15))).isTrue();
            server(port, FerryServer.builder());
          } catch (Exception ex) {
            throw new AssertionError(ex);
          }
        });
      }
      String text = "call " + i;
      CompletableFuture<BytesValue> call =
          channel.call(TestService.ECHO, BytesValue.of(ByteString.copyFromUtf8(text)), patient);
      // The stage after the callback, not the call itself: allOf below must wait for the callbacks too.
      calls.add(call.whenComplete((v, t) -> {
        if (t == null && v.getValue().toStringUtf8().equals(text)) {
          succeeded.incrementAndGet();
        } else {
          synchronized (failures) {
            failures.add(t != null ? t : new AssertionError("wrong reply " + v));
          }
        }
        window.release();
      }));
    }
    restart.get(30, TimeUnit.SECONDS);
    CompletableFuture.allOf(calls.toArray(new CompletableFuture<?>[0])).handle((v, t) -> null)
        .get(60, TimeUnit.SECONDS);
    assertThat(failures).isEmpty();
    assertThat(succeeded).hasValue(total);
    assertThat(ClientInternals.activeCalls(channel)).isZero();
  }

  @Test
  void serversConcurrencyLimitIsHonouredWithABoundedQueue() throws Exception {
    FerryServer server = server(0, FerryServer.builder().maxConcurrentCallsPerConnection(2));
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).maxPendingCalls(3).build()).build());
    echo(channel, "handshake done");
    List<CompletableFuture<StringValue>> hanging = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      hanging.add(channel.call(TestService.HANG, StringValue.of("h" + i), within(Duration.ofSeconds(30))));
    }
    for (int i = 0; i < 2; i++) {
      assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();
    }
    // Two in flight is the server's limit: the next three wait on the client, the sixth is refused.
    List<CompletableFuture<BytesValue>> queued = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      queued.add(channel.call(TestService.ECHO, BytesValue.of(ByteString.copyFromUtf8("q" + i)),
          within(Duration.ofSeconds(30))));
    }
    FerryException refused = failure(channel.call(TestService.ECHO, BytesValue.getDefaultInstance(),
        within(Duration.ofSeconds(30))), Duration.ofSeconds(5));
    assertThat(refused.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED);
    assertThat(queued).noneMatch(CompletableFuture::isDone);
    assertThat(service.hanging).as("the server never saw a third call at once").isEmpty();

    hanging.get(0).cancel(true);
    for (int i = 0; i < 3; i++) {
      assertThat(queued.get(i).get(10, TimeUnit.SECONDS).getValue().toStringUtf8()).isEqualTo("q" + i);
    }
    hanging.get(1).cancel(true);
    // Every call gave its slot back before its future completed (or, cancelled, before cancel returned).
    assertThat(ClientInternals.activeCalls(channel)).isZero();
  }

  @Test
  void maxConnectionAgeRotatesConnectionsWithoutCallerErrors() throws Exception {
    FerryServer server = server(0, FerryServer.builder()
        .maxConnectionAge(Duration.ofMillis(300)).maxConnectionAgeGrace(Duration.ofSeconds(5)));
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
        .reconnectBackoff(FAST_BACKOFF).build());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int calls = 0;
    // Bounded by count and time: call steadily until the server has aged out a few connections.
    while (proxy.acceptedConnections() < 6 && calls < 100_000 && System.nanoTime() < deadline) {
      echo(channel, "call " + calls++);
    }
    assertThat(proxy.acceptedConnections()).isGreaterThanOrEqualTo(6);
  }

  @Test
  void waitingCallsThatTimedOutStopCountingAgainstTheQueueBound() throws Exception {
    FerryServer server = server(0, FerryServer.builder().maxConcurrentCallsPerConnection(1));
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).maxPendingCalls(2).build()).build());
    echo(channel, "handshake done");
    CompletableFuture<StringValue> hanging =
        channel.call(TestService.HANG, StringValue.of("h"), within(Duration.ofSeconds(30)));
    assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();
    // Two calls wait for room and give up after 100 ms; the queue (bound 2) is then empty again.
    for (int i = 0; i < 2; i++) {
      FerryException e = failure(channel.call(TestService.ECHO, BytesValue.getDefaultInstance(),
          within(Duration.ofMillis(100))), Duration.ofSeconds(10));
      assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
    }
    CompletableFuture<BytesValue> next = channel.call(TestService.ECHO, BytesValue.getDefaultInstance(),
        within(Duration.ofSeconds(30)));
    CompletableFuture<BytesValue> another = channel.call(TestService.ECHO, BytesValue.getDefaultInstance(),
        within(Duration.ofSeconds(30)));
    assertThat(next).as("queued, not refused").isNotDone();
    assertThat(another).isNotDone();
    hanging.cancel(true);
    assertThat(next.get(10, TimeUnit.SECONDS)).isNotNull();
    assertThat(another.get(10, TimeUnit.SECONDS)).isNotNull();
  }
}
