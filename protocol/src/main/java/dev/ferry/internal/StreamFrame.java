package dev.ferry.internal;

import com.google.protobuf.MessageLite;

/**
 * An outgoing STREAM_MESSAGE whose message is still a protobuf object: {@link FrameEncoder} serialises
 * it straight into the frame's buffer on the event loop, as it does a {@link CallFrame}'s body.
 *
 * <p>It travels through the connection's {@link WriteQueue} as a command ({@link #run}): on the event
 * loop it is written only if its stream still takes frames (a call cancelled or answered meanwhile
 * sends nothing more), in the order the stream queued it. Immutable.
 */
public final class StreamFrame implements Runnable {
  private final StreamLink link;
  private final int requestId;
  private final int flags;
  private final MessageLite message;

  /**
   * @param link the stream's way to the channel
   * @param flags {@link Frame#FLAG_END_STREAM} for a client's last message, else 0
   */
  public StreamFrame(StreamLink link, int requestId, int flags, MessageLite message) {
    this.link = link;
    this.requestId = requestId;
    this.flags = flags;
    this.message = message;
  }

  public int requestId() {
    return requestId;
  }

  public int flags() {
    return flags;
  }

  public MessageLite message() {
    return message;
  }

  /** The encoder could not serialise the message: nothing of the frame was written. Event loop. */
  void encodeFailed(Throwable cause) {
    link.encodeFailed(cause);
  }

  /** Event loop, from the write queue: writes the frame if the stream still takes frames. */
  @Override
  public void run() {
    if (link.isOpen()) {
      link.write(this);
    }
  }
}
