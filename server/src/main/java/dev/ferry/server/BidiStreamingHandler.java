package dev.ferry.server;

import dev.ferry.StreamReader;
import dev.ferry.StreamWriter;

/**
 * Handles one bidirectional-streaming call: a stream of requests in and a stream of responses out,
 * independent of each other. Runs on the server's handler executor, where it may block in
 * {@code requests.hasNext()} and {@code responses.write}; a handler that reads and writes at the same
 * time uses a second thread for one of them (each stream is flow-controlled on its own).
 *
 * <p>The call ends when the method returns: with OK, or with the status of a thrown
 * {@link dev.ferry.FerryException} (any other exception becomes {@code INTERNAL}). Requests the client
 * sends after that are dropped. If the call is cancelled first, the reader and the writer throw a
 * {@code FerryException}.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface BidiStreamingHandler<ReqT, RespT> {
  void handle(StreamReader<ReqT> requests, StreamWriter<RespT> responses, CallContext context) throws Exception;
}
