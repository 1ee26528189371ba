package dev.ferry.server;

import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * Handles one client-streaming call without blocking: gets the requests as a {@link Flow.Publisher}
 * and returns a stage of the response. The client may send only as much as the subscriber requests
 * (plus one stream window in flight): requesting slowly holds it back.
 *
 * <p>The publisher accepts one subscriber; its signals run on the connection's event loop (or on the
 * thread that calls {@code request}), so {@code onNext} must not block. It completes when the client
 * half-closes, and fails with a {@link dev.ferry.FerryException} if the call is cancelled. The call
 * ends when the stage completes: with its response, or with the status of its failure.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface AsyncClientStreamingHandler<ReqT, RespT> {
  CompletionStage<RespT> handle(Flow.Publisher<ReqT> requests, CallContext context) throws Exception;
}
