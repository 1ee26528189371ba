package dev.ferry.internal;

import com.google.protobuf.MessageLite;

/**
 * What {@link FrameEncoder} writes as a REQUEST or RESPONSE frame: a {@link CallFrame}, or a call
 * object that describes its own frame, so that no frame object is made per call. The encoder reads it
 * once, while it encodes, on the channel's event loop, and keeps it only to tell it how its write
 * ended (see {@link #written}).
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

  /**
   * How the write of this frame ended, when it was written with the channel's void promise (a frame
   * written with a promise of its own is told through that promise instead): {@code null} once all of
   * its bytes went to the transport, or why they did not (an {@link FrameEncoder.EncodeException} if
   * it could not be serialised; then nothing of it was written). Called once, on the event loop. A
   * frame whose bytes did not all go out was not received whole by the peer.
   */
  default void written(Throwable failure) {}
}
