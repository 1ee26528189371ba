package dev.ferry.client;

import io.netty.util.HashedWheelTimer;
import io.netty.util.Timer;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The one timer that watches every call's deadline in the process: a {@link HashedWheelTimer} with a
 * 10 ms tick on a single daemon thread, shared by all channels. Arming or cancelling a timeout is O(1)
 * and costs no thread or scheduled task per call; deadlines fire up to about one tick late.
 *
 * <p>Channels {@link #acquire} it when built and {@link #release} it when terminated; the timer's thread
 * stops when the last channel is gone (so a program whose channels are all closed leaves no Ferry thread
 * behind), and a new one starts with the next channel.
 *
 * <p>Timer tasks run on the timer thread and must only hand work over to another thread (the call's
 * event loop): anything slow there delays every other deadline.
 */
final class Deadlines {
  private static Timer timer; // guarded by Deadlines.class
  private static int users; // guarded by Deadlines.class

  private Deadlines() {}

  /** The shared timer, started if no channel holds it. */
  static synchronized Timer acquire() {
    if (users++ == 0) {
      timer = new HashedWheelTimer(new DefaultThreadFactory("ferry-deadlines", true), 10, TimeUnit.MILLISECONDS);
    }
    return timer;
  }

  /** For tests: how many channels hold the timer. */
  static synchronized int users() {
    return users;
  }

  /** A channel that {@link #acquire acquired} the timer no longer needs it. */
  static synchronized void release() {
    if (--users == 0) {
      Timer stopping = timer;
      timer = null;
      // Not on the caller's thread, which may be the timer's own (stop() refuses to run there).
      GlobalEventExecutor.INSTANCE.execute(stopping::stop);
    }
  }
}
