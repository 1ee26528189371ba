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
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The physical limit of streaming on this stack: the same 16-byte-header length-prefixed framing as
 * Ferry over the same Netty transport, with no RPC logic. A producer writes frames (a copy of the
 * message's bytes, serialised once, into a fresh buffer each, as an encoder would) while its channel is
 * writable, flushing every {@value #FLUSH_EVERY} frames, and resumes when the channel is writable again;
 * it yields the event loop every {@value #FRAMES_PER_TURN} frames. The receiving side counts frames.
 *
 * <ul>
 *   <li>Server stream: the client sends one START frame per stream; the server produces frames for its
 *       streams in turn.
 *   <li>Bidi echo: the client produces; the server writes each frame it reads back as it is (flushed once
 *       per read) and stops reading while its channel is not writable, so a slow path back holds the
 *       client's writes back through TCP.
 * </ul>
 *
 * <p>Threads: one client event loop, server event loops as many as cores (as for Ferry).
 */
final class NettyStreamCeiling implements StreamSystem {
  private static final int HEADER = 16;
  private static final byte START = 1;
  private static final byte DATA = 2;
  private static final int FLUSH_EVERY = 64;
  private static final int FRAMES_PER_TURN = 1024;

  private final EventLoopGroup serverGroup;
  private final EventLoopGroup clientGroup;
  private final Channel serverChannel;
  private final int port;

  private NettyStreamCeiling(EventLoopGroup serverGroup, EventLoopGroup clientGroup, Channel serverChannel) {
    this.serverGroup = serverGroup;
    this.clientGroup = clientGroup;
    this.serverChannel = serverChannel;
    this.port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  static NettyStreamCeiling start() throws Exception {
    EventLoopGroup serverGroup = Transports.newEventLoopGroup(Runtime.getRuntime().availableProcessors(),
        "stream-ceiling-server");
    EventLoopGroup clientGroup = Transports.newEventLoopGroup(1, "stream-ceiling-client");
    Channel serverChannel = new ServerBootstrap().group(serverGroup)
        .channel(Transports.serverChannelType(serverGroup))
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(frameDecoder(), new ServerHandler());
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    return new NettyStreamCeiling(serverGroup, clientGroup, serverChannel);
  }

  private static LengthFieldBasedFrameDecoder frameDecoder() {
    return new LengthFieldBasedFrameDecoder(64 * 1024 * 1024, 0, 4, -4, 0);
  }

  @Override
  public String name() {
    return StreamSystem.Kind.CEILING.label;
  }

  @Override
  public Streams open(Mode mode, int streams, Payload message, Counters counters) throws Exception {
    ClientHandler handler = new ClientHandler(mode, streams, message.toByteArray(), counters);
    Channel channel = new Bootstrap().group(clientGroup)
        .channel(Transports.socketChannelType(clientGroup))
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(frameDecoder(), handler);
          }
        })
        .connect("127.0.0.1", port).sync().channel();
    return () -> {
      handler.stopped = true;
      channel.close().sync();
    };
  }

  @Override
  public void close() throws Exception {
    serverChannel.close().sync();
    clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  /** Writes frames of {@code body} for streams {@code 1..streams} in turn while writable. Event loop. */
  private abstract static class Producer extends ChannelInboundHandlerAdapter {
    private int streams;
    private int next;
    private byte[] body;
    private ChannelHandlerContext ctx;
    private boolean producing;
    private final Runnable produceTask = this::produce;

    void startProducing(ChannelHandlerContext ctx, int streams, byte[] body) {
      this.ctx = ctx;
      this.streams = streams;
      this.body = body;
      produce();
    }

    boolean producing() {
      return streams > 0;
    }

    void produce() {
      if (producing || streams == 0 || !ctx.channel().isActive()) {
        return;
      }
      producing = true;
      try {
        int written = 0;
        do {
          while (ctx.channel().isWritable() && written < FRAMES_PER_TURN) {
            ByteBuf frame = ctx.alloc().ioBuffer(HEADER + body.length);
            frame.writeInt(HEADER + body.length).writeByte(DATA).writeByte(0).writeShort(0)
                .writeInt(1 + next).writeInt(0).writeBytes(body);
            next = next + 1 == streams ? 0 : next + 1;
            ctx.write(frame, ctx.voidPromise());
            if (++written % FLUSH_EVERY == 0) {
              ctx.flush();
            }
          }
          // A flush that empties the buffer makes the channel writable again from inside this loop,
          // where channelWritabilityChanged cannot re-enter: so look again after it.
          ctx.flush();
        } while (ctx.channel().isWritable() && written < FRAMES_PER_TURN);
        if (written == FRAMES_PER_TURN && ctx.channel().isWritable()) {
          ctx.executor().execute(produceTask); // let reads and other channels in, then go on
        }
      } finally {
        producing = false;
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        produce();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // the peer closed while frames were on their way: how every block ends
    }
  }

  /** The server: produces for START frames, echoes DATA frames. */
  private static final class ServerHandler extends Producer {
    private int started;
    private byte[] pendingBody;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf frame = (ByteBuf) msg;
      if (frame.getByte(4) == START) {
        byte[] body = new byte[frame.readableBytes() - HEADER];
        frame.getBytes(HEADER, body);
        frame.release();
        started++;
        pendingBody = body; // the client sends its START frames at once: produce once this read is done
        return;
      }
      ctx.write(frame, ctx.voidPromise());
    }


    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
      if (pendingBody != null) {
        byte[] body = pendingBody;
        pendingBody = null;
        startProducing(ctx, started, body);
      }
      if (!producing() && !ctx.channel().isWritable()) {
        ctx.channel().config().setAutoRead(false); // the echo's way back is full: read no more for now
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable() && !producing()) {
        ctx.channel().config().setAutoRead(true);
      }
      super.channelWritabilityChanged(ctx);
    }
  }

  /** The client: asks for server streams or produces the echo's frames; counts what comes back. */
  private static final class ClientHandler extends Producer {
    private final Mode mode;
    private final int streams;
    private final byte[] body;
    private final Counters counters;
    volatile boolean stopped;

    ClientHandler(Mode mode, int streams, byte[] body, Counters counters) {
      this.mode = mode;
      this.streams = streams;
      this.body = body;
      this.counters = counters;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      if (mode == Mode.SERVER_STREAM) {
        for (int i = 1; i <= streams; i++) {
          ByteBuf start = ctx.alloc().ioBuffer(HEADER + body.length);
          start.writeInt(HEADER + body.length).writeByte(START).writeByte(0).writeShort(0).writeInt(i).writeInt(0)
              .writeBytes(body);
          ctx.write(start, ctx.voidPromise());
        }
        ctx.flush();
      } else {
        startProducing(ctx, streams, body);
      }
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ((ByteBuf) msg).release();
      counters.messages.increment();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (!stopped) {
        counters.errors.increment();
      }
      ctx.fireChannelInactive();
    }
  }
}
