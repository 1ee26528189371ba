package dev.ferry.server;

import dev.ferry.StreamWriter;

/**
 * Handles one server-streaming call: one request in, a stream of responses out. Runs on the server's
 * handler executor, where it may block: {@code responses.write} waits while the client has not read
 * what it was sent (its stream window is full), so a handler can never produce faster than its client
 * consumes.
 *
 * <p>The call ends when the method returns: with OK (after every message written), or with the status
 * of a thrown {@link dev.ferry.FerryException} (any other exception becomes {@code INTERNAL}). The
 * client receives every message written before the failure, then the status. If the call ends first
 * (the client cancels, the deadline or idle timeout passes, the connection is lost), {@code write}
 * throws a {@code FerryException}, which the method may simply let through.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface ServerStreamingHandler<ReqT, RespT> {
  void handle(ReqT request, StreamWriter<RespT> responses, CallContext context) throws Exception;
}
