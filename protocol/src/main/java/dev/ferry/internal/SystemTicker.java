package dev.ferry.internal;

import io.netty.util.concurrent.Ticker;
import java.util.concurrent.TimeUnit;

/**
 * {@link System#nanoTime()} as a Netty {@link Ticker}: the clock channels and servers measure
 * deadlines and ages on, so that a deadline a caller takes from {@code System.nanoTime()} means what it
 * says. (Netty's own system ticker counts from when Netty was loaded.) Tests replace it with a mock
 * ticker to run a channel or a server on fake time.
 */
public final class SystemTicker implements Ticker {
  /** The one instance. */
  public static final Ticker INSTANCE = new SystemTicker();

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
