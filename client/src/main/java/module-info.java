/**
 * The Ferry client: {@code dev.ferry.client} (the channel, call options, stubs' base class,
 * interceptors, pool, heartbeat, backoff and TLS options) and {@code dev.ferry.client.auth} (bearer
 * token credentials). Everything else in the client is package-private.
 */
module dev.ferry.client {
  exports dev.ferry.client;
  exports dev.ferry.client.auth;

  requires transitive dev.ferry.protocol;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.common;
  requires io.netty.resolver;
  requires org.slf4j;

  // Name resolvers for target schemes beyond the built-in static:// and dns:// (zk:// and others).
  uses dev.ferry.client.NameResolverProvider;
}
