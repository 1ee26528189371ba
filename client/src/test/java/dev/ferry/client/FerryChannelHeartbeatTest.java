package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ferry.internal.Settings;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Client heartbeats over a real socket: the fake server records every frame it receives. */
class FerryChannelHeartbeatTest {
  private FakeServer server;
  private FerryChannel channel;

  @AfterEach
  void tearDown() {
    if (channel != null) {
      channel.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private long pings() {
    synchronized (server.frames) {
      return server.frames.stream().filter(f -> f.startsWith("PING")).count();
    }
  }

  // The timing rules themselves are tested on a fake clock (HeartbeatHandlerTest); these tests check the
  // wiring over a real socket. They measure from before the connection exists, so that the bounds they
  // check (never more often than the interval) need no slack, and check no upper bound: a busy machine
  // only makes heartbeats later.

  @Test
  void idleConnectionPingsOncePerIntervalAndNoMoreOften() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    long start = System.nanoTime();
    channel = server.client().heartbeat(HeartbeatOptions.of(Duration.ofMillis(100), Duration.ofSeconds(2))).build();
    value(channel.call(ECHO, s("hello")));
    await().atMost(Duration.ofSeconds(10)).until(() -> pings() >= 10);
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    // Each PING follows at least one interval of quiet after the last write: ten take 1 s or more.
    assertThat(elapsedMillis).isGreaterThanOrEqualTo(1_000L);
    assertThat(server.pongs).isEmpty(); // the server never had to ping: the client's PINGs kept it fed
  }

  @Test
  void busyConnectionSendsNoPings() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    long interval = 200;
    channel = server.client().heartbeat(HeartbeatOptions.of(Duration.ofMillis(interval), Duration.ofSeconds(5)))
        .build();
    // The client pings only after an interval without writing. Each call writes its REQUEST between its
    // start and its end, so two writes are never further apart than the start of one call and the end of
    // the next. A PING is therefore possible only in such a window that lasted an interval or more (a stall
    // of the machine), at most one per interval of it.
    long previousStart = System.nanoTime();
    value(channel.call(ECHO, s("hello")));
    long before = pings();
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(5 * interval);
    long allowed = 0;
    int calls = 0;
    // Bounded by time and count: five intervals of back-to-back calls.
    while (System.nanoTime() < end && calls < 1_000_000) {
      long callStart = System.nanoTime();
      value(channel.call(ECHO, s("busy " + calls++)));
      allowed += TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - previousStart) / interval;
      previousStart = callStart;
    }
    long pings = pings() - before;
    allowed += TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - previousStart) / interval;
    assertThat(pings).as("PINGs while busy (%d calls)", calls).isLessThanOrEqualTo(allowed);
  }

  @Test
  void clientAdoptsTheServersMinimumPingInterval() throws Exception {
    server = FakeServer.start(Settings.builder().minPingIntervalMillis(400).build());
    server.autoEcho();
    long start = System.nanoTime();
    channel = server.client().heartbeat(HeartbeatOptions.of(Duration.ofMillis(50), Duration.ofSeconds(5))).build();
    value(channel.call(ECHO, s("hello")));
    await().atMost(Duration.ofSeconds(10)).until(() -> pings() >= 3);
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    // At 50 ms, three PINGs would take 150 ms; at the server's 400 ms minimum, 1.2 s or more.
    assertThat(elapsedMillis).isGreaterThanOrEqualTo(1_200L);
  }
}
