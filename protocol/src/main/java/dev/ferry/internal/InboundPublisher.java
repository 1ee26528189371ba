package dev.ferry.internal;

import dev.ferry.FerryException;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An {@link InboundStream} as a {@link Flow.Publisher}: the messages of one streaming call, delivered
 * as its one subscriber requests them. Credit goes back to the sender as messages are delivered, so a
 * subscriber that requests slowly holds its sender back, and one that stops requesting stops it.
 *
 * <p>One subscriber only (a stream is read once); a second gets {@code onError}. Cancelling the
 * subscription closes the stream ({@link InboundStream#close()}: a client cancels its call).
 *
 * <p>Threads: signals run on the thread that makes them possible: the connection's event loop when a
 * message arrives, or the thread calling {@code request}; never two at once (one drain loop at a time).
 * Keep {@code onNext} short, as on any event loop.
 *
 * @param <T> the message type
 */
public final class InboundPublisher<T> implements Flow.Publisher<T> {
  private final InboundStream<T> stream;
  private final Runnable onSubscribe; // starts the call, for a client's publisher; may be null
  private final AtomicBoolean subscribed = new AtomicBoolean();

  /**
   * @param onSubscribe run once the subscriber is in place (a client starts its call there); null if
   *     the stream runs already
   */
  public InboundPublisher(InboundStream<T> stream, Runnable onSubscribe) {
    this.stream = stream;
    this.onSubscribe = onSubscribe;
  }

  @Override
  public void subscribe(Flow.Subscriber<? super T> subscriber) {
    java.util.Objects.requireNonNull(subscriber, "subscriber");
    if (!subscribed.compareAndSet(false, true)) {
      subscriber.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
      });
      subscriber.onError(new IllegalStateException("a stream's messages can be subscribed to once only"));
      return;
    }
    Delivery<T> delivery = new Delivery<>(stream, subscriber);
    subscriber.onSubscribe(delivery);
    stream.listener(delivery::drain);
    if (onSubscribe != null) {
      onSubscribe.run();
    }
    delivery.drain();
  }

  /** One subscription: demand, and the drain loop that serialises signals. */
  private static final class Delivery<T> implements Flow.Subscription {
    private final InboundStream<T> stream;
    private final Flow.Subscriber<? super T> subscriber;
    private final AtomicLong demand = new AtomicLong();
    private final AtomicInteger wip = new AtomicInteger();
    private volatile boolean cancelled;
    private volatile Throwable badRequest;
    private boolean terminated; // drain loop only

    Delivery(InboundStream<T> stream, Flow.Subscriber<? super T> subscriber) {
      this.stream = stream;
      this.subscriber = subscriber;
    }

    @Override
    public void request(long n) {
      if (n <= 0) {
        badRequest = new IllegalArgumentException("request: " + n + " (expected: > 0; Reactive Streams rule 3.9)");
      } else {
        demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
      }
      drain();
    }

    @Override
    public void cancel() {
      cancelled = true;
      stream.close();
    }

    void drain() {
      if (wip.getAndIncrement() != 0) {
        return;
      }
      do {
        if (terminated || cancelled) {
          continue;
        }
        Throwable bad = badRequest;
        if (bad != null) {
          terminated = true;
          stream.close();
          subscriber.onError(bad);
          continue;
        }
        while (demand.get() > 0 && !cancelled) {
          T message = stream.poll();
          if (message == null) {
            break;
          }
          demand.decrementAndGet();
          subscriber.onNext(message);
        }
        if (!cancelled && stream.isDone()) {
          terminated = true;
          FerryException failure = stream.failure();
          if (failure != null) {
            subscriber.onError(failure);
          } else {
            subscriber.onComplete();
          }
        }
      } while (wip.decrementAndGet() != 0);
    }
  }
}
