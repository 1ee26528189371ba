package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;
import java.time.Duration;

/**
 * Per-call options: a deadline and request metadata. Immutable and thread-safe.
 *
 * <pre>{@code
 * CallOptions options = CallOptions.builder()
 *     .timeout(Duration.ofMillis(500))
 *     .metadata(Metadata.of("x-request-id", "42"))
 *     .build();
 * channel.call(SAY_HELLO, request, options);
 * }</pre>
 *
 * <p>A deadline is an absolute point on the {@link System#nanoTime()} clock. A timeout is turned into
 * one when the options are <em>built</em> ({@code now + timeout}), so options built once and reused
 * for later calls share one deadline; build them per call (or use {@link #withTimeout}) when each
 * call should get the full timeout. Without a deadline a call waits as long as the channel's default
 * timeout allows ({@link FerryChannel.Builder#defaultTimeout}), forever if there is none.
 */
public final class CallOptions {
  /** No deadline, no metadata. */
  public static final CallOptions DEFAULT = new CallOptions(false, 0, 0, Metadata.EMPTY, false);

  /**
   * Timeouts are capped at about 146 years, so that {@code now + timeout} stays comparable on the
   * {@code nanoTime} clock (differences must fit in a {@code long}).
   */
  static final long MAX_TIMEOUT_NANOS = Long.MAX_VALUE / 2;

  private final boolean hasDeadline;
  private final long deadlineNanoTime;
  private final long timeoutNanos;
  private final Metadata metadata;
  private final boolean waitForReady;

  private CallOptions(boolean hasDeadline, long deadlineNanoTime, long timeoutNanos, Metadata metadata,
      boolean waitForReady) {
    this.hasDeadline = hasDeadline;
    this.deadlineNanoTime = deadlineNanoTime;
    this.timeoutNanos = timeoutNanos;
    this.metadata = metadata;
    this.waitForReady = waitForReady;
  }

  /** A builder starting with no deadline and no metadata. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting with these options' deadline and metadata. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.hasDeadline = hasDeadline;
    b.deadlineNanoTime = deadlineNanoTime;
    b.timeoutNanos = timeoutNanos;
    b.metadata = metadata;
    b.waitForReady = waitForReady;
    return b;
  }

  /**
   * These options with the deadline set to {@code timeout} from now (replacing any deadline).
   *
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  public CallOptions withTimeout(Duration timeout) {
    return toBuilder().timeout(timeout).build();
  }

  /** These options with one more metadata entry (the deadline, if any, stays the same instant). */
  public CallOptions withMetadata(String key, String value) {
    return toBuilder().metadata(metadata.toBuilder().add(key, value).build()).build();
  }

  /** Whether these options carry a deadline. */
  public boolean hasDeadline() {
    return hasDeadline;
  }

  /**
   * The deadline, as a {@link System#nanoTime()} value.
   *
   * @throws IllegalStateException if there is no deadline ({@link #hasDeadline()} is false)
   */
  public long deadlineNanoTime() {
    if (!hasDeadline) {
      throw new IllegalStateException("no deadline");
    }
    return deadlineNanoTime;
  }

  /**
   * The timeout the deadline was computed from, in nanoseconds; 0 when the deadline was given as an
   * absolute time or there is none. Used in messages ("deadline exceeded after 300ms").
   */
  long timeoutNanos() {
    return timeoutNanos;
  }

  /**
   * Whether the call waits (up to its deadline) for a connection when none is ready, instead of failing
   * fast with {@code UNAVAILABLE} once a connection attempt has failed. False by default, as in gRPC.
   */
  public boolean waitForReady() {
    return waitForReady;
  }

  /** The metadata sent with the request; {@link Metadata#EMPTY} by default. */
  public Metadata metadata() {
    return metadata;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof CallOptions)) {
      return false;
    }
    CallOptions other = (CallOptions) o;
    return hasDeadline == other.hasDeadline && deadlineNanoTime == other.deadlineNanoTime
        && timeoutNanos == other.timeoutNanos && metadata.equals(other.metadata)
        && waitForReady == other.waitForReady;
  }

  @Override
  public int hashCode() {
    return (Boolean.hashCode(hasDeadline) * 31 + Long.hashCode(deadlineNanoTime)) * 31 + metadata.hashCode();
  }

  @Override
  public String toString() {
    String deadline = hasDeadline
        ? "in " + Duration.ofNanos(deadlineNanoTime - System.nanoTime())
        : "none";
    return "CallOptions{deadline=" + deadline + ", metadata=" + metadata
        + (waitForReady ? ", waitForReady" : "") + '}';
  }

  /** Builds {@link CallOptions}. Not thread-safe. */
  public static final class Builder {
    private boolean hasDeadline;
    private long deadlineNanoTime;
    private long timeoutNanos;
    private Duration timeout;
    private Metadata metadata = Metadata.EMPTY;
    private boolean waitForReady;

    private Builder() {}

    /**
     * Wait for a ready connection (up to the deadline) instead of failing fast while the server cannot
     * be reached. Default false.
     */
    public Builder waitForReady(boolean waitForReady) {
      this.waitForReady = waitForReady;
      return this;
    }

    /**
     * Sets the deadline to {@code timeout} after {@link #build()} is called (replacing any deadline
     * set before).
     *
     * @throws IllegalArgumentException if {@code timeout} is zero or negative
     */
    public Builder timeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
      }
      this.timeout = timeout;
      this.hasDeadline = false;
      return this;
    }

    /**
     * Sets an absolute deadline, a {@link System#nanoTime()} value (replacing any timeout set
     * before). A deadline in the past makes calls fail with {@code DEADLINE_EXCEEDED} at once.
     */
    public Builder deadline(long nanoTimeDeadline) {
      this.deadlineNanoTime = nanoTimeDeadline;
      this.timeoutNanos = 0;
      this.hasDeadline = true;
      this.timeout = null;
      return this;
    }

    /** Removes any deadline or timeout set before. */
    public Builder noDeadline() {
      this.hasDeadline = false;
      this.timeoutNanos = 0;
      this.timeout = null;
      return this;
    }

    /** Sets the request metadata (replacing any set before). */
    public Builder metadata(Metadata metadata) {
      this.metadata = requireNonNull(metadata, "metadata");
      return this;
    }

    /** The options; a timeout becomes a deadline measured from now. */
    public CallOptions build() {
      if (timeout != null) {
        long nanos = saturatedNanos(timeout);
        return new CallOptions(true, System.nanoTime() + nanos, nanos, metadata, waitForReady);
      }
      if (!hasDeadline && metadata.isEmpty() && !waitForReady) {
        return DEFAULT;
      }
      return hasDeadline
          ? new CallOptions(true, deadlineNanoTime, timeoutNanos, metadata, waitForReady)
          : new CallOptions(false, 0, 0, metadata, waitForReady);
    }
  }

  /** {@code d} in nanoseconds, capped at {@link #MAX_TIMEOUT_NANOS}. */
  static long saturatedNanos(Duration d) {
    if (d.compareTo(Duration.ofNanos(MAX_TIMEOUT_NANOS)) >= 0) {
      return MAX_TIMEOUT_NANOS;
    }
    return d.toNanos();
  }
}
