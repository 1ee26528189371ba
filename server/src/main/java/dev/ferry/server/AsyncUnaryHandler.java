package dev.ferry.server;

import java.util.concurrent.CompletionStage;

/**
 * Handles one unary call asynchronously: returns a stage that completes with the response, or
 * exceptionally with a {@link dev.ferry.FerryException} for a status (any other exception becomes
 * {@code INTERNAL}). The method itself is called like a {@link UnaryHandler} and should return
 * quickly; the stage may complete on any thread.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface AsyncUnaryHandler<ReqT, RespT> {
  CompletionStage<RespT> handle(ReqT request, CallContext context) throws Exception;
}
