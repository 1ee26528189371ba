package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;

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
  void channelCreatedIsTheFirstEventEvenForAnEagerPool() {
    List<String> order = new CopyOnWriteArrayList<>();
    ChannelListener recorder = new ChannelListener() {
      @Override
      public void channelCreated(ChannelStats channel) {
        order.add("created");
      }

      @Override
      public void stateChanged(ChannelState from, ChannelState to) {
        order.add(from + " -> " + to);
      }
    };
    try (EmbeddedServer embedded = new EmbeddedServer()) {
      embedded.channel(embedded.client().addListener(recorder)
          .pool(PoolOptions.builder().size(1).eager(true).build()));
      embedded.runTasks();
      assertThat(order).first().isEqualTo("created");
      assertThat(order).last().asString().as("the eager pool connected").endsWith("-> READY");
    }
  }

  @Test
  void callsTheServerDidNotProcessAreHeardAsRetriedAndCompleteOnce() {
    try (EmbeddedServer embedded = new EmbeddedServer()) {
      FerryChannel ch = embedded.channel(embedded.client().addListener(listener));
      CompletableFuture<StringValue> kept = ch.call(ECHO, s("kept"), THIRTY_SECONDS);
      CompletableFuture<StringValue> moved = ch.call(ECHO, s("moved"), THIRTY_SECONDS);
      embedded.runTasks();
      EmbeddedServer.Connection first = embedded.connection();

      first.goAway(1, "restarting"); // the second was not processed
      EmbeddedServer.Connection second = embedded.connection();
      assertThat(second).as("a new connection took the unprocessed call").isNotSameAs(first);
      // The draining connection still finishes the call it kept; the new one has the other.
      assertThat(stats.get().drainingConnections()).isEqualTo(1);
      assertThat(stats.get().readyConnections()).isEqualTo(1);
      second.respond(second.received(dev.ferry.internal.FrameType.REQUEST).get(0).requestId(), s("moved!"));
      first.respond(1, s("kept!"));
      assertThat(moved).isCompletedWithValue(s("moved!"));
      assertThat(kept).isCompletedWithValue(s("kept!"));

      assertThat(events).containsSubsequence("goaway", "retried " + ECHO.methodName(), "reconnecting");
      assertThat(events).filteredOn(e -> e.startsWith("retried")).hasSize(1);
      assertThat(events).filteredOn(e -> e.startsWith("completed")).containsExactly("completed OK", "completed OK");
    }
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
