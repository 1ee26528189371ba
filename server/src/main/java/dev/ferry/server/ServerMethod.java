package dev.ferry.server;

import com.google.protobuf.MessageLite;
import dev.ferry.MethodDescriptor;
import dev.ferry.internal.RequestHead;

/** A method and its handler (a blocking one, or an asynchronous one, which streams always are), as registered. */
final class ServerMethod<ReqT extends MessageLite, RespT extends MessageLite> {
  final MethodDescriptor<ReqT, RespT> descriptor;
  /** The blocking-style handler, or null. */
  final UnaryHandler<ReqT, RespT> handler;
  /** The asynchronous handler, or null; for a streaming method, its handler adapted ({@link StreamHandlers}). */
  final AsyncUnaryHandler<ReqT, RespT> asyncHandler;
  /** Whether the method streams either way: its calls are {@link ServerStreamCall}s. */
  final boolean streaming;
  /**
   * Whether its handler blocks for its stream's whole life (the blocking streaming styles): it runs on
   * the server's blocking-stream executor, not the handler executor.
   */
  final boolean blockingStream;
  /** How a REQUEST header that names this method and nothing else parses: one for all such calls. */
  final RequestHead.Parsed<ServerMethod<?, ?>> plainRequest = RequestHead.Parsed.plain(this);

  ServerMethod(MethodDescriptor<ReqT, RespT> descriptor, UnaryHandler<ReqT, RespT> handler,
      AsyncUnaryHandler<ReqT, RespT> asyncHandler) {
    this(descriptor, handler, asyncHandler, false);
  }

  ServerMethod(MethodDescriptor<ReqT, RespT> descriptor, UnaryHandler<ReqT, RespT> handler,
      AsyncUnaryHandler<ReqT, RespT> asyncHandler, boolean blockingStream) {
    this.descriptor = descriptor;
    this.handler = handler;
    this.asyncHandler = asyncHandler;
    this.streaming = descriptor.type() != MethodDescriptor.Type.UNARY;
    this.blockingStream = blockingStream;
  }
}
