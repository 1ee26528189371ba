package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Reconnect backoff after a failed connection attempt: exponential with jitter. Immutable.
 *
 * <p>The n-th consecutive failure of a pool slot waits {@code min(initial x multiplier^(n-1), max)},
 * spread by +-{@code jitter} so that many clients do not reconnect in step. A success resets it.
 */
public final class BackoffOptions {
  /** The defaults: 1 s, x1.6, at most 30 s, +-20%. */
  public static final BackoffOptions DEFAULT = of(Duration.ofSeconds(1), 1.6, Duration.ofSeconds(30), 0.2);

  private final Duration initial;
  private final double multiplier;
  private final Duration max;
  private final double jitter;

  private BackoffOptions(Duration initial, double multiplier, Duration max, double jitter) {
    this.initial = initial;
    this.multiplier = multiplier;
    this.max = max;
    this.jitter = jitter;
  }

  /**
   * @param initial the wait after the first failure (> 0)
   * @param multiplier growth per further failure (>= 1)
   * @param max the longest wait (>= initial)
   * @param jitter relative spread, 0 to 1
   */
  public static BackoffOptions of(Duration initial, double multiplier, Duration max, double jitter) {
    requireNonNull(initial, "initial");
    requireNonNull(max, "max");
    if (initial.isNegative() || initial.isZero()) {
      throw new IllegalArgumentException("initial: " + initial + " (expected: > 0)");
    }
    if (!(multiplier >= 1)) {
      throw new IllegalArgumentException("multiplier: " + multiplier + " (expected: >= 1)");
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("max: " + max + " (expected: >= initial " + initial + ")");
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new IllegalArgumentException("jitter: " + jitter + " (expected: 0 to 1)");
    }
    return new BackoffOptions(initial, multiplier, max, jitter);
  }

  public Duration initial() {
    return initial;
  }

  public double multiplier() {
    return multiplier;
  }

  public Duration max() {
    return max;
  }

  public double jitter() {
    return jitter;
  }

  /**
   * The wait, in nanoseconds, after {@code failures} consecutive failures (at least 1), jittered by
   * {@code random}, a number in [0, 1).
   */
  long delayNanos(int failures, double random) {
    double base = initial.toNanos() * Math.pow(multiplier, Math.max(0, failures - 1));
    base = Math.min(base, max.toNanos());
    double spread = 1 + jitter * (2 * random - 1);
    return (long) (base * spread);
  }

  @Override
  public String toString() {
    return "BackoffOptions{initial=" + initial + ", multiplier=" + multiplier + ", max=" + max + ", jitter="
        + jitter + '}';
  }
}
