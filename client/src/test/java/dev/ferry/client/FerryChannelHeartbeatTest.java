package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ferry.protocol.Settings;
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

  @Test
  void idleConnectionPingsAboutOncePerInterval() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    channel = server.client().heartbeat(HeartbeatOptions.of(Duration.ofMillis(100), Duration.ofSeconds(2))).build();
    value(channel.call(ECHO, s("hello")));
    long start = System.nanoTime();
    long before = pings();
    await().atMost(Duration.ofSeconds(10)).until(() -> pings() - before >= 10);
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    // Ten PINGs at one per 100 ms interval: about a second, never much faster.
    assertThat(elapsedMillis).isBetween(850L, 5_000L);
    assertThat(server.pongs).isEmpty(); // the server never had to ping: the client's PINGs kept it fed
  }

  @Test
  void busyConnectionSendsNoPings() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    channel = server.client().heartbeat(HeartbeatOptions.of(Duration.ofMillis(100), Duration.ofSeconds(2))).build();
    value(channel.call(ECHO, s("hello")));
    long before = pings();
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(600);
    int calls = 0;
    // Bounded by time and count: six intervals of back-to-back calls.
    while (System.nanoTime() < end && calls < 1_000_000) {
      value(channel.call(ECHO, s("busy " + calls++)));
    }
    assertThat(calls).isGreaterThan(50);
    assertThat(pings() - before).as("PINGs while busy").isZero();
  }

  @Test
  void clientAdoptsTheServersMinimumPingInterval() throws Exception {
    server = FakeServer.start(Settings.builder().minPingIntervalMillis(400).build());
    server.autoEcho();
    channel = server.client().heartbeat(HeartbeatOptions.of(Duration.ofMillis(50), Duration.ofSeconds(5))).build();
    value(channel.call(ECHO, s("hello")));
    long start = System.nanoTime();
    long before = pings();
    await().atMost(Duration.ofSeconds(10)).until(() -> pings() - before >= 3);
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    // At 50 ms, three PINGs would take 150 ms; at the server's 400 ms minimum they take about 1.2 s.
    assertThat(elapsedMillis).isGreaterThanOrEqualTo(1_000L);
  }
}
