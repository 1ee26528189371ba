/**
 * The embeddable Ferry server: {@code dev.ferry.server} (the server, service definitions, handlers,
 * interceptors, TLS options) and {@code dev.ferry.server.auth} (bearer tokens, authorization).
 * Everything else in the server is package-private.
 */
module dev.ferry.server {
  exports dev.ferry.server;
  exports dev.ferry.server.auth;

  requires transitive dev.ferry.protocol;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.common;
  requires io.netty.resolver;
  requires org.slf4j;
}
