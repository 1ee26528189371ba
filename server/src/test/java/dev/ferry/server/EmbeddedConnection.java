package dev.ferry.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.MethodDescriptor;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameDecoder;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.Settings;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.TimeUnit;

/**
 * One server connection on an {@link EmbeddedChannel}, for unit tests of the connection handling: the
 * test plays the client frame by frame, runs the handler executor's and the cancellation listeners'
 * tasks when it chooses, and moves a fake clock. Service {@code t.S} has {@link #ECHO}, which records
 * the request's number and answers with it, {@link #HANG}, which never answers, and {@link #CLOSE},
 * which closes the connection and then answers.
 */
final class EmbeddedConnection implements AutoCloseable {
  static final MethodDescriptor<BytesValue, BytesValue> ECHO =
      MethodDescriptor.of("t.S/Echo", BytesValue.parser(), BytesValue.parser());
  static final MethodDescriptor<BytesValue, BytesValue> HANG =
      MethodDescriptor.of("t.S/Hang", BytesValue.parser(), BytesValue.parser());
  static final MethodDescriptor<BytesValue, BytesValue> CLOSE =
      MethodDescriptor.of("t.S/Close", BytesValue.parser(), BytesValue.parser());

  /** Server stream that sends nothing and never ends (its context goes to {@link #contexts}). */
  static final MethodDescriptor<BytesValue, BytesValue> SILENT = MethodDescriptor.of("t.S/Silent",
      MethodDescriptor.Type.SERVER_STREAMING, BytesValue.parser(), BytesValue.parser());
  /**
   * Client stream that reads nothing by itself and never answers (its context goes to {@link #contexts},
   * its requests to {@link #sinks}).
   */
  static final MethodDescriptor<BytesValue, BytesValue> SINK = MethodDescriptor.of("t.S/Sink",
      MethodDescriptor.Type.CLIENT_STREAMING, BytesValue.parser(), BytesValue.parser());

  /** The stream window of the connection's server. */
  static final int STREAM_WINDOW = 1000;

  final MockTicker ticker = Ticker.newMockTicker();
  final Queue<Runnable> handlerTasks = new ArrayDeque<>();
  final Queue<Runnable> listenerTasks = new ArrayDeque<>();
  final MemoryBudget budget = new MemoryBudget(1 << 20);
  final List<Integer> handled = new ArrayList<>();
  final List<CallContext> contexts = new ArrayList<>();
  /** The request publisher of each {@link #SINK} call, in order: a test may read them. */
  final List<java.util.concurrent.Flow.Publisher<BytesValue>> sinks = new ArrayList<>();
  final ConnectionMemory memory = new ConnectionMemory(budget, Settings.DEFAULT_MAX_FRAME_SIZE, "test");
  final ServerConnectionHandler handler;
  final EmbeddedChannel ch;

  /** Options of the connection's server that a test may set. */
  record Options(int maxConcurrentCalls, Duration maxIdle, Duration maxAge, Duration maxAgeGrace, boolean onEventLoop) {
    static Options defaults() {
      return new Options(100, null, null, Duration.ofSeconds(30), false);
    }

    Options maxConcurrentCalls(int calls) {
      return new Options(calls, maxIdle, maxAge, maxAgeGrace, onEventLoop);
    }

    Options maxIdle(Duration d) {
      return new Options(maxConcurrentCalls, d, maxAge, maxAgeGrace, onEventLoop);
    }

    Options maxAge(Duration d, Duration grace) {
      return new Options(maxConcurrentCalls, maxIdle, d, grace, onEventLoop);
    }

    /** Handlers run on the event loop, inside the read that brought their request (no executor). */
    Options direct() {
      return new Options(maxConcurrentCalls, maxIdle, maxAge, maxAgeGrace, true);
    }
  }

  EmbeddedConnection(Options options) {
    ServiceDefinition service = ServiceDefinition.builder("t.S")
        .unary(ECHO, (request, context) -> {
          handled.add(Integer.parseInt(request.getValue().toStringUtf8()));
          return request;
        })
        .unaryAsync(HANG, (request, context) -> {
          contexts.add(context);
          return new java.util.concurrent.CompletableFuture<>();
        })
        .serverStreamingAsync(SILENT, (request, context) -> {
          contexts.add(context);
          return subscriber -> subscriber.onSubscribe(new java.util.concurrent.Flow.Subscription() {
            @Override
            public void request(long n) {}

            @Override
            public void cancel() {}
          });
        })
        .clientStreamingAsync(SINK, (requests, context) -> {
          contexts.add(context);
          sinks.add(requests);
          return new java.util.concurrent.CompletableFuture<>();
        })
        .unary(CLOSE, (request, context) -> {
          closeAsTheEventLoopWould();
          return request;
        })
        .build();
    ServerRuntime runtime = new ServerRuntime(new MethodRegistry(Map.of("t.S", service), List.of()),
        options.onEventLoop() ? null : handlerTasks::add, listenerTasks::add, ticker, () -> 0.5, options.maxConcurrentCalls(),
        nanos(options.maxIdle()), nanos(options.maxAge()), nanos(options.maxAgeGrace()), 0, STREAM_WINDOW,
        ServerListeners.NONE);
    FrameDecoder decoder = new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE, Settings.DEFAULT_MAX_METADATA_SIZE, 0,
        memory);
    decoder.expectSettingsFirst(false);
    handler = new ServerConnectionHandler(runtime, memory);
    ch = EmbeddedChannel.builder().ticker(ticker).handlers(decoder, new FrameEncoder(), handler).build();
  }

  /**
   * Closes the connection as a close on a real event loop does: at once, with channelInactive fired by
   * a later task ({@link EmbeddedChannel#close()} would run every pending task around it instead).
   */
  void closeAsTheEventLoopWould() {
    ch.unsafe().close(ch.voidPromise());
  }

  private static long nanos(Duration d) {
    return d == null ? 0 : d.toNanos();
  }

  /** Sends {@code frame} as the client would (encoded), and runs what it caused on the event loop. */
  void send(Frame frame) {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(frame);
    for (ByteBuf b; (b = enc.readOutbound()) != null; ) {
      ch.writeInbound(b);
    }
    enc.finishAndReleaseAll();
    ch.runPendingTasks();
  }

  /** Sends {@code frames} encoded in one buffer, as one socket read brings them, and runs what they caused. */
  void sendInOneRead(Frame... frames) {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    for (Frame frame : frames) {
      enc.writeOutbound(frame);
    }
    ByteBuf read = Unpooled.buffer();
    for (ByteBuf b; (b = enc.readOutbound()) != null; ) {
      read.writeBytes(b);
      b.release();
    }
    enc.finishAndReleaseAll();
    ch.writeInbound(read);
    ch.runPendingTasks();
  }

  /** A REQUEST numbered {@code id} (its id and its body) for {@code method}, with a timeout (0 = none). */
  void request(MethodDescriptor<?, ?> method, int id, long timeoutMicros) {
    send(requestFrame(method, id, timeoutMicros));
  }

  static Frame requestFrame(MethodDescriptor<?, ?> method, int id, long timeoutMicros) {
    byte[] header = RequestHeader.newBuilder().setMethod(method.fullName()).setTimeoutMicros(timeoutMicros).build()
        .toByteArray();
    byte[] body = BytesValue.of(ByteString.copyFromUtf8(Integer.toString(id))).toByteArray();
    return new Frame(FrameType.REQUEST, 0, id, header.length, Unpooled.buffer().writeBytes(header).writeBytes(body));
  }

  /** The client's SETTINGS arrived, announcing {@code streamWindow} (0: no streaming). */
  void handshake(int streamWindow) {
    ch.pipeline().fireUserEventTriggered(new dev.ferry.internal.HandshakeCompleted(
        Settings.builder().streamInitialWindow(streamWindow).build()));
    ch.runPendingTasks();
  }

  /** A streaming call's REQUEST, with the flags of {@code method}'s kind and an idle timeout (0 = none). */
  void streamRequest(MethodDescriptor<?, ?> method, int id, long timeoutMicros, long idleTimeoutMicros) {
    byte[] header = RequestHeader.newBuilder().setMethod(method.fullName()).setTimeoutMicros(timeoutMicros)
        .setIdleTimeoutMicros(idleTimeoutMicros).build().toByteArray();
    send(new Frame(FrameType.REQUEST, dev.ferry.internal.StreamRules.requestFlags(method.type()), id, header.length,
        Unpooled.buffer().writeBytes(header)));
  }

  /** A STREAM_MESSAGE of {@code size} bytes of message from the client. */
  void streamMessage(int id, int size) {
    send(new Frame(FrameType.STREAM_MESSAGE, 0, id, 0,
        Unpooled.wrappedBuffer(BytesValue.of(ByteString.copyFrom(new byte[size])).toByteArray())));
  }

  void request(int id, long timeoutMicros) {
    request(ECHO, id, timeoutMicros);
  }

  /** Runs the handlers the executor was given, and writes their responses. */
  void runHandlers() {
    for (Runnable r; (r = handlerTasks.poll()) != null; ) {
      r.run();
    }
    ch.runPendingTasks();
  }

  /** Moves the fake clock on and runs what fell due on the connection's event loop. */
  void passTime(long amount, TimeUnit unit) {
    ticker.advance(amount, unit);
    ch.runScheduledPendingTasks();
    ch.runPendingTasks();
  }

  /** Responses back up (what a client that does not read causes), or drain again. */
  void backlog(boolean on) {
    ch.unsafe().outboundBuffer().setUserDefinedWritability(1, !on);
    ch.runPendingTasks();
  }

  /**
   * Every frame written since the last look: request id to status for RESPONSEs, -1 to the last id for
   * GOAWAY, -2 to the code for ERROR, -3 to the request id and increment for WINDOW_UPDATE.
   */
  List<int[]> written() {
    List<int[]> out = new ArrayList<>();
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(Integer.MAX_VALUE));
    for (Object o; (o = ch.readOutbound()) != null; ) {
      dec.writeInbound(o);
    }
    for (Frame f; (f = dec.readInbound()) != null; ) {
      try {
        if (f.type() == FrameType.RESPONSE) {
          ResponseHeader h = Protobufs.parse(ResponseHeader.parser(), f.callHeader());
          out.add(new int[] {f.requestId(), h.getStatus()});
        } else if (f.type() == FrameType.GOAWAY) {
          out.add(new int[] {-1, (int) f.goAwayLastRequestId()});
        } else if (f.type() == FrameType.ERROR) {
          out.add(new int[] {-2, f.errorCode().value()});
        } else if (f.type() == FrameType.WINDOW_UPDATE) {
          out.add(new int[] {-3, f.requestId(), (int) f.windowIncrement()});
        }
      } catch (Exception e) {
        throw new AssertionError(e);
      } finally {
        f.release();
      }
    }
    dec.finishAndReleaseAll();
    return out;
  }

  int calls() {
    return handler.callCount();
  }

  @Override
  public void close() {
    ch.finishAndReleaseAll();
  }
}
