package dev.ferry.codegen;

import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;

/** One rpc of a service, with the Java names chosen for it. */
final class Rpc {
  final MethodDescriptorProto method;
  final String methodName;
  final String constant;
  final String doc;
  String asyncName;

  Rpc(MethodDescriptorProto method, String methodName, String constant, String doc) {
    this.method = method;
    this.methodName = methodName;
    this.constant = constant;
    this.doc = doc;
  }
}
