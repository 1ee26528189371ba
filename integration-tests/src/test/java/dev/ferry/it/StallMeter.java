package dev.ferry.it;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * How long this JVM could not run a thread that was ready to run: a daemon thread sleeps 1 ms at a time
 * and adds up how much later than asked it woke (beyond a tolerance of 1 ms per wake). A machine starved of
 * CPU, or a stop-the-world pause, shows here as it shows in every event loop; a test that holds work to a
 * wall-clock bound measures against it what the JVM itself lost, so that only lateness the process could
 * have avoided counts. (jHiccup measures the same way.)
 *
 * <p>{@link #stalledNanos} may be read from any thread; it includes a wake that is late right now.
 */
final class StallMeter implements AutoCloseable {
  private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long TOLERANCE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final AtomicLong stalled = new AtomicLong();
  private volatile long sleepingSince;
  private volatile boolean running = true;
  private final Thread thread = new Thread(this::run, "stall-meter");

  StallMeter() {
    sleepingSince = System.nanoTime();
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    while (running) {
      long before = System.nanoTime();
      sleepingSince = before;
      LockSupport.parkNanos(TICK_NANOS);
      long late = System.nanoTime() - before - TICK_NANOS - TOLERANCE_NANOS;
      if (late > 0) {
        stalled.addAndGet(late);
      }
    }
  }

  /** The time lost so far, counting a wake that is overdue now. Compare two readings for an interval. */
  long stalledNanos() {
    long overdue = System.nanoTime() - sleepingSince - TICK_NANOS - TOLERANCE_NANOS;
    return stalled.get() + Math.max(0, overdue);
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.join(1_000);
  }
}
