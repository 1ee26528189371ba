package dev.ferry.server;

import java.util.concurrent.Flow;

/**
 * Handles one bidirectional-streaming call without blocking: gets the requests as a
 * {@link Flow.Publisher} (see {@link AsyncClientStreamingHandler} for its threads and flow control) and
 * returns a publisher of the responses (see {@link AsyncServerStreamingHandler}: pulled only while the
 * client has room). The call ends when the response publisher completes (OK) or fails (its status).
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface AsyncBidiStreamingHandler<ReqT, RespT> {
  Flow.Publisher<RespT> handle(Flow.Publisher<ReqT> requests, CallContext context) throws Exception;
}
