package dev.ferry;

import java.util.Iterator;

/**
 * The messages a streaming call receives, read one at a time by a blocking iterator: a client reads a
 * server's responses with it, a server handler its client's requests.
 *
 * <pre>{@code
 * try (StreamReader<Change> changes = stub.watch(request)) {
 *   while (changes.hasNext()) {
 *     apply(changes.next());
 *   }
 * }
 * }</pre>
 *
 * <p><b>Flow control.</b> Reading is what lets the sender go on: the sender may have at most the
 * receiver's stream window (a number of bytes, announced when the connection opens) of messages on
 * their way and not yet read, and each message read here gives its bytes back. A reader that stops
 * reading stops its sender, and holds at most that window (plus one message) in memory; it never slows
 * any other call of the connection.
 *
 * <p><b>End.</b> {@link #hasNext()} returns false once the sender ended its messages normally, and
 * throws a {@link FerryException} when the stream failed: the peer's error status, a cancellation, the
 * deadline or idle timeout, a lost connection. Every message that arrived before the failure is
 * returned first: a sender that failed after N messages is read as those N messages, then the error.
 *
 * <p><b>Close.</b> {@link #close()} before the end gives up on the stream: on a client it cancels the
 * call (the server is told at once); on a server it discards the rest of the client's messages (still
 * giving their credit back, so that the client is never stuck). Closing after the end does nothing.
 * Always close a reader you did not read to the end, for example with try-with-resources.
 *
 * <p>Thread-safe, but meant for one reading thread: {@link #hasNext()} blocks until a message, the end
 * or a failure arrives (bounded by the call's deadline, if it has one). Interrupting a thread blocked
 * in it cancels the stream and throws {@code CANCELLED} (the interrupt flag is set again).
 *
 * @param <T> the message type
 */
public interface StreamReader<T> extends Iterator<T>, AutoCloseable {
  /**
   * Waits for the next message or the end of the stream.
   *
   * @return true if {@link #next()} has a message, false once the stream ended normally
   * @throws FerryException if the stream failed (after every message that arrived before the failure)
   */
  @Override
  boolean hasNext();

  /**
   * The next message, waiting for it if needed.
   *
   * @throws java.util.NoSuchElementException if the stream ended normally
   * @throws FerryException if the stream failed
   */
  @Override
  T next();

  /** Gives up on the rest of the stream, unless it already ended (see the class comment). Never throws. */
  @Override
  void close();
}
