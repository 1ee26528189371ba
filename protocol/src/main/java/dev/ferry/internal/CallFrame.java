package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.MessageLite;

/**
 * An outgoing REQUEST or RESPONSE whose call header and body are still protobuf messages.
 * {@link FrameEncoder} sizes them, allocates one buffer for the whole frame and serialises both
 * straight into it: the message is never copied after serialisation.
 *
 * @param type {@link FrameType#REQUEST} or {@link FrameType#RESPONSE}
 * @param requestId the call's id, at least 1
 * @param flags the frame header's flags: 0, or a streaming call's REQUEST flags
 *     ({@link Frame#FLAG_CLIENT_STREAM}, {@link Frame#FLAG_SERVER_STREAM})
 * @param header the call header: a {@link RequestHead} or {@link ResponseHead}
 * @param body the request or response message, or {@code null} for a failed response
 */
public record CallFrame(FrameType type, int requestId, int flags, CallHeader header, MessageLite body)
    implements OutgoingCall {
  /** A frame with no flags: every unary REQUEST, every RESPONSE. */
  public CallFrame(FrameType type, int requestId, CallHeader header, MessageLite body) {
    this(type, requestId, 0, header, body);
  }

  public CallFrame {
    requireNonNull(type, "type");
    requireNonNull(header, "header");
    if (!type.hasCallHeader()) {
      throw new IllegalArgumentException("type: " + type + " (expected: REQUEST or RESPONSE)");
    }
    if (requestId < 1) {
      throw new IllegalArgumentException("requestId: " + requestId + " (expected: > 0)");
    }
  }
}
