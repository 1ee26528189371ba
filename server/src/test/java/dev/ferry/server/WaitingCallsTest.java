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
  private EmbeddedConnection c;
  private Queue<Runnable> handlerTasks;
  private List<Integer> handled;
  private ConnectionMemory memory;
  private MemoryBudget budget;
  private EmbeddedChannel ch;
  private ServerConnectionHandler handler;

  private void connect(int maxConcurrentCalls, long maxIdleNanos) {
    EmbeddedConnection.Options options = EmbeddedConnection.Options.defaults().maxConcurrentCalls(maxConcurrentCalls);
    c = new EmbeddedConnection(maxIdleNanos > 0 ? options.maxIdle(java.time.Duration.ofNanos(maxIdleNanos)) : options);
    handlerTasks = c.handlerTasks;
    handled = c.handled;
    memory = c.memory;
    budget = c.budget;
    ch = c.ch;
    handler = c.handler;
  }

  @AfterEach
  void close() {
    if (c != null) {
      c.close();
    }
  }

  private void backlog(boolean on) {
    c.backlog(on);
  }

  private void send(Frame frame) {
    c.send(frame);
  }

  private void request(int id, long timeoutMicros) {
    c.request(id, timeoutMicros);
  }

  private void runHandlers() {
    c.runHandlers();
  }

  private List<int[]> written() {
    return c.written();
  }

  private void passTime(long amount, TimeUnit unit) {
    c.passTime(amount, unit);
  }

  private int calls() {
    return c.calls();
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
