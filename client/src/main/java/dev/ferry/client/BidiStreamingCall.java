package dev.ferry.client;

import dev.ferry.StreamReader;
import dev.ferry.StreamWriter;

/**
 * A bidirectional-streaming call in progress: its requests, written with {@link #requests()}, and its
 * responses, read with {@link #responses()}, each flow-controlled on its own. Returned by
 * {@link FerryChannel#bidiStream(dev.ferry.MethodDescriptor, CallOptions)}.
 *
 * <pre>{@code
 * try (BidiStreamingCall<Question, Answer> chat = stub.chat()) {
 *   chat.requests().write(question);
 *   Answer answer = chat.responses().next();
 *   chat.requests().complete();
 * }
 * }</pre>
 *
 * <p>The call ends with the server's status, which the response reader reports after the last
 * response. {@link #close()} cancels the call unless it has ended already, so a call left behind by an
 * exception does not linger. Reading and writing from two threads at once is the usual way to use it.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
public interface BidiStreamingCall<ReqT, RespT> extends AutoCloseable {
  /** The requests to send. */
  StreamWriter<ReqT> requests();

  /** The responses, then the call's status: the end, or a {@link dev.ferry.FerryException}. */
  StreamReader<RespT> responses();

  /** Cancels the call: the server is told, and both streams end with {@code CANCELLED}. */
  void cancel();

  /** Cancels the call unless it has ended. Never throws. */
  @Override
  void close();
}
