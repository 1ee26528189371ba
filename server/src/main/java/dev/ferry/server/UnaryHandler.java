package dev.ferry.server;

/**
 * Handles one unary call and returns the response. Runs on the server's handler executor (or on the
 * connection's event loop when the server was built with {@link FerryServerBuilder#directExecutor()},
 * in which case it must not block).
 *
 * <p>To fail the call with a status, throw {@link dev.ferry.FerryException}; any other exception
 * becomes {@code INTERNAL} with a generic message (the stack trace is logged here, never sent).
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
@FunctionalInterface
public interface UnaryHandler<ReqT, RespT> {
  RespT handle(ReqT request, CallContext context) throws Exception;
}
