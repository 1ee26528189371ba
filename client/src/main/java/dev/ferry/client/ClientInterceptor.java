package dev.ferry.client;

import com.google.protobuf.MessageLite;
import dev.ferry.MethodDescriptor;
import java.util.concurrent.CompletableFuture;

/**
 * Runs around every call a channel makes: to attach credentials or tracing metadata, set deadlines,
 * time calls, log. Installed with {@link FerryChannelBuilder#intercept}.
 *
 * <p>An interceptor may change the call's options (for example add metadata with
 * {@link CallOptions#withMetadata(String, String)}) or its request before calling
 * {@code next.proceed}, fail the call without sending it (return a future failed with a
 * {@link dev.ferry.FerryException}, or throw one), and observe or transform the future it gets back.
 *
 * <p><b>Order.</b> Interceptors run in the order they were added: the first added is the outermost;
 * it sees the call first and its result last.
 *
 * <p><b>Threads.</b> {@code interceptCall} runs on the thread that starts the call; the future from
 * {@code next.proceed} completes on the connection's event loop, so stages attached to it must not
 * block. Cancelling the future the application got cancels the call sent by {@code next.proceed}.
 * A channel without interceptors makes its calls directly, at no extra cost.
 */
public interface ClientInterceptor {
  /**
   * Makes one call: usually some work, then {@code next.proceed(request, options)}.
   *
   * @return a future of the response with its trailers, or of the call's failure
   */
  <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> interceptCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, Next<ReqT, RespT> next);

  /**
   * The rest of the chain: the next interceptor, or the call itself.
   *
   * @param <ReqT> request type
   * @param <RespT> response type
   */
  interface Next<ReqT extends MessageLite, RespT extends MessageLite> {
    /** Runs the rest of the chain. Never throws: failures are in the future. */
    CompletableFuture<Response<RespT>> proceed(ReqT request, CallOptions options);
  }
}
