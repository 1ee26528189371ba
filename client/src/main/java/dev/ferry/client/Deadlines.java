package dev.ferry.client;

import io.netty.util.HashedWheelTimer;
import io.netty.util.Timer;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The one timer that watches every call's deadline in the process: a {@link HashedWheelTimer} with a
 * 10 ms tick on a single daemon thread, created on first use and never stopped. Arming or cancelling
 * a timeout is O(1) and costs no thread or scheduled task per call; deadlines fire up to about one
 * tick late.
 *
 * <p>Timer tasks run on the timer thread and must only hand work over to another thread (the call's
 * event loop): anything slow there delays every other deadline.
 */
final class Deadlines {
  private Deadlines() {}

  /** The shared timer. */
  static Timer timer() {
    return Holder.TIMER;
  }

  private static final class Holder {
    static final Timer TIMER = new HashedWheelTimer(
        new DefaultThreadFactory("ferry-deadlines", true), 10, TimeUnit.MILLISECONDS);
  }
}
