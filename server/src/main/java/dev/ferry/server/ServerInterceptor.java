package dev.ferry.server;

import java.util.concurrent.CompletionStage;

/**
 * Runs around the handler of every call a server serves: for authentication, authorization, metrics,
 * tracing, logging. Installed with {@link FerryServerBuilder#intercept}.
 *
 * <p>An interceptor may:
 * <ul>
 *   <li>read the call's method, metadata, peer identity and deadline from the {@link CallContext};
 *   <li>reject the call before its handler runs, by throwing (or returning a stage failed with) a
 *       {@link dev.ferry.FerryException} carrying the status, e.g. {@code UNAUTHENTICATED};
 *   <li>pass values to the handler and to later interceptors with {@link CallContext#set};
 *   <li>add trailing metadata with {@link CallContext#addTrailer};
 *   <li>call {@code next.proceed(request)} (with the request, or a replacement) and wrap, time or
 *       replace the stage it returns.
 * </ul>
 *
 * <p><b>Order.</b> Interceptors run in the order they were added to the builder: the first added is the
 * outermost; it sees the call first and its result last. An authenticator therefore goes before an
 * authorizer.
 *
 * <p><b>Threads.</b> Interceptors run where handlers run: on the server's handler executor, after the
 * request was parsed (on the event loop with {@link FerryServerBuilder#directExecutor()}, where they
 * must not block). The stage from {@code next.proceed} completes on whatever thread the handler
 * completes it on. A server without interceptors calls its handlers directly, at no extra cost.
 *
 * <p>Exceptions other than {@code FerryException} end the call with {@code INTERNAL}, logged on the
 * server, exactly as from a handler.
 */
public interface ServerInterceptor {
  /**
   * Handles one call: usually some work, then {@code next.proceed(request)}.
   *
   * @return the stage that completes with the call's response (or its failure)
   */
  <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context, Next<ReqT, RespT> next)
      throws Exception;

  /**
   * The rest of the chain: the next interceptor, or the handler.
   *
   * @param <ReqT> request type
   * @param <RespT> response type
   */
  interface Next<ReqT, RespT> {
    /**
     * Runs the rest of the chain with {@code request}. Never throws: a failure of the handler (thrown
     * or returned) is in the stage.
     */
    CompletionStage<RespT> proceed(ReqT request);
  }
}
