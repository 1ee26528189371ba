package dev.ferry.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.StatusCode;
import dev.ferry.internal.Frame;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One server connection's timers and call endings on a fake clock: max connection idle and max
 * connection age send GOAWAY at the configured instant (not a millisecond early), a GOAWAY drains the
 * calls it admitted before the connection closes, the grace period ends it regardless, a deadline
 * answers DEADLINE_EXCEEDED at its instant and runs the handler's cancellation listeners on their own
 * executor, and a CANCEL ends a call without a response. Each scenario is exact because the test moves
 * the clock; none waits.
 */
class ServerConnectionHandlerTest {
  private static final int GOAWAY = -1;
  private EmbeddedConnection c;

  @AfterEach
  void close() {
    if (c != null) {
      c.close();
    }
  }

  private static int[] goAway(int lastId) {
    return new int[] {GOAWAY, lastId};
  }

  private static int[] response(int id, StatusCode status) {
    return new int[] {id, status.value()};
  }

  @Test
  void maxIdleSendsGoAwayAtTheConfiguredInstantAndClosesAnEmptyConnection() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults().maxIdle(Duration.ofSeconds(1)));

    c.passTime(999, TimeUnit.MILLISECONDS);
    assertThat(c.written()).isEmpty();
    assertThat(c.ch.isActive()).isTrue();

    c.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(c.written()).containsExactly(goAway(0));
    assertThat(c.ch.isActive()).as("no call in flight: closed at once after the GOAWAY").isFalse();
  }

  @Test
  void maxIdleCountsFromTheEndOfTheLastCall() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults().maxIdle(Duration.ofSeconds(1)));
    c.passTime(600, TimeUnit.MILLISECONDS);
    c.request(1, 0);
    c.passTime(300, TimeUnit.MILLISECONDS); // the call is in flight, not yet run
    c.runHandlers();
    assertThat(c.written()).containsExactly(response(1, StatusCode.OK));

    // Idle since 900 ms: the check that falls due at 1000 ms re-arms for 1900 ms.
    c.passTime(999, TimeUnit.MILLISECONDS);
    assertThat(c.written()).isEmpty();
    c.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(c.written()).containsExactly(goAway(1));
    assertThat(c.ch.isActive()).isFalse();
  }

  @Test
  void aCallInFlightKeepsTheConnectionFromBeingIdle() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults().maxIdle(Duration.ofSeconds(1)));
    c.request(EmbeddedConnection.HANG, 1, 0);
    c.runHandlers();

    c.passTime(1, TimeUnit.HOURS);
    assertThat(c.written()).isEmpty();
    assertThat(c.ch.isActive()).isTrue();
    assertThat(c.calls()).isEqualTo(1);
  }

  @Test
  void maxAgeSendsGoAwayAtItsJitteredInstantAndDrainsTheCallsItAdmitted() {
    // The fixture's random source gives 0.5: jitter factor 0.9 + 0.2 * 0.5 = exactly 1.
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults()
        .maxAge(Duration.ofSeconds(10), Duration.ofSeconds(5)));
    c.request(1, 0);
    c.request(EmbeddedConnection.HANG, 3, 0);
    c.passTime(9_999, TimeUnit.MILLISECONDS);
    assertThat(c.written()).isEmpty();

    c.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(c.written()).containsExactly(goAway(3));

    // A request that crossed the GOAWAY is refused, not run: the client may send it elsewhere.
    c.request(5, 0);
    assertThat(c.written()).containsExactly(response(5, StatusCode.UNAVAILABLE));

    // The admitted calls still run and are answered; the connection stays open while one is in flight.
    c.runHandlers();
    assertThat(c.handled).containsExactly(1);
    assertThat(c.written()).containsExactly(response(1, StatusCode.OK));
    assertThat(c.ch.isActive()).isTrue();
  }

  @Test
  void theGracePeriodEndsAConnectionWhoseCallsDoNotFinish() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults()
        .maxAge(Duration.ofSeconds(10), Duration.ofSeconds(5)));
    c.request(EmbeddedConnection.HANG, 1, 0);
    c.runHandlers();
    AtomicInteger cancelled = new AtomicInteger();
    c.contexts.get(0).onCancel(cancelled::incrementAndGet);

    c.passTime(10, TimeUnit.SECONDS);
    assertThat(c.written()).containsExactly(goAway(1));
    c.passTime(4_999, TimeUnit.MILLISECONDS);
    assertThat(c.ch.isActive()).isTrue();

    c.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(c.ch.isActive()).isFalse();
    assertThat(c.contexts.get(0).isCancelled()).isTrue();
    assertThat(cancelled).as("listeners run on their executor, not the event loop").hasValue(0);
    runListeners();
    assertThat(cancelled).hasValue(1);
  }

  @Test
  void aDrainedConnectionClosesAsSoonAsItsLastCallIsAnswered() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults()
        .maxAge(Duration.ofSeconds(10), Duration.ofSeconds(5)));
    c.request(1, 0);
    c.passTime(10, TimeUnit.SECONDS);
    assertThat(c.ch.isActive()).isTrue();

    c.runHandlers();
    List<int[]> written = c.written();
    assertThat(written).containsExactly(goAway(1), response(1, StatusCode.OK));
    assertThat(c.ch.isActive()).isFalse();
  }

  @Test
  void aDeadlineIsAnsweredAtItsInstantAndCancelsTheHandler() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults());
    c.request(EmbeddedConnection.HANG, 1, TimeUnit.MILLISECONDS.toMicros(100));
    c.runHandlers();
    AtomicInteger cancelled = new AtomicInteger();
    CallContext context = c.contexts.get(0);
    context.onCancel(cancelled::incrementAndGet);
    assertThat(context.timeRemaining()).contains(Duration.ofMillis(100));

    c.passTime(99, TimeUnit.MILLISECONDS);
    assertThat(c.written()).isEmpty();
    assertThat(context.isCancelled()).isFalse();

    c.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(c.written()).containsExactly(response(1, StatusCode.DEADLINE_EXCEEDED));
    assertThat(context.isCancelled()).isTrue();
    assertThat(c.calls()).isZero();
    runListeners();
    assertThat(cancelled).hasValue(1);
    assertThat(c.ch.isActive()).isTrue();
  }

  @Test
  void aDeadlineThatPassesBeforeTheHandlerRunsSkipsTheHandler() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults());
    c.request(1, TimeUnit.MILLISECONDS.toMicros(100));
    c.passTime(100, TimeUnit.MILLISECONDS);
    assertThat(c.written()).containsExactly(response(1, StatusCode.DEADLINE_EXCEEDED));

    c.runHandlers();
    assertThat(c.handled).as("the executor got the call late: it is not run").isEmpty();
    assertThat(c.written()).as("answered exactly once").isEmpty();
  }

  @Test
  void aCancelEndsTheCallWithoutAResponse() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults());
    c.request(EmbeddedConnection.HANG, 1, 0);
    c.runHandlers();
    AtomicInteger cancelled = new AtomicInteger();
    c.contexts.get(0).onCancel(cancelled::incrementAndGet);

    c.send(Frame.cancel(1));
    assertThat(c.calls()).isZero();
    assertThat(c.contexts.get(0).isCancelled()).isTrue();
    runListeners();
    assertThat(cancelled).hasValue(1);

    c.passTime(1, TimeUnit.HOURS);
    assertThat(c.written()).isEmpty();
    assertThat(c.ch.isActive()).isTrue();
  }

  @Test
  void aCancelForAnUnknownIdIsIgnored() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults());
    c.request(1, 0);
    c.send(Frame.cancel(7));
    c.runHandlers();
    assertThat(c.written()).containsExactly(response(1, StatusCode.OK));
    assertThat(c.ch.isActive()).isTrue();
  }

  private void runListeners() {
    for (Runnable r; (r = c.listenerTasks.poll()) != null; ) {
      r.run();
    }
  }
}
