package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.internal.FrameType;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the channel does as time passes, on a fake clock: deadlines fire exactly when due (and the server
 * is told), timeouts count from each call's start, late and stray responses are dropped and counted,
 * failed connections are retried on the backoff's schedule. The test plays the server.
 */
class FerryChannelTimeTest {
  private final EmbeddedServer server = new EmbeddedServer();

  @AfterEach
  void tearDown() {
    server.close();
  }

  private EmbeddedServer.Received lastRequest() {
    return server.connection().received(FrameType.REQUEST).stream().reduce((a, b) -> b).orElseThrow();
  }

  private CompletableFuture<StringValue> call(FerryChannel ch, String text, CallOptions options) {
    CompletableFuture<StringValue> f = ch.call(ECHO, s(text), options);
    server.runTasks();
    return f;
  }

  @Test
  void aDeadlineFiresWhenDueAndTheServerIsToldToStop() {
    FerryChannel ch = server.channel(server.client());
    CompletableFuture<StringValue> f = call(ch, "slow", CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(1)));
    EmbeddedServer.Received r = lastRequest();
    assertThat(r.header().getTimeoutMicros()).isEqualTo(1_000_000);

    server.advance(Duration.ofMillis(999));
    assertThat(f).isNotDone();
    server.advance(Duration.ofMillis(1));
    FerryException e = failure(f);
    assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
    assertThat(e.description()).contains("deadline exceeded after 1000 ms (timeout 1000 ms)")
        .contains("test.Echo/Say").contains("was sent");
    assertThat(server.connection().received(FrameType.CANCEL)).extracting(EmbeddedServer.Received::requestId)
        .containsExactly(r.requestId());
    assertThat(ch.currentConnection().pendingCount()).isZero();
  }

  @Test
  void theDefaultTimeoutAppliesToCallsWithoutOne() {
    FerryChannel ch = server.channel(server.client().defaultTimeout(Duration.ofMillis(300)));
    CompletableFuture<StringValue> f = call(ch, "slow", CallOptions.DEFAULT);
    assertThat(lastRequest().header().getTimeoutMicros()).isEqualTo(300_000);
    server.advance(Duration.ofMillis(300));
    assertThat(failure(f).code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
  }

  @Test
  void optionsWithATimeoutReusedLaterGiveEachCallTheFullTimeout() {
    FerryChannel ch = server.channel(server.client());
    CallOptions reused = CallOptions.builder().timeout(Duration.ofMillis(300)).build();
    server.advance(Duration.ofMillis(400)); // a deadline fixed when the options were built would be gone

    CompletableFuture<StringValue> f = call(ch, "late but fine", reused);
    EmbeddedServer.Received r = lastRequest();
    assertThat(r.header().getTimeoutMicros()).as("the full timeout, from this call's start").isEqualTo(300_000);
    server.connection().respond(r.requestId(), s("fine"));
    assertThat(f).isCompletedWithValue(s("fine"));
  }

  @Test
  void aDeadlineMessageSaysHowLongTheCallRanAndWhatItsDeadlineWas() {
    FerryChannel ch = server.channel(server.client());
    CallOptions absolute = CallOptions.builder()
        .deadline(server.ticker.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200)).build();

    CompletableFuture<StringValue> f = call(ch, "never answered", absolute);
    server.advance(Duration.ofMillis(200));
    assertThat(failure(f).description())
        .contains("deadline exceeded after 200 ms (deadline 200 ms after the call started)");

    server.advance(Duration.ofMillis(5));
    FerryException past = failure(call(ch, "too late", absolute));
    assertThat(past.description()).contains("deadline had already passed when the call started (5 ms before)")
        .contains("was not sent");
  }

  @Test
  void aResponseAfterTheDeadlineIsDroppedAndCountedAndReachesNoOtherCall() {
    FerryChannel ch = server.channel(server.client());
    CompletableFuture<StringValue> late = call(ch, "late", CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(1)));
    EmbeddedServer.Received r = lastRequest();
    server.advance(Duration.ofSeconds(1));
    assertThat(failure(late).code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);

    CompletableFuture<StringValue> next = call(ch, "next", CallOptions.DEFAULT);
    EmbeddedServer.Received r2 = lastRequest();
    server.connection().respond(r.requestId(), s("too late"));
    assertThat(ch.droppedResponses()).isEqualTo(1);
    assertThat(next).as("the late response goes to no other call").isNotDone();

    server.connection().respond(r2.requestId(), s("in time"));
    assertThat(next).isCompletedWithValue(s("in time"));
  }

  @Test
  void responsesForUnknownIdsAndDuplicatesAreDropped() {
    FerryChannel ch = server.channel(server.client());
    CompletableFuture<StringValue> f = call(ch, "a", CallOptions.DEFAULT);
    EmbeddedServer.Received r = lastRequest();

    server.connection().respond(999, s("nobody asked"));
    assertThat(ch.droppedResponses()).isEqualTo(1);
    assertThat(f).isNotDone();

    server.connection().respond(r.requestId(), s("first"));
    server.connection().respond(r.requestId(), s("duplicate"));
    assertThat(f).isCompletedWithValue(s("first"));
    assertThat(ch.droppedResponses()).isEqualTo(2);
  }

  @Test
  void failedConnectionAttemptsAreRetriedOnTheBackoffsSchedule() {
    server.refuse = true;
    FerryChannel ch = server.channel(server.client()
        .reconnectBackoff(BackoffOptions.of(Duration.ofMillis(100), 2, Duration.ofMillis(400), 0)));
    assertThat(failure(call(ch, "x", CallOptions.DEFAULT)).code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(server.connectAttempts).isEqualTo(1);
    assertThat(ch.state()).isEqualTo(ChannelState.TRANSIENT_FAILURE);

    // Waits of 100, 200, 400, 400 ms: attempts at 100, 300, 700 and 1,100 ms.
    server.advance(Duration.ofMillis(99));
    assertThat(server.connectAttempts).isEqualTo(1);
    server.advance(Duration.ofMillis(1));
    assertThat(server.connectAttempts).isEqualTo(2);
    server.advance(Duration.ofMillis(200));
    assertThat(server.connectAttempts).isEqualTo(3);
    server.advance(Duration.ofMillis(800));
    assertThat(server.connectAttempts).isEqualTo(5);

    server.refuse = false;
    server.advance(Duration.ofMillis(400));
    assertThat(ch.state()).as("back once the server is").isEqualTo(ChannelState.READY);
  }
}
