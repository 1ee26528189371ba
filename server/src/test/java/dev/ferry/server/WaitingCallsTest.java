package dev.ferry.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.ErrorCode;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Calls held back while a connection's responses back up (more than the write buffer's high-water
 * mark waits to be sent): they start, in order, once the backlog drains; until then each still
 * completes exactly once whatever happens to it (CANCEL, its deadline, connection loss, a GOAWAY),
 * counts against the concurrency limit and keeps the connection from being idle; its request's memory
 * is given back exactly once. On an {@link EmbeddedChannel}, with a handler executor and a clock both
 * driven by the test.
 */
class WaitingCallsTest {
  private static final MethodDescriptor<BytesValue, BytesValue> ECHO =
      MethodDescriptor.of("t.S/Echo", BytesValue.parser(), BytesValue.parser());

  private final Queue<Runnable> handlerTasks = new ArrayDeque<>();
  private final MockTicker ticker = Ticker.newMockTicker();
  private final MemoryBudget budget = new MemoryBudget(1 << 20);
  private final List<Integer> handled = new ArrayList<>();
  private EmbeddedChannel ch;
  private ServerConnectionHandler handler;
  private ConnectionMemory memory;

  private void connect(int maxConcurrentCalls, long maxIdleNanos) {
    ServiceDefinition service = ServiceDefinition.builder("t.S")
        .unary(ECHO, (request, context) -> {
          handled.add(Integer.parseInt(request.getValue().toStringUtf8()));
          return request;
        })
        .build();
    ServerRuntime runtime = new ServerRuntime(new MethodRegistry(Map.of("t.S", service), List.of()),
        handlerTasks::add, Runnable::run, ticker, () -> 0.5, maxConcurrentCalls, maxIdleNanos, 0,
        TimeUnit.SECONDS.toNanos(30), 0, ServerListeners.NONE);
    memory = new ConnectionMemory(budget, Settings.DEFAULT_MAX_FRAME_SIZE, "test");
    FrameDecoder decoder = new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE, Settings.DEFAULT_MAX_METADATA_SIZE, 0,
        memory);
    decoder.expectSettingsFirst(false);
    handler = new ServerConnectionHandler(runtime, memory);
    ch = EmbeddedChannel.builder().ticker(ticker).handlers(decoder, FrameEncoder.INSTANCE, handler).build();
  }

  @AfterEach
  void close() {
    if (ch != null) {
      ch.finishAndReleaseAll();
    }
  }

  /** Responses back up: what a client that does not read causes. */
  private void backlog(boolean on) {
    ch.unsafe().outboundBuffer().setUserDefinedWritability(1, !on);
    ch.runPendingTasks();
  }

  private void send(Frame frame) {
    EmbeddedChannel enc = new EmbeddedChannel(FrameEncoder.INSTANCE);
    enc.writeOutbound(frame);
    for (ByteBuf b; (b = enc.readOutbound()) != null; ) {
      ch.writeInbound(b);
    }
    enc.finishAndReleaseAll();
    ch.runPendingTasks();
  }

  private void request(int id, long timeoutMicros) {
    byte[] header = RequestHeader.newBuilder().setMethod(ECHO.fullName()).setTimeoutMicros(timeoutMicros).build()
        .toByteArray();
    byte[] body = BytesValue.of(ByteString.copyFromUtf8(Integer.toString(id))).toByteArray();
    send(new Frame(FrameType.REQUEST, 0, id, header.length, Unpooled.buffer().writeBytes(header).writeBytes(body)));
  }

  /** Runs the handlers the executor was given, and writes their responses. */
  private void runHandlers() {
    for (Runnable r; (r = handlerTasks.poll()) != null; ) {
      r.run();
    }
    ch.runPendingTasks();
  }

  /** Every frame written so far: request id to status for RESPONSEs, -1 for GOAWAY. */
  private List<int[]> written() {
    List<int[]> out = new ArrayList<>();
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(Integer.MAX_VALUE));
    for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
      dec.writeInbound(b);
    }
    for (Frame f; (f = dec.readInbound()) != null; ) {
      try {
        if (f.type() == FrameType.RESPONSE) {
          ResponseHeader h = Protobufs.parse(ResponseHeader.parser(), f.callHeader());
          out.add(new int[] {f.requestId(), h.getStatus()});
        } else if (f.type() == FrameType.GOAWAY) {
          out.add(new int[] {-1, (int) f.goAwayLastRequestId()});
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

  /** Moves the fake clock on and runs what fell due on the connection's event loop. */
  private void passTime(long amount, TimeUnit unit) {
    ticker.advance(amount, unit);
    ch.runScheduledPendingTasks();
    ch.runPendingTasks();
  }

  private int calls() {
    return handler.callCount();
  }

  @Test
  void callsWaitWhileResponsesBackUpAndStartInOrderOnceTheyDrain() {
    connect(100, 0);
    backlog(true);
    request(1, 0);
    request(3, 0);
    request(5, 0);
    assertThat(handlerTasks).as("no call starts while responses back up").isEmpty();
    assertThat(calls()).isEqualTo(3);
    assertThat(memory.inboundHeld()).as("the waiting requests hold their memory").isPositive();

    backlog(false);
    assertThat(handlerTasks).hasSize(3);
    runHandlers();
    assertThat(handled).containsExactly(1, 3, 5);
    assertThat(written()).extracting(r -> r[0]).containsExactly(1, 3, 5);
    assertThat(calls()).isZero();
    assertThat(memory.inboundHeld()).isZero();
  }

  @Test
  void responsesWaitUnencodedWhileResponsesBackUp() {
    connect(100, 0);
    request(1, 0);
    backlog(true);
    runHandlers(); // the handler answers, but its response waits: nothing more is encoded
    assertThat(written()).isEmpty();
    assertThat(calls()).as("answered, not yet sent").isEqualTo(1);
    backlog(false);
    assertThat(written()).extracting(r -> r[0]).containsExactly(1);
    assertThat(calls()).isZero();
    assertThat(budget.used()).as("the response's memory, given back once written").isZero();
  }

  @Test
  void aWaitingCallCancelledByTheClientNeverStarts() {
    connect(100, 0);
    backlog(true);
    request(1, 0);
    send(Frame.cancel(1));
    assertThat(calls()).isZero();
    assertThat(memory.inboundHeld()).isZero();
    backlog(false);
    runHandlers();
    assertThat(handled).isEmpty();
    assertThat(written()).isEmpty();
  }

  @Test
  void aWaitingCallWhoseDeadlinePassesIsAnsweredOnceAndNeverStarts() {
    connect(100, 0);
    backlog(true);
    request(1, 60_000_000);
    passTime(61, TimeUnit.SECONDS); // the deadline, on the event loop
    assertThat(memory.inboundHeld()).as("its request will never be parsed").isZero();
    assertThat(written()).as("its answer waits its turn too").isEmpty();
    backlog(false);
    runHandlers();
    assertThat(handled).isEmpty();
    assertThat(written()).containsExactly(new int[] {1, StatusCode.DEADLINE_EXCEEDED.value()});
    assertThat(calls()).isZero();
    passTime(61, TimeUnit.SECONDS);
    assertThat(written()).as("exactly once").isEmpty();
  }

  @Test
  void waitingCallsEndWithTheirConnection() {
    connect(100, 0);
    backlog(true);
    request(1, 0);
    request(3, 60_000_000);
    ch.close();
    ch.runPendingTasks();
    assertThat(calls()).isZero();
    assertThat(memory.inboundHeld()).isZero();
    runHandlers();
    passTime(61, TimeUnit.SECONDS);
    assertThat(handled).isEmpty();
  }

  @Test
  void waitingCallsCountAgainstTheConcurrencyLimit() {
    connect(2, 0);
    backlog(true);
    request(1, 0);
    request(3, 0);
    request(5, 0); // over the limit: refused at once, even with responses backing up (it is short)
    assertThat(written()).containsExactly(new int[] {5, StatusCode.RESOURCE_EXHAUSTED.value()});
    assertThat(calls()).isEqualTo(2);
    backlog(false);
    runHandlers();
    assertThat(handled).containsExactly(1, 3);
  }

  @Test
  void aGoAwayLetsTheWaitingCallsItAdmittedFinish() {
    connect(100, 0);
    backlog(true);
    request(1, 0);
    request(3, 0);
    handler.goAway(ErrorCode.NO_ERROR, "shutting down");
    request(5, 0); // after the GOAWAY: not processed, answered UNAVAILABLE
    assertThat(ch.isOpen()).as("the admitted calls are still to run").isTrue();
    backlog(false);
    runHandlers();
    assertThat(handled).containsExactly(1, 3);
    List<int[]> frames = written();
    assertThat(frames).extracting(r -> r[0]).containsExactly(-1, 5, 1, 3);
    assertThat(frames.get(0)[1]).as("GOAWAY's last id").isEqualTo(3);
    assertThat(frames.get(1)[1]).isEqualTo(StatusCode.UNAVAILABLE.value());
    assertThat(ch.isOpen()).as("closed once drained").isFalse();
  }

  @Test
  void aConnectionWithWaitingCallsIsNotIdle() {
    connect(100, TimeUnit.SECONDS.toNanos(1));
    backlog(true);
    request(1, 0);
    passTime(5, TimeUnit.SECONDS);
    assertThat(written()).as("no GOAWAY for a connection with a call waiting").isEmpty();
    send(Frame.cancel(1));
    passTime(2, TimeUnit.SECONDS);
    assertThat(written()).as("idle once its last call is gone").extracting(r -> r[0]).containsExactly(-1);
  }
}
