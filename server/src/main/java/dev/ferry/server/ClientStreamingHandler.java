package dev.ferry.server;

import dev.ferry.StreamReader;

/**
 * Handles one client-streaming call: a stream of requests in, one response out. Runs on the server's
 * handler executor, where it may block: {@code requests.hasNext()} waits for the client's next
 * message, and each message read lets the client send more (flow control), so a slow handler holds its
 * client back without buffering more than its stream window.
 *
 * <p>{@code requests.hasNext()} returns false once the client has sent all its messages (it
 * half-closed). The call ends when the method returns its response (which may come before the client
 * is done: its remaining messages are then dropped), or with the status of a thrown
 * {@link dev.ferry.FerryException} (any other exception becomes {@code INTERNAL}). If the call is
 * cancelled first, {@code hasNext()} throws a {@code FerryException}.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface ClientStreamingHandler<ReqT, RespT> {
  RespT handle(StreamReader<ReqT> requests, CallContext context) throws Exception;
}
