package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.Settings;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link ChannelListener} against a scripted server: transparent retries, GOAWAY, and what
 * {@link ChannelStats} counts while calls wait and connections drain.
 */
class ChannelListenerTest extends FakeServerTestBase {
  private static final CallOptions THIRTY_SECONDS = CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(30));

  private final List<String> events = new CopyOnWriteArrayList<>();
  private final AtomicReference<ChannelStats> stats = new AtomicReference<>();
  private final ChannelListener listener = new ChannelListener() {
    @Override
    public void channelCreated(ChannelStats channel) {
      stats.set(channel);
    }

    @Override
    public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
        long requestBytes, long responseBytes) {
      events.add("completed " + status);
    }

    @Override
    public void callRetried(MethodDescriptor<?, ?> method) {
      events.add("retried " + method.methodName());
    }

    @Override
    public void reconnecting() {
      events.add("reconnecting");
    }

    @Override
    public void goAwayReceived() {
      events.add("goaway");
    }
  };

  @Test
  void callsTheServerDidNotProcessAreHeardAsRetriedAndCompleteOnce() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client().pool(PoolOptions.builder().size(1).build()).addListener(listener));
    CompletableFuture<StringValue> kept = ch.call(ECHO, s("kept"), THIRTY_SECONDS);
    CompletableFuture<StringValue> moved = ch.call(ECHO, s("moved"), THIRTY_SECONDS);
    List<FakeServer.FakeRequest> requests = server.nextRequests(2);

    FakeServer.goAway(requests.get(0).channel(), 1, "restarting"); // the second was not processed
    FakeServer.FakeRequest retried = server.nextRequest();
    assertThat(retried.string()).isEqualTo("moved");
    // The draining connection still finishes the call it kept; a new one took the other.
    await().atMost(Duration.ofSeconds(10)).until(() -> stats.get().drainingConnections() == 1
        && stats.get().readyConnections() == 1);
    retried.respond(s("moved!"));
    requests.get(0).respond(s("kept!"));
    assertThat(value(moved).getValue()).isEqualTo("moved!");
    assertThat(value(kept).getValue()).isEqualTo("kept!");

    assertThat(events).containsSubsequence("goaway", "retried " + ECHO.methodName(), "reconnecting");
    assertThat(events).filteredOn(e -> e.startsWith("retried")).hasSize(1);
    assertThat(events).filteredOn(e -> e.startsWith("completed")).containsExactly("completed OK", "completed OK");
  }

  @Test
  void statsCountTheCallsWaitingForRoomOnAConnection() throws Exception {
    server = FakeServer.start(Settings.builder().maxConcurrentCalls(1).build());
    FerryChannel ch = channel(server.client().pool(PoolOptions.builder().size(1).build()).addListener(listener));
    CompletableFuture<StringValue> first = ch.call(ECHO, s("first"), THIRTY_SECONDS);
    FakeServer.FakeRequest request = server.nextRequest();
    CompletableFuture<StringValue> second = ch.call(ECHO, s("second"), THIRTY_SECONDS);
    CompletableFuture<StringValue> third = ch.call(ECHO, s("third"), THIRTY_SECONDS);

    assertThat(stats.get().waitingCalls()).isEqualTo(2);
    assertThat(stats.get().activeCalls()).isEqualTo(3);
    third.cancel(false); // leaves the queue at once
    assertThat(stats.get().waitingCalls()).isEqualTo(1);
    request.respond(s("first!"));
    assertThat(value(first).getValue()).isEqualTo("first!");
    server.nextRequest().respond(s("second!"));
    assertThat(value(second).getValue()).isEqualTo("second!");
    assertThat(stats.get().waitingCalls()).isZero();
    assertThat(stats.get().activeCalls()).isZero();
    assertThat(events).containsExactlyInAnyOrder("completed OK", "completed OK", "completed CANCELLED");
  }
}
