package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.s;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Settings;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Client heartbeats, on a fake clock: the channel's connection is an embedded channel and the test
 * plays the server, so that PINGs can be counted exactly against the time that passed.
 */
class FerryChannelHeartbeatTest {
  private EmbeddedServer server;

  @AfterEach
  void tearDown() {
    if (server != null) {
      server.close();
    }
  }

  private long pings() {
    return server.connection().received(FrameType.PING).size();
  }

  private void call(FerryChannel channel, String text) {
    CompletableFuture<StringValue> f = channel.call(ECHO, s(text));
    server.runTasks();
    EmbeddedServer.Received request = server.connection().received(FrameType.REQUEST).stream()
        .reduce((a, b) -> b).orElseThrow();
    server.connection().respond(request.requestId(), s("echo:" + text));
    assertThat(f).isCompletedWithValue(s("echo:" + text));
  }

  @Test
  void idleConnectionPingsOncePerIntervalAndNoMoreOften() {
    server = new EmbeddedServer();
    FerryChannel channel = server.channel(server.client()
        .heartbeat(HeartbeatOptions.of(Duration.ofMillis(100), Duration.ofSeconds(2))));
    call(channel, "hello");

    server.advance(Duration.ofMillis(99));
    assertThat(pings()).as("not before a whole interval of quiet").isZero();
    server.advance(Duration.ofMillis(1));
    assertThat(pings()).isEqualTo(1);
    server.advance(Duration.ofMillis(900));
    assertThat(pings()).as("one per interval").isEqualTo(10);
    assertThat(channel.state()).isEqualTo(ChannelState.READY);
  }

  @Test
  void busyConnectionSendsNoPings() {
    server = new EmbeddedServer();
    FerryChannel channel = server.channel(server.client()
        .heartbeat(HeartbeatOptions.of(Duration.ofMillis(200), Duration.ofSeconds(5))));
    call(channel, "hello");
    for (int i = 0; i < 50; i++) {
      server.advance(Duration.ofMillis(150)); // always less than an interval between two writes
      call(channel, "busy " + i);
    }
    assertThat(pings()).as("PINGs while busy for 7.5 s").isZero();
    server.advance(Duration.ofMillis(200));
    assertThat(pings()).as("and one after an interval of quiet").isEqualTo(1);
  }

  @Test
  void clientAdoptsTheServersMinimumPingInterval() {
    server = new EmbeddedServer(Settings.builder().minPingIntervalMillis(400).build());
    FerryChannel channel = server.channel(server.client()
        .heartbeat(HeartbeatOptions.of(Duration.ofMillis(50), Duration.ofSeconds(5))));
    call(channel, "hello");

    server.advance(Duration.ofMillis(399));
    assertThat(pings()).as("50 ms would have pinged seven times by now").isZero();
    server.advance(Duration.ofMillis(1));
    assertThat(pings()).isEqualTo(1);
    server.advance(Duration.ofMillis(800));
    assertThat(pings()).isEqualTo(3);
  }

  @Test
  void aServerThatSendsNothingIsDeadAfterTheTimeoutAndItsCallsFailAtOnce() {
    server = new EmbeddedServer();
    server.autoPong = false;
    FerryChannel channel = server.channel(server.client()
        .heartbeat(HeartbeatOptions.of(Duration.ofMillis(500), Duration.ofSeconds(2))));
    call(channel, "hello");
    CompletableFuture<StringValue> hanging = channel.call(ECHO, s("never answered"));
    server.runTasks();

    server.advance(Duration.ofMillis(1_999));
    assertThat(hanging).isNotDone();
    server.advance(Duration.ofMillis(1));
    assertThat(hanging).isCompletedExceptionally();
    assertThat(ClientTests.failure(hanging).description()).contains("sent nothing for 2000 ms")
        .contains("heartbeat timeout").contains("was sent");
    assertThat(pings()).as("PINGs at 0.5, 1 and 1.5 s, none answered").isEqualTo(3);
  }
}
