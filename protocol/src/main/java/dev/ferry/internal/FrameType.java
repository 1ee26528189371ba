package dev.ferry.internal;

/**
 * The frame types of protocol version 1, with their wire numbers (PROTOCOL.md, "Frame types"): the
 * unary frames 0x01-0x08 and the streaming frames 0x10-0x11 (sent only on connections that negotiated
 * streaming). Numbers 0x12-0x1F are reserved for later streaming frames; 0x80-0xFF are extension frames
 * that a receiver which does not know them skips; every other number is a protocol error.
 */
public enum FrameType {
  SETTINGS(0x01, false),
  REQUEST(0x02, true),
  RESPONSE(0x03, true),
  CANCEL(0x04, true),
  PING(0x05, false),
  PONG(0x06, false),
  GOAWAY(0x07, false),
  ERROR(0x08, false),
  /** One message of a streaming call, or the end of one side's messages (flags END_STREAM, NO_MESSAGE). */
  STREAM_MESSAGE(0x10, true),
  /** Bytes of credit for one streaming call's messages, granted as the receiver consumes them. */
  WINDOW_UPDATE(0x11, true);

  private static final FrameType[] BY_CODE = new FrameType[256];

  static {
    for (FrameType t : values()) {
      BY_CODE[t.code] = t;
    }
  }

  private final int code;
  private final boolean callFrame;

  FrameType(int code, boolean callFrame) {
    this.code = code;
    this.callFrame = callFrame;
  }

  /** The type byte on the wire. */
  public int code() {
    return code;
  }

  /** Whether frames of this type belong to a call (request id at least 1) rather than the connection (id 0). */
  public boolean isCallFrame() {
    return callFrame;
  }

  /** Whether frames of this type carry a protobuf call header at the start of their payload. */
  public boolean hasCallHeader() {
    return this == REQUEST || this == RESPONSE;
  }

  /** The type for a wire number, or {@code null} when version 1 does not define it. */
  public static FrameType forCode(int code) {
    return code >= 0 && code < 256 ? BY_CODE[code] : null;
  }

  /** Whether {@code code} is an extension frame type, skipped by receivers that do not know it. */
  public static boolean isExtension(int code) {
    return code >= 0x80 && code <= 0xFF;
  }

  /** Whether {@code code} is reserved for streaming frames not defined yet (0x12-0x1F). */
  public static boolean isReservedForStreaming(int code) {
    return code >= 0x12 && code <= 0x1F;
  }

  /** Whether frames of this type belong to streaming, and need a connection that negotiated it. */
  public boolean isStreaming() {
    return this == STREAM_MESSAGE || this == WINDOW_UPDATE;
  }
}
