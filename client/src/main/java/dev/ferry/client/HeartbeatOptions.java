package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Heartbeats of a {@link FerryChannel}'s connections. Immutable.
 *
 * <p>A connection the client has written nothing to for {@link #interval()} sends PING (never a busy
 * one); a connection from which nothing has been read for {@link #timeout()} is declared dead: it is
 * closed, its calls fail with {@code UNAVAILABLE} naming the server and how long it was silent, and
 * the pool replaces it. If the server announces a longer minimum PING interval, the client uses that
 * instead (and a timeout of at least two such intervals), so it is never disconnected for pinging too
 * often.
 */
public final class HeartbeatOptions {
  /** Default PING interval on a quiet connection: 10 seconds. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
  /** Default silence after which the server is declared dead: 30 seconds. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  /** The defaults: PING after 10 s of quiet, dead after 30 s of silence. */
  public static final HeartbeatOptions DEFAULT = new HeartbeatOptions(DEFAULT_INTERVAL, DEFAULT_TIMEOUT);
  /** No heartbeats: a silent server is only noticed through the calls' deadlines. Not recommended. */
  public static final HeartbeatOptions DISABLED = new HeartbeatOptions(Duration.ZERO, Duration.ZERO);

  private final Duration interval;
  private final Duration timeout;

  private HeartbeatOptions(Duration interval, Duration timeout) {
    this.interval = interval;
    this.timeout = timeout;
  }

  /**
   * Heartbeats every {@code interval} of quiet, with the peer declared dead after {@code timeout} of
   * silence (at least the interval).
   */
  public static HeartbeatOptions of(Duration interval, Duration timeout) {
    requireNonNull(interval, "interval");
    requireNonNull(timeout, "timeout");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval: " + interval + " (expected: > 0)");
    }
    if (timeout.compareTo(interval) < 0) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: >= interval " + interval + ")");
    }
    return new HeartbeatOptions(interval, timeout);
  }

  /** PING after this long without writing; zero when disabled. */
  public Duration interval() {
    return interval;
  }

  /** Dead after this long without reading; zero when disabled. */
  public Duration timeout() {
    return timeout;
  }

  @Override
  public String toString() {
    return "HeartbeatOptions{interval=" + interval + ", timeout=" + timeout + '}';
  }
}
