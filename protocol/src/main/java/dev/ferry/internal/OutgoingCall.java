package dev.ferry.internal;

import com.google.protobuf.MessageLite;

/**
 * What {@link FrameEncoder} writes as a REQUEST or RESPONSE frame: a {@link CallFrame}, or a call
 * object that describes its own frame, so that no frame object is made per call. The encoder reads it
 * once, while it encodes, on the channel's event loop; nothing keeps it afterwards.
 */
public interface OutgoingCall {
  /** {@link FrameType#REQUEST} or {@link FrameType#RESPONSE}. */
  FrameType type();

  /** The call's id, at least 1. */
  int requestId();

  /** The frame header's flags: 0, or a streaming call's REQUEST flags. */
  int flags();

  /** The call header: a {@link RequestHead} or {@link ResponseHead}. */
  CallHeader header();

  /** The request or response message, or {@code null} for a failed response. */
  MessageLite body();
}
