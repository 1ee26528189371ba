package dev.ferry.client;

import dev.ferry.StatusCode;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The calls waiting for a pick: no endpoint is ready yet (connecting, resolving), or every ready one is
 * at its servers' MAX_CONCURRENT_CALLS. Bounded ({@link PoolOptions#maxPendingCalls()}); the balancer
 * drains it whenever a connection becomes ready, the picker changes or a call completes.
 *
 * <p>A call in the queue is {@link CallProgress#QUEUED}; whoever takes it out moves it back to IDLE by
 * compare-and-set, so a call that completed meanwhile (its deadline, a cancel) is skipped and a call is
 * never started twice.
 *
 * <p>Threads: any; lock-free.
 */
final class PendingCalls {
  private final ConcurrentLinkedDeque<ClientCall<?, ?>> queue = new ConcurrentLinkedDeque<>();
  private final AtomicInteger waiting = new AtomicInteger();
  /** Calls on their way into the queue (see {@link Balancer}): they will hear of a failure on entering. */
  final AtomicInteger arriving = new AtomicInteger();
  private final int max;

  PendingCalls(int max) {
    this.max = max;
  }

  /** Counts one more waiting call; false (counting nothing) if the queue is full. */
  boolean reserve() {
    if (waiting.incrementAndGet() > max) {
      waiting.decrementAndGet();
      return false;
    }
    return true;
  }

  /** Gives back a reservation that did not become a queued call. */
  void unreserve() {
    waiting.decrementAndGet();
  }

  /** Queues {@code call}, which holds a reservation and is QUEUED. */
  void add(ClientCall<?, ?> call) {
    queue.addLast(call);
  }

  int max() {
    return max;
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  /** The oldest waiting call that is still live, moved back to IDLE; null if none. */
  ClientCall<?, ?> pollLive() {
    ClientCall<?, ?> call;
    while ((call = queue.pollFirst()) != null) {
      waiting.decrementAndGet();
      if (call.advance(CallProgress.QUEUED, CallProgress.IDLE)) {
        return call;
      }
      // Completed while it waited: callDone found it still queued, or it is about to.
    }
    return null;
  }

  /** A call completed: if it was still waiting, it leaves the queue now (it stops counting against the bound). */
  void callDone(ClientCall<?, ?> call) {
    if (call.progressAtDone() == CallProgress.QUEUED && queue.removeFirstOccurrence(call)) {
      waiting.decrementAndGet();
    }
  }

  /**
   * Fails with UNAVAILABLE {@code why} the waiting calls that are not wait-for-ready (and drops finished
   * ones). Returns how many it failed.
   */
  int failFast(String why, Throwable cause) {
    int failed = 0;
    for (Iterator<ClientCall<?, ?>> it = queue.iterator(); it.hasNext(); ) {
      ClientCall<?, ?> call = it.next();
      if (call.isFinished() || !call.waitForReady()) {
        if (queue.removeFirstOccurrence(call)) {
          waiting.decrementAndGet();
          failed += call.isFinished() ? 0 : 1;
          call.fail(StatusCode.UNAVAILABLE, why, cause);
        }
      }
    }
    return failed;
  }

  /** Calls waiting, as counted against the bound. */
  int waiting() {
    return waiting.get();
  }

  /** For tests: entries in the queue (live or finished). */
  int size() {
    return queue.size();
  }
}
