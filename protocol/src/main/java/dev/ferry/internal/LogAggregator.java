package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/**
 * One kind of log line that a peer could otherwise make the process write once per connection (a
 * protocol violation, a handshake or heartbeat timeout, a failed TLS handshake, a refused connection),
 * so that a flood of hostile connections cannot flood the log. The first occurrence is logged in full
 * at the kind's level. Further ones within the interval are logged in full at DEBUG only, and counted;
 * when the interval ends, one line at the kind's level reports how many there were, and the counting
 * goes on for another interval while they keep coming. After an interval without any, the next is
 * logged in full again. A flood thus writes at most two lines per interval at the kind's level (the
 * first, then one count per interval), however many connections it opens, and every occurrence is
 * accounted for.
 *
 * <pre>{@code
 * LogAggregator violations = LogAggregator.create(log, Level.WARN, "connections closed for PROTOCOL_ERROR");
 * violations.log("Closing connection to {}: {}", remoteAddress, reason);
 * // WARN  Closing connection to /10.0.0.7:53422: unknown frame type 0x9
 * // DEBUG Closing connection to /10.0.0.7:53424: unknown frame type 0x9     (x 1999)
 * // WARN  1999 more connections closed for PROTOCOL_ERROR in the last 1000 ms (each logged at DEBUG)
 * }</pre>
 *
 * <p>Thread-safe: {@link #log} is called from any event loop; the count line is written from the
 * clock's timer. Time and the timer are a {@link Clock}, so tests can run it on a fake one.
 */
public final class LogAggregator {
  /** The interval of the aggregators Ferry uses: one second. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);

  /** Time, and a timer for the count line. */
  public interface Clock {
    /** A monotonic time in nanoseconds, as {@link System#nanoTime()}. */
    long nanoTime();

    /** Runs {@code task} once, {@code delayNanos} from now, on some thread. */
    void schedule(Runnable task, long delayNanos);

    /** {@link System#nanoTime()}, and Netty's global executor as the timer (its thread stops when idle). */
    Clock SYSTEM = new Clock() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public void schedule(Runnable task, long delayNanos) {
        GlobalEventExecutor.INSTANCE.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
      }
    };
  }

  private final Logger log;
  private final Level level;
  private final String what;
  private final long intervalNanos;
  private final Clock clock;

  // Guarded by this.
  private boolean open; // an interval is running: occurrences in it are counted, not logged in full
  private long intervalEnd;
  private long countedSince; // when the last line at the kind's level was written
  private long counted;
  private boolean countLineScheduled;

  /**
   * @param log where the lines go
   * @param level the level of the first line and of the count lines
   * @param what the occurrences, as a plural noun phrase for the count line
   *     ({@code "connections closed for PROTOCOL_ERROR"})
   * @param interval how long occurrences are counted after a line at {@code level}
   * @param clock time and timer
   */
  public LogAggregator(Logger log, Level level, String what, Duration interval, Clock clock) {
    this.log = requireNonNull(log, "log");
    this.level = requireNonNull(level, "level");
    this.what = requireNonNull(what, "what");
    requireNonNull(interval, "interval");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval: " + interval + " (expected: > 0)");
    }
    this.intervalNanos = interval.toNanos();
    this.clock = requireNonNull(clock, "clock");
  }

  /** An aggregator with the {@link #DEFAULT_INTERVAL} on the {@link Clock#SYSTEM} clock. */
  public static LogAggregator create(Logger log, Level level, String what) {
    return new LogAggregator(log, level, what, DEFAULT_INTERVAL, Clock.SYSTEM);
  }

  /** One occurrence: logged in full at the kind's level, or at DEBUG and counted (see the class comment). */
  public void log(String format, Object... args) {
    long now = clock.nanoTime();
    boolean full;
    long countLineDelay = -1;
    synchronized (this) {
      full = !open || (now - intervalEnd >= 0 && counted == 0 && !countLineScheduled);
      if (full) {
        open = true;
        intervalEnd = now + intervalNanos;
        countedSince = now;
      } else {
        counted++;
        if (!countLineScheduled) {
          countLineScheduled = true;
          countLineDelay = Math.max(0, intervalEnd - now);
        }
      }
    }
    if (full) {
      log.atLevel(level).log(format, args);
      return;
    }
    log.debug(format, args);
    if (countLineDelay >= 0) {
      try {
        clock.schedule(this::writeCountLine, countLineDelay);
      } catch (RejectedExecutionException e) {
        writeCountLine(); // no timer left (the process is stopping): report now rather than never
      }
    }
  }

  /** The interval is over: report what was counted, and count on for another interval. */
  private void writeCountLine() {
    long now = clock.nanoTime();
    long n;
    long sinceNanos;
    synchronized (this) {
      countLineScheduled = false;
      n = counted;
      counted = 0;
      sinceNanos = now - countedSince;
      countedSince = now;
      if (n > 0) {
        intervalEnd = now + intervalNanos;
      } else {
        open = false;
      }
    }
    if (n > 0) {
      log.atLevel(level).log("{} more {} in the last {} ms (each logged at DEBUG)", n, what,
          TimeUnit.NANOSECONDS.toMillis(sinceNanos));
    }
  }
}
