package dev.ferry.server;

import com.google.protobuf.MessageLite;
import dev.ferry.internal.OutboundSubscriber;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * Turns each of the six streaming handler kinds into the one shape every registered method has: an
 * {@link AsyncUnaryHandler} whose stage completes when the handler is done. That is what lets the
 * server's interceptors run around streaming calls exactly as around unary ones (they see the
 * server-streaming request, or null for the other kinds, and a stage that completes when the stream
 * ends). The streams themselves come from the call, which is the context every handler gets.
 *
 * <p>Stateless; the adapters run where handlers run (the handler executor).
 */
final class StreamHandlers {
  private StreamHandlers() {}

  @SuppressWarnings("unchecked")
  private static <ReqT extends MessageLite, RespT extends MessageLite> ServerStreamCall<ReqT, RespT> call(
      CallContext context) {
    return (ServerStreamCall<ReqT, RespT>) context;
  }

  static <ReqT extends MessageLite, RespT extends MessageLite> AsyncUnaryHandler<ReqT, RespT> serverStreaming(
      ServerStreamingHandler<ReqT, RespT> handler) {
    return (request, context) -> {
      handler.handle(request, StreamHandlers.<ReqT, RespT>call(context).responses(), context);
      return CompletableFuture.completedFuture(null);
    };
  }

  static <ReqT extends MessageLite, RespT extends MessageLite> AsyncUnaryHandler<ReqT, RespT> serverStreamingAsync(
      AsyncServerStreamingHandler<ReqT, RespT> handler) {
    return (request, context) -> publish(handler.handle(request, context), StreamHandlers.<ReqT, RespT>call(context));
  }

  static <ReqT extends MessageLite, RespT extends MessageLite> AsyncUnaryHandler<ReqT, RespT> clientStreaming(
      ClientStreamingHandler<ReqT, RespT> handler) {
    return (request, context) -> CompletableFuture.completedFuture(
        handler.handle(StreamHandlers.<ReqT, RespT>call(context).requests(), context));
  }

  static <ReqT extends MessageLite, RespT extends MessageLite> AsyncUnaryHandler<ReqT, RespT> clientStreamingAsync(
      AsyncClientStreamingHandler<ReqT, RespT> handler) {
    return (request, context) -> handler.handle(StreamHandlers.<ReqT, RespT>call(context).requestPublisher(),
        context);
  }

  static <ReqT extends MessageLite, RespT extends MessageLite> AsyncUnaryHandler<ReqT, RespT> bidiStreaming(
      BidiStreamingHandler<ReqT, RespT> handler) {
    return (request, context) -> {
      ServerStreamCall<ReqT, RespT> call = call(context);
      handler.handle(call.requests(), call.responses(), context);
      return CompletableFuture.completedFuture(null);
    };
  }

  static <ReqT extends MessageLite, RespT extends MessageLite> AsyncUnaryHandler<ReqT, RespT> bidiStreamingAsync(
      AsyncBidiStreamingHandler<ReqT, RespT> handler) {
    return (request, context) -> {
      ServerStreamCall<ReqT, RespT> call = call(context);
      return publish(handler.handle(call.requestPublisher(), context), call);
    };
  }

  /** Subscribes to a handler's publisher of responses; the stage completes with it. */
  private static <RespT extends MessageLite> CompletionStage<RespT> publish(Flow.Publisher<RespT> publisher,
      ServerStreamCall<?, RespT> call) {
    if (publisher == null) {
      throw new NullPointerException("handler of " + call.method() + " returned null");
    }
    CompletableFuture<RespT> done = new CompletableFuture<>();
    publisher.subscribe(new OutboundSubscriber<>(call.responses(), () -> done.complete(null),
        done::completeExceptionally));
    return done;
  }
}
