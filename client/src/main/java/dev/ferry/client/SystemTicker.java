package dev.ferry.client;

import io.netty.util.concurrent.Ticker;
import java.util.concurrent.TimeUnit;

/**
 * {@link System#nanoTime()} as a Netty {@link Ticker}: the clock a channel measures deadlines on, so
 * that a deadline a caller takes from {@code System.nanoTime()} ({@link CallOptions.Builder#deadline})
 * means what it says. (Netty's own system ticker counts from when Netty was loaded.) Tests replace it
 * with a mock ticker to run a channel on fake time.
 */
final class SystemTicker implements Ticker {
  static final Ticker INSTANCE = new SystemTicker();

  private SystemTicker() {}

  @Override
  public long initialNanoTime() {
    return 0;
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public void sleep(long delay, TimeUnit unit) throws InterruptedException {
    unit.sleep(delay);
  }
}
