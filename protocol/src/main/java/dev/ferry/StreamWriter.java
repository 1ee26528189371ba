package dev.ferry;

/**
 * The messages a streaming call sends, written one at a time: a client writes its requests with it, a
 * server handler its responses. Impossible to overrun: {@link #write} waits until the receiver has room.
 *
 * <pre>{@code
 * for (Item item : items) {
 *   requests.write(item);   // waits while the server has not read what it was sent
 * }
 * requests.complete();       // no more messages
 * }</pre>
 *
 * <p><b>Flow control.</b> The receiver grants credit in bytes: its stream window when the call starts,
 * then the size of each message its application has read. A message may be sent while some credit is
 * left, so at most the window plus one message is ever on its way or waiting to be read. {@link #write}
 * waits for credit (up to the call's deadline); non-blocking code uses {@link #trySend}, which sends
 * only if there is credit now, and {@link #onWritable} to hear when there is again. Writers also wait
 * while the connection's write buffer is above its high-water mark, so that a receiver that grants a
 * large window but does not read cannot make this side buffer it: "room" below means both.
 *
 * <p><b>End.</b> {@link #complete()} says there are no more messages: a client half-closes (the server
 * reads the end of its requests), a server handler declares its responses done (the call ends with OK
 * when the handler returns). {@link #close()} without {@code complete()} abandons the stream: a client
 * cancels the call, a server ends it with {@code CANCELLED}. Closing after {@code complete()} does
 * nothing, so try-with-resources is safe either way. Once the call has ended (the peer's status, a
 * cancellation, the deadline, a lost connection), {@code write} and {@code trySend} throw a
 * {@link FerryException} saying why.
 *
 * <p>Thread-safe. Messages are sent in the order their {@code write}s returned; each message is
 * serialised later, on the connection's thread, so it must not be changed after it was written.
 *
 * @param <T> the message type
 */
public interface StreamWriter<T> extends AutoCloseable {
  /**
   * Sends {@code message}, first waiting for credit if the receiver has none left for this stream, and
   * for the connection's write buffer to drain if it is full.
   *
   * @throws FerryException if the call has ended, ends while waiting (its deadline included), or
   *     {@code message} is larger than the receiver accepts ({@code RESOURCE_EXHAUSTED}, which ends the
   *     call); {@code CANCELLED} if the waiting thread is interrupted (the call is cancelled too)
   * @throws IllegalStateException if {@link #complete()} was called
   */
  void write(T message);

  /**
   * Sends {@code message} if there is room now (credit, and the connection's write buffer not full);
   * returns false, sending nothing, if there is not.
   *
   * @throws FerryException if the call has ended, or {@code message} is too large (see {@link #write})
   * @throws IllegalStateException if {@link #complete()} was called
   */
  boolean trySend(T message);

  /** Whether {@link #trySend} would send now: there is room, and the call has not ended. */
  boolean isWritable();

  /**
   * Runs {@code listener} once, when there is room again or the call ends (it then finds out with
   * {@link #trySend}); at once, on this thread, if either is already the case. It runs on the
   * connection's event loop: keep it short, never block in it.
   */
  void onWritable(Runnable listener);

  /** No more messages (see the class comment). Idempotent; does nothing once the call has ended. */
  void complete();

  /** Abandons the stream unless {@link #complete()} was called (see the class comment). Never throws. */
  @Override
  void close();
}
