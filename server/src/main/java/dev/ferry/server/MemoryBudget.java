package dev.ferry.server;

import dev.ferry.internal.LogAggregator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The server-wide memory budget ({@link FerryServerBuilder#memoryBudget}): the bytes of frames being
 * received (each reserved whole once its header is read), of requests waiting for a handler, and of
 * responses encoded and not yet written to their sockets, over all connections.
 *
 * <p>A reservation either fits or fails at once; whoever cannot wait (a response about to be encoded)
 * is refused, whoever can (a frame decoder) asks to be called back when memory is released. Callbacks
 * are woken in the order they asked, each once its size fits. Some reservations are forced past the
 * limit: memory that exists already (a request changing hands), or the small amounts each connection
 * may always use ({@link ConnectionMemory}), so that a client sending and receiving small messages is
 * never held up by another's large ones.
 *
 * <p>Running out is logged at WARN, aggregated ({@link LogAggregator}): the first in full, then a count
 * a second while it goes on.
 *
 * <p>Thread-safe: used from every event loop and handler thread.
 */
final class MemoryBudget {
  private static final Logger log = LoggerFactory.getLogger(MemoryBudget.class);
  private static final LogAggregator exhaustion =
      LogAggregator.create(log, Level.WARN, "times the server memory budget ran out");

  private final long limit;
  private final AtomicLong used = new AtomicLong();
  private final Queue<Waiter> waiters = new ConcurrentLinkedQueue<>();

  MemoryBudget(long limit) {
    this.limit = limit;
  }

  long limit() {
    return limit;
  }

  /** Bytes reserved now (may exceed the limit by forced reservations). */
  long used() {
    return used.get();
  }

  /** Reserves {@code bytes} if they fit under the limit. */
  boolean tryReserve(long bytes) {
    for (;;) {
      long u = used.get();
      if (u + bytes > limit) {
        return false;
      }
      if (used.compareAndSet(u, u + bytes)) {
        return true;
      }
    }
  }

  /**
   * Reserves {@code w.bytes} if they fit; if not, arranges for {@code w.onRoom} to run once they may,
   * and returns false. {@code onRoom} runs on the thread that releases memory: it must only hand over.
   */
  boolean tryReserveOrWait(Waiter w) {
    if (tryReserve(w.bytes)) {
      return true;
    }
    waiters.add(w);
    // A release between the failed attempt and the registration found nobody to wake: try again.
    if (tryReserve(w.bytes)) {
      waiters.remove(w);
      return true;
    }
    return false;
  }

  /** Forgets a waiter that no longer waits (its connection closed). */
  void cancel(Waiter w) {
    waiters.remove(w);
  }

  /** Reserves {@code bytes} whether or not they fit: memory that is already in use, or always allowed. */
  void forceReserve(long bytes) {
    used.addAndGet(bytes);
  }

  /** Gives back {@code bytes}, waking the waiters whose reservations may now fit. */
  void release(long bytes) {
    long u = used.addAndGet(-bytes);
    for (Waiter head; (head = waiters.peek()) != null && u + head.bytes <= limit; ) {
      if (waiters.remove(head)) {
        head.onRoom.run();
        u += head.bytes; // it will most likely take them: wake no more than fit
      }
    }
  }

  /** Logs that the budget ran out (aggregated: see the class comment). */
  void exhausted(String what) {
    exhaustion.log("Server memory budget exhausted ({} of {} bytes in use): {}", used.get(), limit, what);
  }

  /** Someone waiting for {@code bytes} to fit, woken through {@code onRoom}. Compared by identity. */
  static final class Waiter {
    final long bytes;
    final Runnable onRoom;

    Waiter(long bytes, Runnable onRoom) {
      this.bytes = bytes;
      this.onRoom = onRoom;
    }
  }
}
