/**
 * Ferry's core: the API types every Ferry program uses ({@code dev.ferry}: status codes, metadata,
 * the exception, method descriptors, TLS options) and the wire protocol (frames, codec, handshake,
 * heartbeats), which is internal: exported only to Ferry's own modules.
 */
module dev.ferry.protocol {
  exports dev.ferry;
  exports dev.ferry.internal to dev.ferry.server, dev.ferry.client;
  exports dev.ferry.internal.wire to dev.ferry.server, dev.ferry.client;

  requires transitive com.google.protobuf;
  requires transitive io.netty.handler;
  requires transitive io.netty.transport;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.common;
  requires io.netty.transport.classes.epoll;
  requires org.slf4j;
}
