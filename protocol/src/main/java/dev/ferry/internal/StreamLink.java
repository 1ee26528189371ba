package dev.ferry.internal;

/**
 * A streaming call's way to its connection, as the stream halves ({@link InboundStream},
 * {@link OutboundStream}) use it: a write queue for commands from any thread, and, on the event loop,
 * whether the call still takes frames and a write to the channel. Each side's call implements it.
 */
public interface StreamLink {
  /** Queues {@code command} to run on the connection's event loop, in order with the connection's writes. Any thread. */
  void enqueue(Runnable command);

  /**
   * Queues a stream message's frame of {@code bytes}, as {@link #enqueue} does, counting it towards the
   * connection's writability until it is written ({@link WriteQueue#enqueueStreamMessage}). Any thread.
   */
  default void enqueueMessage(Runnable frame, int bytes) {
    enqueue(frame);
  }

  /**
   * Whether the call is still in flight on the connection, so that its frames are still meaningful to
   * the peer. Event loop.
   */
  boolean isOpen();

  /** Writes {@code frame} to the channel without flushing (the write queue flushes its batch). Event loop. */
  void write(Object frame);

  /** A message of this call could not be encoded; the call should end with INTERNAL. Event loop. */
  void encodeFailed(Throwable cause);

  /** The request id of the call on its connection. */
  int requestId();

  /**
   * Whether the connection takes more frames now: its write buffer is below its high-water mark. A
   * stream's writers wait while it is not, as they wait for credit, so that a peer that grants a large
   * window but does not read cannot make this side buffer the window. The connection wakes them with
   * {@link OutboundStream#transportWritable()} when it drains. Any thread; by default always.
   */
  default boolean transportWritable() {
    return true;
  }

  /**
   * {@code bytes} of received messages (their frames' lengths) now wait in the stream's queue for the
   * application. A server counts them in its memory budget; by default nothing is counted. Any thread,
   * called while the stream's lock is held: it must not block or call back into the stream.
   */
  default void queued(int bytes) {}

  /** {@code bytes} counted by {@link #queued} left the queue (taken, or dropped). Any thread, no lock held. */
  default void dequeued(int bytes) {}
}
