package dev.ferry.server;

import java.util.concurrent.Flow;

/**
 * Handles one server-streaming call without blocking: returns a {@link Flow.Publisher} of the
 * responses, which Ferry subscribes to and pulls one message at a time, only while the client has room
 * for more (flow control): a publisher is never asked for more than its client reads.
 *
 * <p>The call ends OK when the publisher completes, or with the status of the error it signals (a
 * {@link dev.ferry.FerryException}; anything else becomes {@code INTERNAL}). If the call ends first
 * (cancel, deadline, lost connection), Ferry cancels its subscription. The method itself is called like
 * a {@link ServerStreamingHandler} and should return quickly; the publisher may signal on any thread.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface AsyncServerStreamingHandler<ReqT, RespT> {
  Flow.Publisher<RespT> handle(ReqT request, CallContext context) throws Exception;
}
