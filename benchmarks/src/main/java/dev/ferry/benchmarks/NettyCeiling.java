package dev.ferry.benchmarks;

import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The physical limit of this stack on this machine: the same 16-byte length-prefixed framing over the
 * same Netty transport, with no RPC logic at all. The client writes a header and the message's bytes
 * (serialised once, up front); the server echoes each frame back as it is; the client completes calls
 * in FIFO order (one echo stream per connection keeps order). Flushes are batched as in Ferry: once
 * per read, and once per event-loop task for writes made outside a read.
 */
final class NettyCeiling implements BenchSystem {
  private static final int HEADER = 16;

  private final EventLoopGroup serverGroup;
  private final EventLoopGroup clientGroup;
  private final Channel serverChannel;
  private final ClientHandler[] clients;
  private final AtomicInteger next = new AtomicInteger();

  private NettyCeiling(EventLoopGroup serverGroup, EventLoopGroup clientGroup, Channel serverChannel,
      ClientHandler[] clients) {
    this.serverGroup = serverGroup;
    this.clientGroup = clientGroup;
    this.serverChannel = serverChannel;
    this.clients = clients;
  }

  static NettyCeiling start(Config config) throws Exception {
    // The same thread counts as Ferry uses: server I/O threads = cores, client = 1.
    EventLoopGroup serverGroup = Transports.newEventLoopGroup(Runtime.getRuntime().availableProcessors(), "ceiling-server");
    EventLoopGroup clientGroup = Transports.newEventLoopGroup(1, "ceiling-client");
    ServerBootstrap sb = new ServerBootstrap().group(serverGroup)
        .channel(Transports.serverChannelType(serverGroup))
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new FlushConsolidationHandler(256, false), frameDecoder(), new EchoHandler());
          }
        });
    Channel serverChannel = sb.bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    int port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    ClientHandler[] clients = new ClientHandler[config.connections()];
    for (int i = 0; i < clients.length; i++) {
      ClientHandler handler = new ClientHandler();
      new Bootstrap().group(clientGroup)
          .channel(Transports.socketChannelType(clientGroup))
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new FlushConsolidationHandler(256, false), frameDecoder(), handler);
            }
          })
          .connect("127.0.0.1", port).sync();
      clients[i] = handler;
    }
    return new NettyCeiling(serverGroup, clientGroup, serverChannel, clients);
  }

  private static LengthFieldBasedFrameDecoder frameDecoder() {
    // The length counts the whole frame, header included, as in Ferry's protocol.
    return new LengthFieldBasedFrameDecoder(64 * 1024 * 1024, 0, 4, -4, 0);
  }

  @Override
  public String name() {
    return Kind.CEILING.label;
  }

  @Override
  public void call(Payload request, Callback done) {
    ClientHandler client = clients[clients.length == 1 ? 0 : Math.floorMod(next.getAndIncrement(), clients.length)];
    client.call(request, done);
  }

  @Override
  public void close() throws Exception {
    for (ClientHandler c : clients) {
      c.ctx.close();
    }
    serverChannel.close().sync();
    clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  /** Echoes every frame; the flush comes once per read. */
  private static final class EchoHandler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.write(msg, ctx.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }
  }

  /** One connection of the client: writes frames, completes callbacks in order. Event loop only. */
  private static final class ClientHandler extends ChannelInboundHandlerAdapter {
    private final ArrayDeque<Callback> pending = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean reading;
    private boolean flushScheduled;
    private byte[] lastBytes;
    private Payload lastPayload;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    void call(Payload request, Callback done) {
      if (ctx.executor().inEventLoop()) {
        write(request, done);
      } else {
        ctx.executor().execute(() -> write(request, done));
      }
    }

    private void write(Payload request, Callback done) {
      if (request != lastPayload) {
        lastPayload = request;
        lastBytes = request.toByteArray(); // the bytes are the same for every call of a run
      }
      ByteBuf buf = ctx.alloc().ioBuffer(HEADER + lastBytes.length);
      buf.writeInt(HEADER + lastBytes.length).writeByte(2).writeByte(0).writeShort(0).writeInt(1).writeInt(0)
          .writeBytes(lastBytes);
      pending.addLast(done);
      ctx.write(buf, ctx.voidPromise());
      if (!reading && !flushScheduled) {
        // As Ferry does: one flush after the current event-loop task, however many calls it wrote
        // (a callback running in another connection's read writes here).
        flushScheduled = true;
        ctx.executor().execute(flushTask);
      }
    }

    private final Runnable flushTask = () -> {
      flushScheduled = false;
      ctx.flush();
    };

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      reading = true;
      ((ByteBuf) msg).release();
      pending.pollFirst().done(null);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      reading = false;
      ctx.flush();
    }
  }
}
