package dev.ferry.server;

import com.google.protobuf.MessageLite;
import dev.ferry.MethodDescriptor;

/** A method and its handler, as registered. */
final class ServerMethod<ReqT extends MessageLite, RespT extends MessageLite> {
  final MethodDescriptor<ReqT, RespT> descriptor;
  final AsyncUnaryHandler<ReqT, RespT> handler;

  ServerMethod(MethodDescriptor<ReqT, RespT> descriptor, AsyncUnaryHandler<ReqT, RespT> handler) {
    this.descriptor = descriptor;
    this.handler = handler;
  }
}
