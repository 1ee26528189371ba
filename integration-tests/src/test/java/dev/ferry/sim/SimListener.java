package dev.ferry.sim;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

/** What the simulated network offers a server: listening on an address until the returned channel closes. */
@FunctionalInterface
public interface SimListener {
  Channel listen(ChannelHandler childInitializer);
}
