package dev.ferry.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 that sits between a client and a server in tests and misbehaves on request:
 * it can pass traffic, delay it, drop it silently in one or both directions while keeping the
 * connections open (a black hole: what a crashed host, a pulled cable or a dropped NAT entry looks like
 * to the peer), reset every connection, or refuse new ones.
 *
 * <pre>{@code
 * try (FaultProxy proxy = FaultProxy.start(server.port())) {
 *   channel = FerryChannel.builder("127.0.0.1", proxy.port()).build();
 *   proxy.blackHole();   // both directions go silent
 *   proxy.pass();        // and back to normal
 * }
 * }</pre>
 *
 * <p>Faults set on the proxy apply to every connection; {@link #links()} gives each open connection
 * pair as a {@link Link}, to reset or black-hole one of them alone (a link passes bytes only when
 * neither it nor the proxy drops them).
 *
 * Thread-safe. Faults apply to bytes from the moment they are set.
 */
public final class FaultProxy implements AutoCloseable {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("fault-proxy", true), NioIoHandler.newFactory());
  private final InetSocketAddress target;
  private final Channel listener;
  private final Set<Channel> channels = ConcurrentHashMap.newKeySet();
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile boolean dropToServer;
  private volatile boolean dropToClient;
  private volatile boolean refuse;
  private volatile long delayNanos;

  private FaultProxy(InetSocketAddress target) {
    this.target = target;
    this.listener = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel client) {
            accept(client);
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
  }

  /** A proxy to 127.0.0.1:{@code targetPort}. */
  public static FaultProxy start(int targetPort) {
    return new FaultProxy(new InetSocketAddress("127.0.0.1", targetPort));
  }

  /** The port clients connect to. */
  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /** Connections accepted so far. */
  public int acceptedConnections() {
    return accepted.get();
  }

  /** Connection pairs currently open (each counts once). */
  public int openConnections() {
    return channels.size() / 2;
  }

  /** Pass traffic normally again (no drop, no delay, accept new connections). */
  public FaultProxy pass() {
    dropToServer = false;
    dropToClient = false;
    refuse = false;
    delayNanos = 0;
    return this;
  }

  /** Drop everything silently in both directions, keeping the connections open. */
  public FaultProxy blackHole() {
    return blackHole(true, true);
  }

  /**
   * Drop silently what the client sends, what the server sends, or both. The connections stay open but
   * have lost bytes mid-stream: {@link #resetAll()} them before passing traffic again, unless the test
   * means to feed the peers a broken stream.
   */
  public FaultProxy blackHole(boolean towardServer, boolean towardClient) {
    dropToServer = towardServer;
    dropToClient = towardClient;
    return this;
  }

  /** Delay every byte by {@code delay} in each direction (order is kept). */
  public FaultProxy delay(Duration delay) {
    delayNanos = delay.toNanos();
    return this;
  }

  /** Close new connections as soon as they are accepted (existing ones are untouched). */
  public FaultProxy refuseNew(boolean refuse) {
    this.refuse = refuse;
    return this;
  }

  /** Reset every open connection (RST, not FIN), on both sides. */
  public FaultProxy resetAll() {
    for (Channel c : channels) {
      reset(c);
    }
    return this;
  }

  /** The connection pairs open now (connected through to the server), in no particular order. */
  public List<Link> links() {
    List<Link> open = new ArrayList<>();
    for (Link link : links) {
      if (link.isOpen()) {
        open.add(link);
      }
    }
    return open;
  }

  private static void reset(Channel c) {
    if (c.isActive()) {
      try {
        c.config().setOption(ChannelOption.SO_LINGER, 0);
      } catch (RuntimeException e) {
        // closed meanwhile: an ordinary close is all that is left to do
      }
    }
    c.close();
  }

  /**
   * One proxied connection: the client's socket and the proxy's socket to the server. Its own faults
   * add to the proxy's. Thread-safe.
   */
  public final class Link {
    private final Channel client;
    private volatile Channel server;
    private volatile boolean dropToServer;
    private volatile boolean dropToClient;

    private Link(Channel client) {
      this.client = client;
    }

    /** Reset this connection (RST, not FIN) on both sides. */
    public void reset() {
      Channel s = server;
      if (s != null) {
        FaultProxy.reset(s);
      }
      FaultProxy.reset(client);
    }

    /** Drop silently what the client sends on this connection, what the server sends, or both. */
    public Link blackHole(boolean towardServer, boolean towardClient) {
      dropToServer = towardServer;
      dropToClient = towardClient;
      return this;
    }

    /** Stop dropping on this connection (faults set on the whole proxy still apply). */
    public Link pass() {
      return blackHole(false, false);
    }

    /**
     * Stop reading what the client sends, what the server sends, or both, without losing a byte: the
     * sender's writes back up in the socket buffers as they would behind a network partition, and
     * {@link #resume()} delivers them in order. (A {@link #blackHole} drops bytes instead: a TCP stream
     * never loses bytes in the middle and carries on, so a black-holed connection should be reset or
     * left to die, not passed again.)
     */
    public Link stall(boolean towardServer, boolean towardClient) {
      // On the event loop, waited for: set from another thread, auto-read only stops once a task queued
      // behind the loop's pending I/O has run, and bytes sent right after this returned would still pass.
      Runnable apply = () -> {
        client.config().setAutoRead(!towardServer);
        Channel s = server;
        if (s != null) {
          s.config().setAutoRead(!towardClient);
        }
      };
      if (client.eventLoop().inEventLoop()) {
        apply.run();
      } else {
        client.eventLoop().submit(apply).syncUninterruptibly();
      }
      return this;
    }

    /** Read in both directions again after {@link #stall}. */
    public Link resume() {
      return stall(false, false);
    }

    /** Whether both of its sockets are still open. */
    public boolean isOpen() {
      Channel s = server;
      return s != null && s.isActive() && client.isActive();
    }

    @Override
    public String toString() {
      return "Link{" + client.remoteAddress() + " -> " + target
          + (dropToServer ? ", dropping toward server" : "") + (dropToClient ? ", dropping toward client" : "") + '}';
    }
  }

  private void accept(SocketChannel client) {
    accepted.incrementAndGet();
    if (refuse) {
      client.close();
      return;
    }
    channels.add(client);
    Link link = new Link(client);
    client.closeFuture().addListener(f -> {
      channels.remove(client);
      links.remove(link);
    });
    new Bootstrap()
        .group(client.eventLoop())
        .channel(NioSocketChannel.class)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new Relay(client, link, false))
        .connect(target)
        .addListener((ChannelFutureListener) f -> {
          if (!f.isSuccess()) {
            client.close();
            return;
          }
          Channel server = f.channel();
          channels.add(server);
          server.closeFuture().addListener(x -> {
            channels.remove(server);
            client.close();
          });
          link.server = server;
          if (client.isActive()) {
            links.add(link);
          }
          client.pipeline().addLast(new Relay(server, link, true));
          client.closeFuture().addListener(x -> server.close());
          client.config().setAutoRead(true);
          server.config().setAutoRead(true);
        });
  }

  private final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    private final Link link;
    private final boolean towardServer;

    Relay(Channel peer, Link link, boolean towardServer) {
      this.peer = peer;
      this.link = link;
      this.towardServer = towardServer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (towardServer ? dropToServer || link.dropToServer : dropToClient || link.dropToClient) {
        ReferenceCountUtil.release(msg);
        return;
      }
      long delay = delayNanos;
      if (delay > 0) {
        ByteBuf buf = (ByteBuf) msg;
        ctx.executor().schedule(() -> forward(buf), delay, TimeUnit.NANOSECONDS);
      } else {
        forward(msg);
      }
    }

    private void forward(Object msg) {
      if (peer.isActive()) {
        peer.writeAndFlush(msg);
      } else {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      peer.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    for (Channel c : channels) {
      c.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
