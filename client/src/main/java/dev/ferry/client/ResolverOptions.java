package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How a channel built from a target ({@link FerryChannel#builder(String)}) follows its resolver.
 * Immutable.
 *
 * <pre>{@code
 * FerryChannel.builder("dns:///kv.internal:7070")
 *     .resolverOptions(ResolverOptions.builder().refreshInterval(Duration.ofSeconds(10)).build())
 * }</pre>
 */
public final class ResolverOptions {
  /** Default {@link #refreshInterval()}: 30 seconds. */
  public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(30);
  /** Default {@link #updateDelay()}: 1 second. */
  public static final Duration DEFAULT_UPDATE_DELAY = Duration.ofSeconds(1);
  /** The defaults. */
  public static final ResolverOptions DEFAULT = builder().build();

  private final Duration refreshInterval;
  private final Duration updateDelay;

  private ResolverOptions(Builder b) {
    this.refreshInterval = b.refreshInterval;
    this.updateDelay = b.updateDelay;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * How often a polling resolver ({@code dns}) looks again when nothing prompts it; it also looks again
   * after a connection failure or a GOAWAY (at most once a second).
   */
  public Duration refreshInterval() {
    return refreshInterval;
  }

  /**
   * How long the channel gathers resolver updates before acting on them, so that a burst (a large fleet
   * restarting, registering and deregistering) becomes one change instead of many. The first result is
   * used at once. Zero acts on each update as it comes.
   */
  public Duration updateDelay() {
    return updateDelay;
  }

  @Override
  public String toString() {
    return "ResolverOptions{refreshInterval=" + refreshInterval + ", updateDelay=" + updateDelay + '}';
  }

  /** Builds {@link ResolverOptions}. */
  public static final class Builder {
    private Duration refreshInterval = DEFAULT_REFRESH_INTERVAL;
    private Duration updateDelay = DEFAULT_UPDATE_DELAY;

    private Builder() {}

    /** See {@link ResolverOptions#refreshInterval()}; default 30 s, at least 1 s. */
    public Builder refreshInterval(Duration interval) {
      requireNonNull(interval, "interval");
      if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("refreshInterval: " + interval + " (expected: >= 1s)");
      }
      this.refreshInterval = interval;
      return this;
    }

    /** See {@link ResolverOptions#updateDelay()}; default 1 s. */
    public Builder updateDelay(Duration delay) {
      requireNonNull(delay, "delay");
      if (delay.isNegative()) {
        throw new IllegalArgumentException("updateDelay: " + delay + " (expected: >= 0)");
      }
      this.updateDelay = delay;
      return this;
    }

    public ResolverOptions build() {
      return new ResolverOptions(this);
    }
  }
}
