package dev.ferry.it;

import com.google.protobuf.Int32Value;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A cold publisher of the numbers 0 to n-1 that emits on the thread that requests them, synchronously:
 * the kind of publisher that recurses into its subscriber's {@code request} from {@code onNext}.
 */
final class RangePublisher implements Flow.Publisher<Int32Value> {
  private final int n;

  RangePublisher(int n) {
    this.n = n;
  }

  @Override
  public void subscribe(Flow.Subscriber<? super Int32Value> subscriber) {
    AtomicLong demand = new AtomicLong();
    AtomicInteger wip = new AtomicInteger();
    int[] next = {0};
    boolean[] cancelled = {false};
    subscriber.onSubscribe(new Flow.Subscription() {
      @Override
      public void request(long k) {
        demand.addAndGet(k);
        if (wip.getAndIncrement() != 0) {
          return;
        }
        do {
          while (demand.get() > 0 && next[0] < n && !cancelled[0]) {
            demand.decrementAndGet();
            subscriber.onNext(Int32Value.of(next[0]++));
          }
          if (next[0] == n && !cancelled[0]) {
            cancelled[0] = true;
            subscriber.onComplete();
          }
        } while (wip.decrementAndGet() != 0);
      }

      @Override
      public void cancel() {
        cancelled[0] = true;
      }
    });
  }
}
