package dev.ferry.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.StringValue;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.CallHeader;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.HandshakeCompleted;
import dev.ferry.internal.Preface;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.ProtocolPipeline;
import dev.ferry.internal.Settings;
import dev.ferry.internal.WireMetadata;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A scriptable Ferry server for client tests: a real Netty server on 127.0.0.1 (random port) with the
 * protocol module's preface and SETTINGS handshake, whose call handling is left to the test. Every
 * REQUEST, CANCEL and PONG it receives is queued for the test to look at; requests are answered only
 * when the test says so ({@link FakeRequest#respond}, in any order, or never), or automatically by a
 * {@link #autoRespond responder}. The test can also send GOAWAY, ERROR, PING, a RESPONSE for any id,
 * or close a connection.
 *
 * <p>Everything received is copied out and released at once, so tests leak no buffers through it.
 */
final class FakeServer implements AutoCloseable {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
  private final Channel serverChannel;

  /** Requests in the order they arrived (over all connections). */
  final BlockingQueue<FakeRequest> requests = new LinkedBlockingQueue<>();
  /** Request ids of the CANCEL frames received. */
  final BlockingQueue<Integer> cancels = new LinkedBlockingQueue<>();
  /** Data of the PONG frames received. */
  final BlockingQueue<Long> pongs = new LinkedBlockingQueue<>();
  /** Connections, once their handshake completed, in the order they did. */
  final BlockingQueue<Channel> connections = new LinkedBlockingQueue<>();
  /** Every frame received after the handshake, as "TYPE id", in order. */
  final List<String> frames = new ArrayList<>();

  private volatile Consumer<FakeRequest> responder;

  private FakeServer(Supplier<ChannelHandler> childHandler) {
    this("127.0.0.1", 0, childHandler);
  }

  private FakeServer(String host, int port, Supplier<ChannelHandler> childHandler) {
    serverChannel = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(childHandler.get());
          }
        })
        .bind(host, port)
        .syncUninterruptibly()
        .channel();
  }

  /** A Ferry server announcing the default settings. */
  static FakeServer start() {
    return start(Settings.DEFAULTS);
  }

  /** A Ferry server announcing the default settings on {@code host:port} (port 0: any free one). */
  static FakeServer start(String host, int port) {
    return start(host, port, Settings.DEFAULTS);
  }

  /** A Ferry server announcing {@code settings}. */
  static FakeServer start(Settings settings) {
    return start("127.0.0.1", 0, settings);
  }

  private static FakeServer start(String host, int port, Settings settings) {
    FakeServer[] self = new FakeServer[1];
    self[0] = new FakeServer(host, port, () -> new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        ProtocolPipeline.addCodec(ch.pipeline(), settings, 10_000);
        ch.pipeline().addLast(self[0].new Handler());
        ProtocolPipeline.addErrorHandler(ch.pipeline());
      }
    });
    return self[0];
  }

  /**
   * A Ferry server whose first connection sends its preface, SETTINGS and GOAWAY(last id 0) in a single
   * write, so that the client reads the GOAWAY in the same read as the SETTINGS, before it can write any
   * call; that connection then ignores what it receives. Later connections behave like {@link #start()}.
   */
  static FakeServer goingAwayOnFirstConnection(String reason) {
    AtomicInteger accepted = new AtomicInteger();
    FakeServer[] self = new FakeServer[1];
    self[0] = new FakeServer(() -> new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        if (accepted.incrementAndGet() == 1) {
          ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
              ctx.writeAndFlush(prefaceSettingsAndGoAway(reason));
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
              ReferenceCountUtil.release(msg);
            }
          });
          return;
        }
        ProtocolPipeline.addCodec(ch.pipeline(), Settings.DEFAULTS, 10_000);
        ch.pipeline().addLast(self[0].new Handler());
        ProtocolPipeline.addErrorHandler(ch.pipeline());
      }
    });
    return self[0];
  }

  private static ByteBuf prefaceSettingsAndGoAway(String reason) {
    EmbeddedChannel encoder = new EmbeddedChannel(new FrameEncoder());
    encoder.writeOutbound(Frame.settings(encoder.alloc(), Settings.DEFAULTS),
        Frame.goAway(encoder.alloc(), 0, ErrorCode.NO_ERROR, reason));
    ByteBuf all = Preface.encode(UnpooledByteBufAllocator.DEFAULT);
    for (Object o; (o = encoder.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      all.writeBytes(b);
      b.release();
    }
    encoder.finishAndReleaseAll();
    return all;
  }

  /** Not a Ferry server: sends {@code greeting} when a client connects, ignores what it sends. */
  static FakeServer notFerry(byte[] greeting) {
    return new FakeServer(() -> new ChannelInboundHandlerAdapter() {
      @Override
      public void channelActive(ChannelHandlerContext ctx) {
        if (greeting.length > 0) {
          ctx.writeAndFlush(Unpooled.wrappedBuffer(greeting));
        }
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
      }
    });
  }

  int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  /** {@code host:port} as bound. */
  String address() {
    InetSocketAddress a = (InetSocketAddress) serverChannel.localAddress();
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  /**
   * A client builder for this server, with a pool of one connection: these tests look at what happens
   * on one connection (ids, order, GOAWAY); the pool has tests of its own.
   */
  FerryChannelBuilder client() {
    return FerryChannel.builder("127.0.0.1", port()).pool(PoolOptions.builder().size(1).build());
  }

  /** Stops accepting connections (new ones are refused); those open stay open. */
  void stopListening() {
    serverChannel.close().syncUninterruptibly();
  }

  /** Answers every request from now on with {@code responder} (requests are still queued too). */
  void autoRespond(Consumer<FakeRequest> responder) {
    this.responder = responder;
  }

  /** Answers each StringValue request "x" with "echo:x". */
  void autoEcho() {
    autoRespond(r -> r.respond(StringValue.of("echo:" + r.string())));
  }

  /** The next request to arrive, waiting up to 10 seconds. */
  FakeRequest nextRequest() throws InterruptedException {
    FakeRequest r = requests.poll(10, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("no request arrived within 10 s");
    }
    return r;
  }

  /** The next {@code n} requests. */
  List<FakeRequest> nextRequests(int n) throws InterruptedException {
    List<FakeRequest> list = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      list.add(nextRequest());
    }
    return list;
  }

  /** The id of the next CANCEL to arrive, waiting up to 10 seconds. */
  int nextCancel() throws InterruptedException {
    Integer id = cancels.poll(10, TimeUnit.SECONDS);
    if (id == null) {
      throw new AssertionError("no CANCEL arrived within 10 s");
    }
    return id;
  }

  List<String> frames() {
    synchronized (frames) {
      return new ArrayList<>(frames);
    }
  }

  static void goAway(Channel ch, int lastRequestId, String reason) {
    ch.writeAndFlush(Frame.goAway(ch.alloc(), lastRequestId, ErrorCode.NO_ERROR, reason));
  }

  /** Sends ERROR and closes, as a server does on a fatal connection error. */
  static void error(Channel ch, ErrorCode code, String reason) {
    ch.writeAndFlush(Frame.error(ch.alloc(), code, reason)).addListener(f -> ch.close());
  }

  static void ping(Channel ch, long data) {
    ch.writeAndFlush(Frame.ping(ch.alloc(), data));
  }

  /** Sends a successful RESPONSE for {@code requestId}, whether or not the client has such a call. */
  static void respond(Channel ch, int requestId, MessageLite message) {
    ch.writeAndFlush(new CallFrame(FrameType.RESPONSE, requestId,
        CallHeader.of(ResponseHeader.getDefaultInstance()), message));
  }

  @Override
  public void close() {
    serverChannel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** One request as the server received it. */
  record FakeRequest(Channel channel, int id, RequestHeader header, byte[] body) {
    String method() {
      return header.getMethod();
    }

    long timeoutMicros() {
      return header.getTimeoutMicros();
    }

    Metadata metadata() {
      return WireMetadata.fromWire(header.getMetadataList());
    }

    /** The body read as a StringValue. */
    String string() {
      try {
        return StringValue.parseFrom(body).getValue();
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
    }

    void respond(MessageLite message) {
      respond(message, Metadata.EMPTY);
    }

    void respond(MessageLite message, Metadata trailers) {
      ResponseHeader header = ResponseHeader.newBuilder().addAllMetadata(WireMetadata.toWire(trailers)).build();
      channel.writeAndFlush(new CallFrame(FrameType.RESPONSE, id, CallHeader.of(header), message));
    }

    /** A successful RESPONSE to this request, for the test to write (and flush) when it chooses. */
    CallFrame responseFrame(MessageLite message) {
      return new CallFrame(FrameType.RESPONSE, id, CallHeader.of(ResponseHeader.getDefaultInstance()), message);
    }

    void fail(StatusCode code, String message, Metadata trailers) {
      ResponseHeader header = ResponseHeader.newBuilder().setStatus(code.value()).setMessage(message)
          .addAllMetadata(WireMetadata.toWire(trailers)).build();
      channel.writeAndFlush(new CallFrame(FrameType.RESPONSE, id, CallHeader.of(header), null));
    }

    /** An OK response whose body is {@code rawBody}, whatever it is. */
    void respondRaw(byte[] rawBody) {
      byte[] header = ResponseHeader.getDefaultInstance().toByteArray();
      ByteBuf payload = Unpooled.buffer(header.length + rawBody.length).writeBytes(header).writeBytes(rawBody);
      channel.writeAndFlush(new Frame(FrameType.RESPONSE, 0, id, header.length, payload));
    }
  }

  /** The per-connection handler: records what arrives, answers with the responder if there is one. */
  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof HandshakeCompleted) {
        connections.add(ctx.channel());
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      Frame frame = (Frame) msg;
      try {
        synchronized (frames) {
          frames.add(frame.type() + " " + frame.requestId());
        }
        switch (frame.type()) {
          case REQUEST: {
            RequestHeader header = Protobufs.parse(RequestHeader.parser(), frame.callHeader());
            FakeRequest request = new FakeRequest(ctx.channel(), frame.requestId(), header,
                ByteBufUtil.getBytes(frame.body()));
            requests.add(request);
            Consumer<FakeRequest> r = responder;
            if (r != null) {
              r.accept(request);
            }
            break;
          }
          case CANCEL:
            cancels.add(frame.requestId());
            break;
          case PONG:
            pongs.add(frame.pingData());
            break;
          case PING:
            ctx.writeAndFlush(Frame.pong(ctx.alloc(), frame.pingData()));
            break;
          default:
            break;
        }
      } finally {
        frame.release();
      }
    }
  }
}
