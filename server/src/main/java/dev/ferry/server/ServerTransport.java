package dev.ferry.server;

import dev.ferry.internal.Addresses;
import dev.ferry.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalServerChannel;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Where a server listens: a TCP port (NIO or epoll), an in-process name (Netty's local transport), or,
 * in tests, a simulated network. A transport brings the event loops its connections run on, runs the
 * server's own timers, and gives back the threads it made once the server has terminated.
 *
 * <p>Threads: {@link #bind} on the thread that starts the server; the rest any.
 */
interface ServerTransport {
  /**
   * Binds and returns the listening channel, once bound; every accepted connection's pipeline is built
   * by {@code childInitializer}. Blocks until bound.
   */
  Channel bind(ChannelHandler childInitializer, WriteBufferWaterMark waterMark) throws Exception;

  /** Where the server's own timers run (the shutdown's grace period). */
  EventExecutor timers();

  /** The bound address, as messages show it. */
  String describe(Channel bound);

  /** The port bound, or -1 when there is none (in-process). */
  int port(Channel bound);

  /** The server terminated: gives back the threads this transport made (not shared ones). */
  void release();

  /** TCP on {@code host:port} (every local address when {@code host} is null; 0 picks a free port). */
  static ServerTransport tcp(String host, int port, int workerThreads, long userTimeoutMillis) {
    return new Tcp(host, port, workerThreads, userTimeoutMillis);
  }

  /** The in-process server named {@code name}, on the JVM's shared in-process event loop. */
  static ServerTransport inProcess(String name) {
    return new InProcess(name);
  }

  /** A socket: its own boss loop and worker loops, on the preferred transport. */
  final class Tcp implements ServerTransport {
    private final String host;
    private final int port;
    private final long userTimeoutMillis;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;

    Tcp(String host, int port, int workerThreads, long userTimeoutMillis) {
      this.host = host;
      this.port = port;
      this.userTimeoutMillis = userTimeoutMillis;
      this.boss = Transports.newEventLoopGroup(1, "ferry-server-boss");
      this.workers = Transports.newEventLoopGroup(workerThreads, "ferry-server-io");
    }

    @Override
    public Channel bind(ChannelHandler childInitializer, WriteBufferWaterMark waterMark) throws Exception {
      ServerBootstrap bootstrap = new ServerBootstrap()
          .group(boss, workers)
          .channel(Transports.serverChannelType(boss))
          .option(ChannelOption.SO_BACKLOG, 1024)
          .option(ChannelOption.SO_REUSEADDR, true) // a restarted server can bind its port again at once
          .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark)
          .childHandler(childInitializer);
      Transports.configureChild(bootstrap, workers, userTimeoutMillis);
      InetSocketAddress address = host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
      try {
        return bootstrap.bind(address).syncUninterruptibly().channel();
      } catch (Exception e) {
        throw new java.io.IOException("could not bind " + Addresses.describe(address) + ": " + e.getMessage(), e);
      }
    }

    @Override
    public EventExecutor timers() {
      return boss.next();
    }

    @Override
    public String describe(Channel bound) {
      return Addresses.describe(bound.localAddress());
    }

    @Override
    public int port(Channel bound) {
      return ((InetSocketAddress) bound.localAddress()).getPort();
    }

    @Override
    public void release() {
      boss.shutdownGracefully(0, 5, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 5, TimeUnit.SECONDS);
    }
  }

  /** In-process: the JVM's shared loop, which is nobody's to shut down; no socket, so no socket options. */
  final class InProcess implements ServerTransport {
    private final String name;

    InProcess(String name) {
      this.name = name;
    }

    @Override
    public Channel bind(ChannelHandler childInitializer, WriteBufferWaterMark waterMark) throws Exception {
      EventLoopGroup group = Transports.inProcessEventLoopGroup();
      try {
        return new ServerBootstrap()
            .group(group, group)
            .channel(LocalServerChannel.class)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark)
            .childHandler(childInitializer)
            .bind(new LocalAddress(name)).syncUninterruptibly().channel();
      } catch (Exception e) {
        throw new java.io.IOException("could not bind in-process:" + name + ": " + e.getMessage(), e);
      }
    }

    @Override
    public EventExecutor timers() {
      return Transports.inProcessEventLoopGroup().next();
    }

    @Override
    public String describe(Channel bound) {
      return "in-process:" + name; // the name as given: Netty's local transport lowercases it
    }

    @Override
    public int port(Channel bound) {
      return -1;
    }

    @Override
    public void release() {}
  }
}
