package dev.ferry.internal;

import com.google.protobuf.MessageLite;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Feeds an {@link OutboundStream} from an application's {@link Flow.Publisher}: it requests one message
 * at a time, and only while the stream has credit, so the publisher produces no faster than the
 * receiver reads. When the publisher completes or fails, or the call ends, each side is told.
 *
 * <p>Threads: {@code request} is called from a drain loop run by whichever thread makes progress
 * possible (the publisher's, on {@code onNext}; the connection's event loop, when credit comes back),
 * one at a time, so that a publisher that answers {@code request} synchronously does not recurse.
 *
 * @param <T> the message type
 */
public final class OutboundSubscriber<T extends MessageLite> implements Flow.Subscriber<T> {
  private final OutboundStream<T> stream;
  private final Runnable onComplete;
  private final Consumer<Throwable> onError;
  private final AtomicInteger wip = new AtomicInteger();
  private volatile Flow.Subscription subscription;
  private volatile boolean requested;
  private volatile boolean done;
  private boolean finished; // drain loop only

  /**
   * @param onComplete the publisher completed (after its last message was queued)
   * @param onError the publisher failed, or broke the rules (a message it was not asked for)
   */
  public OutboundSubscriber(OutboundStream<T> stream, Runnable onComplete, Consumer<Throwable> onError) {
    this.stream = stream;
    this.onComplete = onComplete;
    this.onError = onError;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    if (subscription != null) {
      s.cancel(); // Reactive Streams rule 2.5: one subscription at a time
      return;
    }
    subscription = s;
    pull();
  }

  @Override
  public void onNext(T message) {
    requested = false;
    try {
      if (!stream.sendRequested(message)) {
        // Only this subscriber writes, and it asks for a message only while there is credit: the
        // publisher sent one it was not asked for.
        fail(new IllegalStateException("the publisher sent a message that was not requested (Reactive Streams rule 1.1)"));
        return;
      }
    } catch (RuntimeException e) {
      subscription.cancel(); // the call has ended: the stream says why to whoever reads its outcome
      done = true;
      return;
    }
    pull();
  }

  @Override
  public void onError(Throwable t) {
    done = true;
    if (!finishOnce()) {
      return;
    }
    onError.accept(t);
  }

  @Override
  public void onComplete() {
    done = true;
    if (!finishOnce()) {
      return;
    }
    onComplete.run();
  }

  private synchronized boolean finishOnce() {
    if (finished) {
      return false;
    }
    finished = true;
    return true;
  }

  private void fail(Throwable t) {
    subscription.cancel();
    onError(t);
  }

  /** Requests the next message if there is credit, or waits for credit; cancels upstream once the call ended. */
  private void pull() {
    if (wip.getAndIncrement() != 0) {
      return;
    }
    do {
      if (done) {
        continue;
      }
      if (stream.isFinished()) {
        done = true;
        subscription.cancel();
        continue;
      }
      if (!requested) {
        if (stream.isWritable()) {
          requested = true;
          subscription.request(1);
        } else {
          stream.onWritable(this::pull);
        }
      }
    } while (wip.decrementAndGet() != 0);
  }
}
