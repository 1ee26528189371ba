package dev.ferry.client;

import com.google.protobuf.MessageLite;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.CallHeader;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameDecoder;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Preface;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.Settings;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Ferry server the test plays by hand, frame by frame, on a fake clock: the channel's connections are
 * {@link EmbeddedChannel}s, everything runs on the test's thread, and time passes only in
 * {@link #advance}. For client behaviour that depends on time (heartbeats, deadlines, backoff) without
 * a socket, a sleep or a wait.
 *
 * <p>Each connection the channel opens is answered with the server's preface and SETTINGS at once
 * (unless {@link #refuse} is set); what the client writes is decoded into {@link Connection#received}.
 */
final class EmbeddedServer implements AutoCloseable {
  final MockTicker ticker = Ticker.newMockTicker();
  private final EmbeddedChannel home = EmbeddedChannel.builder().ticker(ticker).build();
  final List<Connection> connections = new ArrayList<>();
  private final Settings settings;
  private final List<FerryChannel> channels = new ArrayList<>();
  /** When set, connections are refused. */
  boolean refuse;
  /** When set (the default), every PING the client sends is answered with a PONG at once. */
  boolean autoPong = true;
  int connectAttempts;

  EmbeddedServer(Settings settings) {
    this.settings = settings;
  }

  EmbeddedServer() {
    this(Settings.DEFAULTS);
  }

  /** A channel builder whose connections come to this server, on its clock. */
  FerryChannelBuilder client() {
    ClientTransport transport = (loop, initializer, config) -> {
      connectAttempts++;
      if (refuse) {
        EmbeddedChannel refused = EmbeddedChannel.builder().ticker(ticker).build();
        refused.close();
        return refused.newFailedFuture(new ConnectException("connection refused"));
      }
      EmbeddedChannel ch = EmbeddedChannel.builder().ticker(ticker).handlers(initializer).build();
      Connection c = new Connection(ch);
      connections.add(c);
      c.write(Preface.encode(ch.alloc()));
      c.send(Frame.settings(ch.alloc(), settings));
      return ch.newSucceededFuture();
    };
    return FerryChannel.builder("server", 7070).transport(transport).ticker(ticker).random(() -> 0.5)
        .eventLoopGroup(home.eventLoop()).pool(PoolOptions.builder().size(1).build());
  }

  /** Builds {@code builder}'s channel (shut down with this server) and runs what that started. */
  FerryChannel channel(FerryChannelBuilder builder) {
    FerryChannel channel = builder.build();
    channels.add(channel);
    runTasks();
    return channel;
  }

  /** Lets {@code d} of fake time pass, running what falls due on the way, in steps of at most 1 ms. */
  void advance(Duration d) {
    long left = d.toNanos();
    while (left > 0) {
      long step = Math.min(left, TimeUnit.MILLISECONDS.toNanos(1));
      ticker.advance(step, TimeUnit.NANOSECONDS);
      left -= step;
      runTasks();
    }
  }

  /** Runs every task due now, on the channel's loop and every connection's, until none is left. */
  void runTasks() {
    for (int round = 0; round < 1_000; round++) {
      boolean ran = false;
      List<EmbeddedChannel> all = new ArrayList<>();
      all.add(home);
      for (Connection c : connections) {
        all.add(c.ch);
      }
      for (EmbeddedChannel ch : all) {
        if (ch.hasPendingTasks()) {
          ran = true;
          ch.runPendingTasks();
        }
        ch.checkException();
      }
      for (Connection c : connections) {
        c.collect();
      }
      if (!ran) {
        return;
      }
    }
    throw new AssertionError("tasks kept rescheduling themselves");
  }

  /** The last connection opened. */
  Connection connection() {
    return connections.get(connections.size() - 1);
  }

  @Override
  public void close() {
    for (FerryChannel c : channels) {
      c.shutdownNow();
    }
    runTasks();
    for (Connection c : connections) {
      c.ch.finishAndReleaseAll();
      c.decoder.finishAndReleaseAll();
    }
    home.finishAndReleaseAll();
  }

  /** One connection: the client's end, and the test's view of what crossed it. */
  final class Connection {
    final EmbeddedChannel ch;
    private final EmbeddedChannel decoder;
    /** Every frame the client sent, in order: its type, request id, and (REQUEST) header and body. */
    final List<Received> received = new ArrayList<>();

    Connection(EmbeddedChannel ch) {
      this.ch = ch;
      FrameDecoder frames = new FrameDecoder(Integer.MAX_VALUE);
      this.decoder = new EmbeddedChannel(new io.netty.handler.codec.ByteToMessageDecoder() {
        private boolean prefaceSeen;

        @Override
        protected void decode(io.netty.channel.ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
          if (!prefaceSeen) {
            if (in.readableBytes() < Preface.SIZE) {
              return;
            }
            in.skipBytes(Preface.SIZE);
            prefaceSeen = true;
          }
          out.add(in.readRetainedSlice(in.readableBytes()));
        }
      }, frames);
    }

    /** Decodes what the client wrote since the last look. */
    void collect() {
      for (Object o; (o = ch.readOutbound()) != null; ) {
        decoder.writeInbound(o);
      }
      for (Frame f; (f = decoder.readInbound()) != null; ) {
        try {
          RequestHeader header = null;
          byte[] body = null;
          if (f.type() == FrameType.REQUEST) {
            header = Protobufs.parse(RequestHeader.parser(), f.callHeader());
            body = ByteBufUtil.getBytes(f.body());
          }
          received.add(new Received(f.type(), f.requestId(), header, body));
          if (f.type() == FrameType.PING && autoPong) {
            write(encode(Frame.pong(ch.alloc(), f.pingData())));
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        } finally {
          f.release();
        }
      }
    }

    /** The frames of {@code type} the client sent. */
    List<Received> received(FrameType type) {
      List<Received> out = new ArrayList<>();
      for (Received r : received) {
        if (r.type() == type) {
          out.add(r);
        }
      }
      return out;
    }

    /** Sends a frame to the client (encoded as the wire has it) and runs what it causes. */
    void send(Object frame) {
      write(encode(frame));
      runTasks();
    }

    /** Sends several frames in one read of the client's. */
    void sendTogether(Object... frames) {
      ByteBuf all = ch.alloc().buffer();
      for (Object f : frames) {
        ByteBuf b = encode(f);
        all.writeBytes(b);
        b.release();
      }
      write(all);
      runTasks();
    }

    void write(ByteBuf bytes) {
      if (ch.isOpen()) {
        ch.writeInbound(bytes);
      } else {
        ReferenceCountUtil.release(bytes);
      }
    }

    /** Answers request {@code id} with {@code message}. */
    void respond(int id, MessageLite message) {
      send(new CallFrame(FrameType.RESPONSE, id, CallHeader.of(ResponseHeader.getDefaultInstance()), message));
    }

    void goAway(int lastId, String reason) {
      send(Frame.goAway(ch.alloc(), lastId, ErrorCode.NO_ERROR, reason));
    }

    void pong(long data) {
      send(Frame.pong(ch.alloc(), data));
    }
  }

  /** {@code frame} as bytes on the wire. */
  static ByteBuf encode(Object frame) {
    if (frame instanceof ByteBuf) {
      return (ByteBuf) frame;
    }
    EmbeddedChannel encoder = new EmbeddedChannel(new FrameEncoder());
    encoder.writeOutbound(frame);
    ByteBuf all = io.netty.buffer.Unpooled.buffer();
    for (Object o; (o = encoder.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      all.writeBytes(b);
      b.release();
    }
    encoder.finishAndReleaseAll();
    return all;
  }

  /** A frame the client sent. */
  record Received(FrameType type, int requestId, RequestHeader header, byte[] body) {}
}
