package dev.ferry.internal;

import io.netty.bootstrap.AbstractBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * Chooses the transport: Netty's native epoll where it is available (Linux, with the native library on
 * the class path), NIO elsewhere or when the system property {@code ferry.transport.nio=true} asks for
 * it. Only epoll can set {@code TCP_USER_TIMEOUT}, which bounds how long unacknowledged writes may sit
 * in the kernel of a half-open connection; on NIO that bound is left to the heartbeat timeout alone.
 */
public final class Transports {
  private static final boolean EPOLL = !Boolean.getBoolean("ferry.transport.nio") && Epoll.isAvailable();

  private Transports() {}

  /** Whether new event loop groups use native epoll. */
  public static boolean nativeEpoll() {
    return EPOLL;
  }

  /** A group of {@code threads} daemon event loops named {@code name-N}, on the preferred transport. */
  public static EventLoopGroup newEventLoopGroup(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true),
        EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  /**
   * The event loops of in-process connections (Netty's local transport, which needs event loops of its
   * own kind): one group for the JVM, shared by every in-process server and channel and never shut
   * down, its one thread a daemon. Sharing it means that closing one side of a connection never races the
   * other side's event loop shutting down, and tests that start many servers start no threads. One
   * thread, because Netty's local channels race across event loops: a write that finds its peer open
   * can put a buffer in the peer's queue just after the peer, closing on another loop, emptied it, and
   * that buffer is never released. On one loop a write and a close never interleave.
   */
  public static EventLoopGroup inProcessEventLoopGroup() {
    return InProcessGroup.GROUP;
  }

  /** Whether {@code group} can run in-process connections. */
  public static boolean isInProcess(EventLoopGroup group) {
    return group instanceof IoEventLoopGroup && ((IoEventLoopGroup) group).isIoType(LocalIoHandler.class);
  }

  /** Holds the shared in-process group, created on first use. */
  private static final class InProcessGroup {
    static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1,
        new DefaultThreadFactory("ferry-in-process", true), LocalIoHandler.newFactory());
  }

  private static boolean isEpoll(EventLoopGroup group) {
    return group instanceof IoEventLoopGroup && ((IoEventLoopGroup) group).isIoType(EpollIoHandler.class);
  }

  /** The client socket channel type that fits {@code group}. */
  public static Class<? extends SocketChannel> socketChannelType(EventLoopGroup group) {
    return isEpoll(group) ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  /** The server socket channel type that fits {@code group}. */
  public static Class<? extends ServerSocketChannel> serverChannelType(EventLoopGroup group) {
    return isEpoll(group) ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  /**
   * Sets the socket options of a Ferry connection on a client bootstrap ({@code childOption} for
   * servers is done by {@link #configureChild}): TCP_NODELAY, SO_KEEPALIVE, and on epoll
   * TCP_USER_TIMEOUT = {@code userTimeoutMillis} when it is above 0.
   */
  public static void configure(AbstractBootstrap<?, ?> bootstrap, EventLoopGroup group, long userTimeoutMillis) {
    bootstrap.option(ChannelOption.TCP_NODELAY, true);
    bootstrap.option(ChannelOption.SO_KEEPALIVE, true);
    if (isEpoll(group) && userTimeoutMillis > 0) {
      bootstrap.option(EpollChannelOption.TCP_USER_TIMEOUT, (int) Math.min(Integer.MAX_VALUE, userTimeoutMillis));
    }
  }

  /** The same options for the accepted connections of a server bootstrap. */
  public static void configureChild(io.netty.bootstrap.ServerBootstrap bootstrap, EventLoopGroup group,
      long userTimeoutMillis) {
    bootstrap.childOption(ChannelOption.TCP_NODELAY, true);
    bootstrap.childOption(ChannelOption.SO_KEEPALIVE, true);
    if (isEpoll(group) && userTimeoutMillis > 0) {
      bootstrap.childOption(EpollChannelOption.TCP_USER_TIMEOUT,
          (int) Math.min(Integer.MAX_VALUE, userTimeoutMillis));
    }
  }

  /** Sets TCP_USER_TIMEOUT on an epoll connection (no-op on other transports or for 0). */
  public static void setUserTimeout(io.netty.channel.Channel channel, long millis) {
    if (millis > 0 && channel instanceof EpollSocketChannel) {
      channel.config().setOption(EpollChannelOption.TCP_USER_TIMEOUT, (int) Math.min(Integer.MAX_VALUE, millis));
    }
  }
}
