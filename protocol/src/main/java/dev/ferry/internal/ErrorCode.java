package dev.ferry.internal;

/** Connection-level error codes carried by ERROR and GOAWAY frames (PROTOCOL.md, "Error codes"). */
public enum ErrorCode {
  /** A graceful close: shutdown, idle or maximum age (the reason text says which). */
  NO_ERROR(0),
  /** The peer broke a rule of the protocol. */
  PROTOCOL_ERROR(1),
  /** The sender failed for a reason of its own. Also what unknown codes are read as. */
  INTERNAL_ERROR(2),
  /** A frame was longer than the receiver's MAX_FRAME_SIZE. */
  FRAME_TOO_LARGE(3),
  /** The peer's preface named a protocol version the sender does not speak. */
  UNSUPPORTED_VERSION(4),
  /** The peer sent PINGs more often than the sender's MIN_PING_INTERVAL_MS allows. */
  TOO_MANY_PINGS(5),
  /** The preface and SETTINGS did not arrive in time. */
  HANDSHAKE_TIMEOUT(6),
  /** The server refused the connection (its connection limit is reached). */
  REFUSED(7),
  /** A frame that had started arriving was not complete within the receiver's frame read timeout. */
  FRAME_TIMEOUT(8),
  /**
   * A STREAM_MESSAGE arrived while its sender had no credit left on the stream, or a WINDOW_UPDATE
   * raised a stream's credit above 2^31-1.
   */
  FLOW_CONTROL_ERROR(9);

  private static final ErrorCode[] BY_VALUE = values();

  private final int value;

  ErrorCode(int value) {
    this.value = value;
  }

  /** The number on the wire. */
  public int value() {
    return value;
  }

  /** The code for a wire number; unknown numbers are read as {@link #INTERNAL_ERROR}. */
  public static ErrorCode fromValue(long value) {
    return value >= 0 && value < BY_VALUE.length ? BY_VALUE[(int) value] : INTERNAL_ERROR;
  }
}
