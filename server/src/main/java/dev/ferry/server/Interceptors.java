package dev.ferry.server;

import com.google.protobuf.MessageLite;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Wraps registered methods in the server's interceptor chain, once, when the server is built. */
final class Interceptors {
  private Interceptors() {}

  /** {@code method} with its handler behind {@code interceptors} (first = outermost); as is if none. */
  static <ReqT extends MessageLite, RespT extends MessageLite> ServerMethod<ReqT, RespT> wrap(
      ServerMethod<ReqT, RespT> method, List<ServerInterceptor> interceptors) {
    if (interceptors.isEmpty()) {
      return method;
    }
    AsyncUnaryHandler<ReqT, RespT> chain = (request, ctx) -> invokeHandler(method, request, ctx);
    for (int i = interceptors.size() - 1; i >= 0; i--) {
      ServerInterceptor interceptor = interceptors.get(i);
      AsyncUnaryHandler<ReqT, RespT> next = chain;
      chain = (request, ctx) -> interceptor.interceptCall(request, ctx, r -> proceed(next, r, ctx));
    }
    return new ServerMethod<>(method.descriptor, null, chain, method.blockingStream);
  }

  private static <ReqT, RespT> CompletionStage<RespT> proceed(AsyncUnaryHandler<ReqT, RespT> next, ReqT request,
      CallContext ctx) {
    try {
      CompletionStage<RespT> stage = next.handle(request, ctx);
      return stage != null ? stage
          : CompletableFuture.failedFuture(new NullPointerException("interceptor of " + ctx.method() + " returned null"));
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
  }

  private static <ReqT extends MessageLite, RespT extends MessageLite> CompletionStage<RespT> invokeHandler(
      ServerMethod<ReqT, RespT> method, ReqT request, CallContext ctx) throws Exception {
    if (method.handler != null) {
      return CompletableFuture.completedFuture(method.handler.handle(request, ctx));
    }
    return method.asyncHandler.handle(request, ctx);
  }
}
