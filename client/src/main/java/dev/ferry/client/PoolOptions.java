package dev.ferry.client;

/**
 * How a {@link FerryChannel} pools its connections to the server. Immutable.
 *
 * <pre>{@code
 * FerryChannel.builder(host, port).pool(PoolOptions.builder().size(4).eager(true).build())
 * }</pre>
 */
public final class PoolOptions {
  /** Default number of connections: 2. */
  public static final int DEFAULT_SIZE = 2;
  /** Default bound of the queue of calls waiting for a connection or for capacity: 10,000. */
  public static final int DEFAULT_MAX_PENDING_CALLS = 10_000;
  /** The defaults: 2 connections, opened on first use, 10,000 waiting calls at most. */
  public static final PoolOptions DEFAULT = builder().build();

  private final int size;
  private final boolean eager;
  private final int maxPendingCalls;

  private PoolOptions(Builder b) {
    this.size = b.size;
    this.eager = b.eager;
    this.maxPendingCalls = b.maxPendingCalls;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Connections kept to the server. */
  public int size() {
    return size;
  }

  /** Whether the connections are opened when the channel is built rather than on its first call. */
  public boolean eager() {
    return eager;
  }

  /**
   * Calls that may wait at once, for a connection to become ready or for room under the server's
   * MAX_CONCURRENT_CALLS; beyond that calls fail with {@code RESOURCE_EXHAUSTED}.
   */
  public int maxPendingCalls() {
    return maxPendingCalls;
  }

  @Override
  public String toString() {
    return "PoolOptions{size=" + size + ", eager=" + eager + ", maxPendingCalls=" + maxPendingCalls + '}';
  }

  /** Builds {@link PoolOptions}. */
  public static final class Builder {
    private int size = DEFAULT_SIZE;
    private boolean eager;
    private int maxPendingCalls = DEFAULT_MAX_PENDING_CALLS;

    private Builder() {}

    /** Connections kept to the server; default 2. */
    public Builder size(int size) {
      if (size < 1 || size > 1024) {
        throw new IllegalArgumentException("size: " + size + " (expected: 1 to 1024)");
      }
      this.size = size;
      return this;
    }

    /** Open the connections when the channel is built; default false (on first use). */
    public Builder eager(boolean eager) {
      this.eager = eager;
      return this;
    }

    /** Bound of the waiting-call queue; default 10,000. */
    public Builder maxPendingCalls(int max) {
      if (max < 0) {
        throw new IllegalArgumentException("maxPendingCalls: " + max + " (expected: >= 0)");
      }
      this.maxPendingCalls = max;
      return this;
    }

    public PoolOptions build() {
      return new PoolOptions(this);
    }
  }
}
