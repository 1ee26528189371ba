package dev.ferry.client;

import dev.ferry.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.resolver.NoopAddressResolverGroup;
import java.net.SocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;

/**
 * How a client connection gets its channel: a TCP socket (NIO or epoll), Netty's local transport (an
 * in-process server), or, in tests, a simulated network.
 *
 * <p>{@link #connect} returns at once, never blocking and never taking a lock: the channel exists, with
 * the pipeline {@code initializer} builds, before it is connected, so calls can be handed to the
 * connection at once (they wait for its handshake); the returned future completes when the channel is
 * connected, or fails with the reason it could not be.
 */
interface ClientTransport {
  /**
   * A channel on {@code loop} (a transport may bring its own) to the server {@code config} names, its
   * pipeline built by {@code initializer}; the future completes once it is connected.
   */
  ChannelFuture connect(EventLoop loop, ChannelHandler initializer, ClientConnection.Config config);

  /** The transport a channel's configuration asks for. */
  static ClientTransport of(ClientConnection.Config config) {
    return config.inProcess() ? LOCAL : SOCKET;
  }

  /**
   * TCP: NIO or epoll, whichever the (possibly shared) event loop runs, with TCP_NODELAY, SO_KEEPALIVE
   * and, on epoll, TCP_USER_TIMEOUT (the heartbeat handler refines it once the server's settings are
   * known). The host name is looked up again before every connect, so a server that moved is found, by
   * the configured {@link HostResolver}, off the event loop.
   */
  ClientTransport SOCKET = (loop, initializer, config) -> {
    Bootstrap bootstrap = new Bootstrap()
        .group(loop)
        .channel(Transports.socketChannelType(loop))
        // Addresses arrive resolved: Netty's default resolver would block the loop.
        .resolver(NoopAddressResolverGroup.INSTANCE)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, config.connectTimeoutMillis())
        .handler(initializer);
    Transports.configure(bootstrap, loop, config.heartbeat().timeout().toMillis());
    ChannelFuture registered = bootstrap.register();
    ChannelPromise connected = registered.channel().newPromise();
    config.resolver().resolve(config.host(), config.port()).whenComplete((address, lookupFailure) ->
        connectLater(registered, address, lookupFailure, connected));
    return connected;
  };

  /** In-process: Netty's local transport, on any event loop; no socket, so no socket options. */
  ClientTransport LOCAL = (loop, initializer, config) -> {
    ChannelFuture registered = new Bootstrap().group(loop).channel(LocalChannel.class).handler(initializer).register();
    ChannelPromise connected = registered.channel().newPromise();
    connectLater(registered, new LocalAddress(config.host()), null, connected);
    return connected;
  };

  /**
   * Connects {@code registered}'s channel to {@code address} on its event loop once it is registered,
   * completing {@code connected}; or fails it with {@code lookupFailure}. Any thread.
   */
  private static void connectLater(ChannelFuture registered, SocketAddress address, Throwable lookupFailure,
      ChannelPromise connected) {
    Channel channel = registered.channel();
    Runnable connect = () -> {
      if (lookupFailure != null) {
        Throwable cause = lookupFailure instanceof CompletionException && lookupFailure.getCause() != null
            ? lookupFailure.getCause() : lookupFailure;
        connected.tryFailure(cause);
        return;
      }
      registered.addListener((ChannelFutureListener) r -> {
        if (!r.isSuccess()) {
          connected.tryFailure(r.cause());
          return;
        }
        channel.connect(address).addListener((ChannelFutureListener) f -> {
          if (f.isSuccess()) {
            connected.trySuccess();
          } else {
            connected.tryFailure(f.cause());
          }
        });
      });
    };
    try {
      channel.eventLoop().execute(connect);
    } catch (RejectedExecutionException e) {
      connected.tryFailure(e); // the channel's event loops are shut down
    }
  }
}
