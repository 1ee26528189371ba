package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;
import java.time.Duration;
import java.util.Optional;

/**
 * Per-call options: a timeout or a deadline, request metadata, wait-for-ready, a stream's idle
 * timeout. Immutable and
 * thread-safe: build them once and reuse them for as many calls as you like.
 *
 * <pre>{@code
 * CallOptions options = CallOptions.builder()
 *     .timeout(Duration.ofMillis(500))
 *     .metadata(Metadata.of("x-request-id", "42"))
 *     .build();
 * channel.call(SAY_HELLO, request, options);
 * }</pre>
 *
 * <p><b>Timeout or deadline.</b> A {@linkplain Builder#timeout timeout} counts from the start of each
 * call made with the options: options with a 60-second timeout give every call 60 seconds, however
 * long ago they were built. A {@linkplain Builder#deadline deadline} is one fixed instant (on the
 * {@link System#nanoTime()} clock) shared by every call made with the options, for example a budget
 * for a whole batch of calls ({@link Builder#deadlineAfter} fixes it a duration from now). Setting one
 * replaces the other. With neither, a call waits as long as the channel's default timeout allows
 * ({@link FerryChannelBuilder#defaultTimeout}), forever if there is none.
 */
public final class CallOptions {
  /** No timeout or deadline, no metadata. */
  public static final CallOptions DEFAULT = new CallOptions(0, false, 0, Metadata.EMPTY, false, 0);

  /**
   * Timeouts are capped at about 146 years, so that {@code now + timeout} stays comparable on the
   * {@code nanoTime} clock (differences must fit in a {@code long}).
   */
  static final long MAX_TIMEOUT_NANOS = Long.MAX_VALUE / 2;

  private final long timeoutNanos; // 0 = none
  private final boolean hasDeadline;
  private final long deadlineNanoTime;
  private final Metadata metadata;
  private final boolean waitForReady;
  private final long idleTimeoutNanos; // 0 = none

  private CallOptions(long timeoutNanos, boolean hasDeadline, long deadlineNanoTime, Metadata metadata,
      boolean waitForReady, long idleTimeoutNanos) {
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.timeoutNanos = timeoutNanos;
    this.hasDeadline = hasDeadline;
    this.deadlineNanoTime = deadlineNanoTime;
    this.metadata = metadata;
    this.waitForReady = waitForReady;
  }

  /** A builder starting with no timeout, no deadline and no metadata. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting with these options. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.timeoutNanos = timeoutNanos;
    b.hasDeadline = hasDeadline;
    b.deadlineNanoTime = deadlineNanoTime;
    b.metadata = metadata;
    b.waitForReady = waitForReady;
    b.idleTimeoutNanos = idleTimeoutNanos;
    return b;
  }

  /**
   * These options with a timeout of {@code timeout} from each call's start (replacing any timeout or
   * deadline).
   *
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  public CallOptions withTimeout(Duration timeout) {
    return toBuilder().timeout(timeout).build();
  }

  /**
   * These options with a deadline {@code duration} from now, shared by every call made with them
   * (replacing any timeout or deadline).
   *
   * @throws IllegalArgumentException if {@code duration} is negative
   */
  public CallOptions withDeadlineAfter(Duration duration) {
    return toBuilder().deadlineAfter(duration).build();
  }

  /** These options with one more metadata entry (the timeout or deadline stays as it is). */
  public CallOptions withMetadata(String key, String value) {
    return toBuilder().metadata(metadata.toBuilder().add(key, value).build()).build();
  }

  /** The timeout each call gets from its start, if one is set. */
  public Optional<Duration> timeout() {
    return timeoutNanos > 0 ? Optional.of(Duration.ofNanos(timeoutNanos)) : Optional.empty();
  }

  /** Whether these options carry a deadline (a fixed instant; a {@linkplain #timeout() timeout} is not one). */
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

  /** The timeout in nanoseconds, 0 if none. */
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

  /**
   * A streaming call's idle timeout, if one is set: the call fails with {@code DEADLINE_EXCEEDED}, on
   * both sides, once its stream has gone that long without a message either way. It has no effect on
   * unary calls.
   */
  public Optional<Duration> idleTimeout() {
    return idleTimeoutNanos > 0 ? Optional.of(Duration.ofNanos(idleTimeoutNanos)) : Optional.empty();
  }

  /** The idle timeout in nanoseconds, 0 if none. */
  long idleTimeoutNanos() {
    return idleTimeoutNanos;
  }

  /** These options with a stream idle timeout (see {@link #idleTimeout()}). */
  public CallOptions withIdleTimeout(Duration idleTimeout) {
    return toBuilder().idleTimeout(idleTimeout).build();
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
    return timeoutNanos == other.timeoutNanos && hasDeadline == other.hasDeadline
        && deadlineNanoTime == other.deadlineNanoTime && metadata.equals(other.metadata)
        && waitForReady == other.waitForReady && idleTimeoutNanos == other.idleTimeoutNanos;
  }

  @Override
  public int hashCode() {
    return ((Long.hashCode(timeoutNanos) * 31 + Boolean.hashCode(hasDeadline)) * 31
        + Long.hashCode(deadlineNanoTime)) * 31 + metadata.hashCode() + Long.hashCode(idleTimeoutNanos) * 17;
  }

  @Override
  public String toString() {
    String limit = timeoutNanos > 0 ? "timeout=" + Duration.ofNanos(timeoutNanos)
        : hasDeadline ? "deadline=in " + Duration.ofNanos(deadlineNanoTime - System.nanoTime())
        : "no deadline";
    return "CallOptions{" + limit + ", metadata=" + metadata + (waitForReady ? ", waitForReady" : "")
        + (idleTimeoutNanos > 0 ? ", idleTimeout=" + Duration.ofNanos(idleTimeoutNanos) : "") + '}';
  }

  /** Builds {@link CallOptions}. Not thread-safe. */
  public static final class Builder {
    private long timeoutNanos;
    private boolean hasDeadline;
    private long deadlineNanoTime;
    private Metadata metadata = Metadata.EMPTY;
    private boolean waitForReady;
    private long idleTimeoutNanos;

    private Builder() {}

    /**
     * Gives streaming calls made with the options an idle timeout: the longest their stream may go
     * without a message in either direction. It travels to the server, which applies it too.
     *
     * @throws IllegalArgumentException if {@code idleTimeout} is zero or negative
     */
    public Builder idleTimeout(Duration idleTimeout) {
      requireNonNull(idleTimeout, "idleTimeout");
      if (idleTimeout.isNegative() || idleTimeout.isZero()) {
        throw new IllegalArgumentException("idleTimeout: " + idleTimeout + " (expected: > 0)");
      }
      this.idleTimeoutNanos = saturatedNanos(idleTimeout);
      return this;
    }

    /**
     * Wait for a ready connection (up to the deadline) instead of failing fast while the server cannot
     * be reached. Default false.
     */
    public Builder waitForReady(boolean waitForReady) {
      this.waitForReady = waitForReady;
      return this;
    }

    /**
     * Gives each call made with the options {@code timeout} from its start (replacing any timeout or
     * deadline set before). Timeouts over about 146 years are capped there.
     *
     * @throws IllegalArgumentException if {@code timeout} is zero or negative
     */
    public Builder timeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
      }
      this.timeoutNanos = saturatedNanos(timeout);
      this.hasDeadline = false;
      return this;
    }

    /**
     * Sets a deadline, a {@link System#nanoTime()} value shared by every call made with the options
     * (replacing any timeout or deadline set before). A call started after it fails with
     * {@code DEADLINE_EXCEEDED} at once.
     */
    public Builder deadline(long nanoTimeDeadline) {
      this.deadlineNanoTime = nanoTimeDeadline;
      this.hasDeadline = true;
      this.timeoutNanos = 0;
      return this;
    }

    /**
     * Sets a deadline {@code duration} from now (from this method call), shared by every call made with
     * the options; see {@link #deadline(long)}.
     *
     * @throws IllegalArgumentException if {@code duration} is negative
     */
    public Builder deadlineAfter(Duration duration) {
      requireNonNull(duration, "duration");
      if (duration.isNegative()) {
        throw new IllegalArgumentException("duration: " + duration + " (expected: >= 0)");
      }
      return deadline(System.nanoTime() + saturatedNanos(duration));
    }

    /** Removes any timeout or deadline set before. */
    public Builder noDeadline() {
      this.hasDeadline = false;
      this.timeoutNanos = 0;
      return this;
    }

    /** Sets the request metadata (replacing any set before). */
    public Builder metadata(Metadata metadata) {
      this.metadata = requireNonNull(metadata, "metadata");
      return this;
    }

    /** The options. */
    public CallOptions build() {
      if (timeoutNanos == 0 && !hasDeadline && metadata.isEmpty() && !waitForReady && idleTimeoutNanos == 0) {
        return DEFAULT;
      }
      return new CallOptions(timeoutNanos, hasDeadline, hasDeadline ? deadlineNanoTime : 0, metadata,
          waitForReady, idleTimeoutNanos);
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
