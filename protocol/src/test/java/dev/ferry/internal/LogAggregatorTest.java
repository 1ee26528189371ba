package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/** {@link LogAggregator} on a fake clock, logging to a logger that records its lines. */
class LogAggregatorTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final RecordingLogger log = new RecordingLogger();
  private final FakeClock clock = new FakeClock();
  private final LogAggregator violations =
      new LogAggregator(log, Level.WARN, "connections closed for PROTOCOL_ERROR", Duration.ofSeconds(1), clock);

  @Test
  void aFloodWritesTheFirstInFullThenOneCountPerInterval() {
    for (int i = 0; i < 2_000; i++) {
      violations.log("Closing connection to {}: {}", "peer-" + i, "unknown frame type 0x9");
      clock.advance(SECOND / 10_000); // 2,000 in 0.2 s
    }
    assertThat(log.at(Level.WARN)).containsExactly("Closing connection to peer-0: unknown frame type 0x9");
    assertThat(log.at(Level.DEBUG)).hasSize(1_999).contains("Closing connection to peer-1999: unknown frame type 0x9");

    clock.advanceTo(SECOND);
    assertThat(log.at(Level.WARN)).hasSize(2).last().isEqualTo(
        "1999 more connections closed for PROTOCOL_ERROR in the last 1000 ms (each logged at DEBUG)");
  }

  @Test
  void aSteadyFloodWritesOneCountPerIntervalAndNothingIsLost() {
    // 100 a second for ten seconds.
    for (int i = 0; i < 1_000; i++) {
      violations.log("violation {}", i);
      clock.advance(SECOND / 100);
    }
    clock.advance(2 * SECOND);
    List<String> warn = log.at(Level.WARN);
    assertThat(warn.size()).as("lines at WARN: %s", warn).isBetween(10, 12);
    assertThat(warn.get(0)).isEqualTo("violation 0");
    long reported = 1;
    for (String line : warn.subList(1, warn.size())) {
      assertThat(line).matches("\\d+ more connections closed for PROTOCOL_ERROR in the last \\d+ ms \\(each logged at DEBUG\\)");
      reported += Long.parseLong(line.substring(0, line.indexOf(' ')));
    }
    assertThat(reported).as("every occurrence is accounted for").isEqualTo(1_000);
    assertThat(log.at(Level.DEBUG)).hasSize(999);
  }

  @Test
  void afterAQuietIntervalTheNextIsLoggedInFullAgain() {
    violations.log("first");
    clock.advance(SECOND / 2);
    violations.log("second");
    clock.advanceTo(SECOND);
    assertThat(log.at(Level.WARN)).containsExactly("first",
        "1 more connections closed for PROTOCOL_ERROR in the last 1000 ms (each logged at DEBUG)");
    // No more for a whole interval after the count line: the next is news, in full.
    clock.advance(SECOND);
    violations.log("third");
    assertThat(log.at(Level.WARN)).hasSize(3).last().isEqualTo("third");
    // And a lone one, much later, too; nothing is left to count.
    clock.advance(60 * SECOND);
    violations.log("fourth");
    clock.advance(60 * SECOND);
    assertThat(log.at(Level.WARN)).hasSize(4).last().isEqualTo("fourth");
    assertThat(log.at(Level.DEBUG)).containsExactly("second");
    assertThat(clock.pending).isEmpty();
  }

  @Test
  void occasionalOccurrencesAreAllLoggedInFull() {
    for (int i = 0; i < 5; i++) {
      violations.log("violation {}", i);
      clock.advance(2 * SECOND);
    }
    assertThat(log.at(Level.WARN)).containsExactly("violation 0", "violation 1", "violation 2", "violation 3",
        "violation 4");
    assertThat(log.at(Level.DEBUG)).isEmpty();
  }

  @Test
  void aTimerThatRefusesTheTaskGetsTheCountWrittenAtOnce() {
    LogAggregator stopping = new LogAggregator(log, Level.INFO, "refused connections", Duration.ofSeconds(1),
        new FakeClock() {
          @Override
          public void schedule(Runnable task, long delayNanos) {
            throw new RejectedExecutionException("terminated");
          }
        });
    stopping.log("one");
    stopping.log("two");
    assertThat(log.at(Level.INFO)).containsExactly("one", "1 more refused connections in the last 0 ms (each logged at DEBUG)");
  }

  @Test
  void intervalMustBePositive() {
    assertThatThrownBy(() -> new LogAggregator(log, Level.WARN, "x", Duration.ZERO, clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("interval: PT0S (expected: > 0)");
  }

  /** A clock whose time moves only when told, running the timer's tasks as it passes them. */
  static class FakeClock implements LogAggregator.Clock {
    long now;
    final List<long[]> pendingAt = new ArrayList<>();
    final List<Runnable> pending = new ArrayList<>();

    @Override
    public long nanoTime() {
      return now;
    }

    @Override
    public void schedule(Runnable task, long delayNanos) {
      pendingAt.add(new long[] {now + delayNanos});
      pending.add(task);
    }

    void advance(long nanos) {
      advanceTo(now + nanos);
    }

    void advanceTo(long time) {
      for (;;) {
        int next = -1;
        for (int i = 0; i < pending.size(); i++) {
          if (pendingAt.get(i)[0] <= time && (next < 0 || pendingAt.get(i)[0] < pendingAt.get(next)[0])) {
            next = i;
          }
        }
        if (next < 0) {
          break;
        }
        now = Math.max(now, pendingAt.remove(next)[0]);
        pending.remove(next).run();
      }
      now = Math.max(now, time);
    }
  }

  /** Records each line as formatted, by level. */
  static final class RecordingLogger extends LegacyAbstractLogger {
    private static final long serialVersionUID = 1L;
    final List<Object[]> lines = new ArrayList<>();

    List<String> at(Level level) {
      List<String> found = new ArrayList<>();
      for (Object[] line : lines) {
        if (line[0] == level) {
          found.add((String) line[1]);
        }
      }
      return found;
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String messagePattern,
        Object[] arguments, Throwable throwable) {
      lines.add(new Object[] {level, MessageFormatter.basicArrayFormat(messagePattern, arguments)});
    }

    @Override
    public boolean isTraceEnabled() {
      return true;
    }

    @Override
    public boolean isDebugEnabled() {
      return true;
    }

    @Override
    public boolean isInfoEnabled() {
      return true;
    }

    @Override
    public boolean isWarnEnabled() {
      return true;
    }

    @Override
    public boolean isErrorEnabled() {
      return true;
    }
  }
}
