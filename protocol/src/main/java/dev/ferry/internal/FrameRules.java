package dev.ferry.internal;

import io.netty.buffer.ByteBuf;

/**
 * What each frame type's header and payload must satisfy (PROTOCOL.md 6.2 and 7): the checks a
 * receiver makes, apart from the decoder that runs them, so that each reads as the spec's list does.
 * Stateless; any thread.
 */
final class FrameRules {
  private FrameRules() {}

  /**
   * What is wrong with a frame, judged from its 16-byte header alone (every error of this kind is a
   * PROTOCOL_ERROR), or null if nothing is.
   */
  static String headerViolation(FrameType type, int flags, long requestId, long metaLength, long payloadLength,
      int maxMetadataSize) {
    if (requestId > Frame.MAX_REQUEST_ID) {
      return type + " frame with request id " + requestId + " (the top bit is reserved)";
    }
    if (type.isCallFrame() && requestId == 0) {
      return type + " frame with request id 0 (expected: >= 1)";
    }
    if (!type.isCallFrame() && requestId != 0) {
      return type + " frame with request id " + requestId + " (expected: 0 for connection frames)";
    }
    if (metaLength > payloadLength) {
      return type + " frame header length " + metaLength + " exceeds its payload of " + payloadLength + " bytes";
    }
    if (metaLength > maxMetadataSize) {
      return type + " frame with a call header of " + metaLength + " bytes exceeds the maximum metadata size "
          + maxMetadataSize;
    }
    if (!type.hasCallHeader() && metaLength != 0) {
      return type + " frame with header length " + metaLength + " (expected: 0)";
    }
    switch (type) {
      case CANCEL:
        return payloadLength == 0 ? null : payloadSize(type, payloadLength, "0 bytes");
      case PING:
      case PONG:
        return payloadLength == 8 ? null : payloadSize(type, payloadLength, "8 bytes");
      case GOAWAY:
        return payloadLength >= 8 ? null : payloadSize(type, payloadLength, "at least 8 bytes");
      case ERROR:
        return payloadLength >= 4 ? null : payloadSize(type, payloadLength, "at least 4 bytes");
      case SETTINGS:
        return payloadLength % 6 == 0 ? null : payloadSize(type, payloadLength, "a multiple of 6 bytes");
      case WINDOW_UPDATE:
        return payloadLength == 4 ? null : payloadSize(type, payloadLength, "4 bytes");
      case STREAM_MESSAGE:
        if ((flags & Frame.FLAG_NO_MESSAGE) == 0) {
          return null;
        }
        if ((flags & Frame.FLAG_END_STREAM) == 0) {
          return "STREAM_MESSAGE with NO_MESSAGE but without END_STREAM (flags 0x" + Integer.toHexString(flags)
              + ")";
        }
        return payloadLength == 0 ? null : payloadSize(type, payloadLength, "0 bytes with NO_MESSAGE");
      default:
        return null;
    }
  }

  /**
   * What is wrong with a whole frame's payload, for the checks that need all of it (SETTINGS values,
   * GOAWAY's last id, WINDOW_UPDATE's increment), or null if nothing is. Reads {@code in} without moving its indexes.
   */
  static ProtocolException payloadViolation(ByteBuf in, FrameType type, int payloadAt, int payloadLength) {
    if (type == FrameType.SETTINGS) {
      try {
        Settings.decode(in.slice(payloadAt, payloadLength));
      } catch (ProtocolException e) {
        return e;
      }
    } else if (type == FrameType.GOAWAY) {
      long lastId = in.getUnsignedInt(payloadAt);
      if (lastId > Frame.MAX_REQUEST_ID) {
        return new ProtocolException(ErrorCode.PROTOCOL_ERROR,
            "GOAWAY with last request id " + lastId + " (the top bit is reserved)");
      }
    } else if (type == FrameType.WINDOW_UPDATE) {
      long increment = in.getUnsignedInt(payloadAt);
      if (increment == 0 || increment > Integer.MAX_VALUE) {
        return new ProtocolException(ErrorCode.PROTOCOL_ERROR,
            "WINDOW_UPDATE with increment " + increment + " (expected: 1 to " + Integer.MAX_VALUE + ")");
      }
    }
    return null;
  }

  private static String payloadSize(FrameType type, long payloadLength, String expected) {
    return type + " payload of " + payloadLength + " bytes (expected: " + expected + ")";
  }
}
