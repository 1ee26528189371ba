package dev.ferry.sim;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;

/**
 * What the simulated network offers a client: a connection to {@code host:port}, whose client end's
 * pipeline {@code initializer} builds; the future fails (on a closed channel) when nothing listens there.
 */
@FunctionalInterface
public interface SimConnector {
  ChannelFuture connect(ChannelHandler initializer, String host, int port);
}
