package dev.ferry.internal;

import io.netty.buffer.ByteBuf;

/**
 * The values one side announces in its SETTINGS frame (PROTOCOL.md, "Settings"). Immutable.
 *
 * <pre>{@code
 * Settings s = Settings.builder().maxFrameSize(1 << 20).heartbeatIntervalMillis(30_000).build();
 * }</pre>
 */
public final class Settings {
  public static final int ID_MAX_FRAME_SIZE = 0x0001;
  public static final int ID_HEARTBEAT_INTERVAL_MS = 0x0002;
  public static final int ID_MAX_CONCURRENT_CALLS = 0x0003;
  public static final int ID_MIN_PING_INTERVAL_MS = 0x0004;
  public static final int ID_MAX_METADATA_SIZE = 0x0005;
  public static final int ID_STREAM_INITIAL_WINDOW = 0x0006;

  /** Default and largest usual frame limit: 16 MiB, header included. */
  public static final int DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
  /** The smallest MAX_FRAME_SIZE a peer may announce. */
  public static final int MIN_MAX_FRAME_SIZE = 16 * 1024;
  /** Default: unlimited. */
  public static final int DEFAULT_MAX_CONCURRENT_CALLS = Integer.MAX_VALUE;
  /** Default call-header limit: 64 KiB. */
  public static final int DEFAULT_MAX_METADATA_SIZE = 64 * 1024;
  /**
   * The smallest MAX_METADATA_SIZE a peer may announce: 1 KiB. Every call header a side must be able to
   * send whatever the peer's limit, such as a server's RESOURCE_EXHAUSTED in place of a response header
   * too large for the client, fits in it (see {@link ResponseHead#bounded}).
   */
  public static final int MIN_MAX_METADATA_SIZE = 1024;

  /**
   * Default stream window Ferry announces: 1 MiB, gRPC-java's default flow-control window. A peer that
   * announces none (0, the protocol default) takes no part in streaming calls.
   */
  public static final int DEFAULT_STREAM_WINDOW = 1024 * 1024;

  /** The values a peer is assumed to have when its SETTINGS frame leaves them out. */
  public static final Settings DEFAULTS = builder().build();

  private static final int ENTRY_SIZE = 6;

  private final int maxFrameSize;
  private final long heartbeatIntervalMillis;
  private final int maxConcurrentCalls;
  private final long minPingIntervalMillis;
  private final int maxMetadataSize;
  private final int streamInitialWindow;

  private Settings(Builder b) {
    this.maxFrameSize = b.maxFrameSize;
    this.heartbeatIntervalMillis = b.heartbeatIntervalMillis;
    this.maxConcurrentCalls = b.maxConcurrentCalls;
    this.minPingIntervalMillis = b.minPingIntervalMillis;
    this.maxMetadataSize = b.maxMetadataSize;
    this.streamInitialWindow = b.streamInitialWindow;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The largest frame, header included, the sender accepts. */
  public int maxFrameSize() {
    return maxFrameSize;
  }

  /** How often the sender PINGs a connection it has written nothing to; 0 = it sends no heartbeats. */
  public long heartbeatIntervalMillis() {
    return heartbeatIntervalMillis;
  }

  /** The most calls in flight the sender accepts on one connection. */
  public int maxConcurrentCalls() {
    return maxConcurrentCalls;
  }

  /** The shortest interval between PINGs the sender tolerates from its peer; 0 = no minimum. */
  public long minPingIntervalMillis() {
    return minPingIntervalMillis;
  }

  /** The largest call header (frame header field metaLength) the sender accepts. */
  public int maxMetadataSize() {
    return maxMetadataSize;
  }

  /**
   * The credit, in bytes, the sender gives its peer at the start of each streaming call for the
   * messages the peer sends on it; 0 = the sender takes no part in streaming calls. Streaming is
   * possible on a connection only when both sides announce a value above 0.
   */
  public int streamInitialWindow() {
    return streamInitialWindow;
  }

  /** Whether this side and {@code peer} both announced a stream window: streaming calls are possible. */
  public boolean streamsWith(Settings peer) {
    return streamInitialWindow > 0 && peer.streamInitialWindow > 0;
  }

  /**
   * Writes the SETTINGS payload: every value, as (u16 id, u32 value) pairs; STREAM_INITIAL_WINDOW only
   * when it is not 0, its default.
   */
  public void encode(ByteBuf out) {
    out.ensureWritable(encodedSize());
    out.writeShort(ID_MAX_FRAME_SIZE).writeInt(maxFrameSize);
    out.writeShort(ID_HEARTBEAT_INTERVAL_MS).writeInt((int) heartbeatIntervalMillis);
    out.writeShort(ID_MAX_CONCURRENT_CALLS).writeInt(maxConcurrentCalls);
    out.writeShort(ID_MIN_PING_INTERVAL_MS).writeInt((int) minPingIntervalMillis);
    out.writeShort(ID_MAX_METADATA_SIZE).writeInt(maxMetadataSize);
    if (streamInitialWindow > 0) {
      out.writeShort(ID_STREAM_INITIAL_WINDOW).writeInt(streamInitialWindow);
    }
  }

  /** The size of the payload {@link #encode} writes. */
  public int encodedSize() {
    return (streamInitialWindow > 0 ? 6 : 5) * ENTRY_SIZE;
  }

  /**
   * Reads a SETTINGS payload (all readable bytes of {@code payload}; does not move its reader index).
   * Unknown ids are ignored; absent ids keep their defaults.
   *
   * @throws ProtocolException if the payload is not a whole number of entries or a value is out of range
   *     (MAX_FRAME_SIZE outside 16384 to 2^31-1, MAX_METADATA_SIZE under 1024, STREAM_INITIAL_WINDOW
   *     above 2^31-1)
   */
  public static Settings decode(ByteBuf payload) {
    int length = payload.readableBytes();
    if (length % ENTRY_SIZE != 0) {
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
          "SETTINGS payload of " + length + " bytes (expected: a multiple of 6)");
    }
    Builder b = builder();
    int at = payload.readerIndex();
    for (int end = at + length; at < end; at += ENTRY_SIZE) {
      int id = payload.getUnsignedShort(at);
      long value = payload.getUnsignedInt(at + 2);
      switch (id) {
        case ID_MAX_FRAME_SIZE:
          if (value < MIN_MAX_FRAME_SIZE || value > Integer.MAX_VALUE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "SETTINGS MAX_FRAME_SIZE " + value
                + " (expected: " + MIN_MAX_FRAME_SIZE + " to " + Integer.MAX_VALUE + ")");
          }
          b.maxFrameSize = (int) value;
          break;
        case ID_HEARTBEAT_INTERVAL_MS:
          b.heartbeatIntervalMillis = value;
          break;
        case ID_MAX_CONCURRENT_CALLS:
          b.maxConcurrentCalls = (int) Math.min(value, Integer.MAX_VALUE);
          break;
        case ID_MIN_PING_INTERVAL_MS:
          b.minPingIntervalMillis = value;
          break;
        case ID_MAX_METADATA_SIZE:
          if (value < MIN_MAX_METADATA_SIZE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "SETTINGS MAX_METADATA_SIZE " + value
                + " (expected: at least " + MIN_MAX_METADATA_SIZE + ")");
          }
          b.maxMetadataSize = (int) Math.min(value, Integer.MAX_VALUE);
          break;
        case ID_STREAM_INITIAL_WINDOW:
          if (value > Integer.MAX_VALUE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "SETTINGS STREAM_INITIAL_WINDOW " + value
                + " (expected: 0 to " + Integer.MAX_VALUE + ")");
          }
          b.streamInitialWindow = (int) value;
          break;
        default:
          // Unknown settings are ignored, so that later versions can add some.
          break;
      }
    }
    return b.build();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Settings)) {
      return false;
    }
    Settings s = (Settings) o;
    return maxFrameSize == s.maxFrameSize && heartbeatIntervalMillis == s.heartbeatIntervalMillis
        && maxConcurrentCalls == s.maxConcurrentCalls && minPingIntervalMillis == s.minPingIntervalMillis
        && maxMetadataSize == s.maxMetadataSize && streamInitialWindow == s.streamInitialWindow;
  }

  @Override
  public int hashCode() {
    return ((maxFrameSize * 31 + Long.hashCode(heartbeatIntervalMillis)) * 31 + maxConcurrentCalls) * 31
        + Long.hashCode(minPingIntervalMillis) * 17 + maxMetadataSize * 13 + streamInitialWindow;
  }

  @Override
  public String toString() {
    return "Settings{maxFrameSize=" + maxFrameSize + ", heartbeatIntervalMillis=" + heartbeatIntervalMillis
        + ", maxConcurrentCalls=" + maxConcurrentCalls + ", minPingIntervalMillis=" + minPingIntervalMillis
        + ", maxMetadataSize=" + maxMetadataSize + ", streamInitialWindow=" + streamInitialWindow + '}';
  }

  /** Builds {@link Settings}; starts from the protocol defaults. */
  public static final class Builder {
    private int maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
    private long heartbeatIntervalMillis;
    private int maxConcurrentCalls = DEFAULT_MAX_CONCURRENT_CALLS;
    private long minPingIntervalMillis;
    private int maxMetadataSize = DEFAULT_MAX_METADATA_SIZE;
    private int streamInitialWindow;

    private Builder() {}

    /** The stream window this side announces (see {@link Settings#streamInitialWindow()}); 0 = no streaming. */
    public Builder streamInitialWindow(int bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("streamInitialWindow: " + bytes + " (expected: >= 0)");
      }
      this.streamInitialWindow = bytes;
      return this;
    }

    public Builder maxFrameSize(int maxFrameSize) {
      if (maxFrameSize < MIN_MAX_FRAME_SIZE) {
        throw new IllegalArgumentException(
            "maxFrameSize: " + maxFrameSize + " (expected: >= " + MIN_MAX_FRAME_SIZE + ")");
      }
      this.maxFrameSize = maxFrameSize;
      return this;
    }

    public Builder heartbeatIntervalMillis(long millis) {
      this.heartbeatIntervalMillis = checkMillis("heartbeatIntervalMillis", millis);
      return this;
    }

    public Builder maxConcurrentCalls(int maxConcurrentCalls) {
      if (maxConcurrentCalls < 1) {
        throw new IllegalArgumentException(
            "maxConcurrentCalls: " + maxConcurrentCalls + " (expected: > 0)");
      }
      this.maxConcurrentCalls = maxConcurrentCalls;
      return this;
    }

    public Builder minPingIntervalMillis(long millis) {
      this.minPingIntervalMillis = checkMillis("minPingIntervalMillis", millis);
      return this;
    }

    public Builder maxMetadataSize(int maxMetadataSize) {
      if (maxMetadataSize < MIN_MAX_METADATA_SIZE) {
        throw new IllegalArgumentException(
            "maxMetadataSize: " + maxMetadataSize + " (expected: >= " + MIN_MAX_METADATA_SIZE + ")");
      }
      this.maxMetadataSize = maxMetadataSize;
      return this;
    }

    public Settings build() {
      return new Settings(this);
    }

    private static long checkMillis(String name, long millis) {
      if (millis < 0 || millis > 0xFFFF_FFFFL) {
        throw new IllegalArgumentException(name + ": " + millis + " (expected: 0 to 4294967295)");
      }
      return millis;
    }
  }
}
