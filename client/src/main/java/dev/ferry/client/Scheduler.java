package dev.ferry.client;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Time and timers for the channel's state machines (subchannel backoff, outlier ejection, resolver
 * refreshes and the coalescing of resolver updates): one seam, so that tests run them on a fake clock
 * that they advance by hand, with no sleeps.
 *
 * <p>In production it reads the channel's ticker and schedules on the channel's event loops. Thread-safe.
 */
interface Scheduler {
  /** Now, on the channel's clock. */
  long nanoTime();

  /**
   * Runs {@code task} once after {@code delayNanos}; the returned future cancels it.
   *
   * @throws java.util.concurrent.RejectedExecutionException if the channel's loops are shut down
   */
  Future<?> schedule(Runnable task, long delayNanos);

  /** The channel's loops and clock. */
  static Scheduler of(EventLoopGroup group, Ticker ticker) {
    return new Scheduler() {
      @Override
      public long nanoTime() {
        return ticker.nanoTime();
      }

      @Override
      public Future<?> schedule(Runnable task, long delayNanos) {
        return group.next().schedule(task, delayNanos, TimeUnit.NANOSECONDS);
      }
    };
  }
}
