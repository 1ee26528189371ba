package dev.ferry.server;

import dev.ferry.protocol.Addresses;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * WARN lines about refused connections, at most one a second, saying how many were refused since the
 * last line: a flood of refused clients (a misconfigured fleet, a connection storm) costs one line a
 * second, while a single refusal is still reported at once.
 *
 * <p>Thread-safe: the event loops of the refused connections call {@link #refused}.
 */
final class RefusalLog {
  private static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Logger log;
  private final AtomicLong nextLogNanos = new AtomicLong(System.nanoTime());
  private final AtomicLong unlogged = new AtomicLong();

  RefusalLog(Logger log) {
    this.log = log;
  }

  /** A connection from {@code peer} was refused for {@code reason}. */
  void refused(SocketAddress peer, String reason) {
    long now = System.nanoTime();
    long next = nextLogNanos.get();
    if (now - next >= 0 && nextLogNanos.compareAndSet(next, now + INTERVAL_NANOS)) {
      long others = unlogged.getAndSet(0);
      log.warn("Refused connection from {}: {}{}", Addresses.describe(peer), reason,
          others == 0 ? "" : " (" + others + " more refused since the last report)");
    } else {
      unlogged.incrementAndGet();
    }
  }
}
