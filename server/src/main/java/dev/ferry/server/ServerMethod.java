package dev.ferry.server;

import com.google.protobuf.MessageLite;
import dev.ferry.MethodDescriptor;

/** A method and its handler (one of the two kinds), as registered. */
final class ServerMethod<ReqT extends MessageLite, RespT extends MessageLite> {
  final MethodDescriptor<ReqT, RespT> descriptor;
  /** The blocking-style handler, or null. */
  final UnaryHandler<ReqT, RespT> handler;
  /** The asynchronous handler, or null. */
  final AsyncUnaryHandler<ReqT, RespT> asyncHandler;

  ServerMethod(MethodDescriptor<ReqT, RespT> descriptor, UnaryHandler<ReqT, RespT> handler,
      AsyncUnaryHandler<ReqT, RespT> asyncHandler) {
    this.descriptor = descriptor;
    this.handler = handler;
    this.asyncHandler = asyncHandler;
  }
}
