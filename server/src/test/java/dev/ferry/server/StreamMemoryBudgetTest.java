package dev.ferry.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.BytesValue;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Messages of client streams that wait for their handlers are counted in the server's memory budget
 * (issue 15): from the moment they are queued until the handler takes them, or the call ends and drops
 * them. A stalled stream does not pause its connection by itself, but a connection whose streams hold
 * more than the small-frames allowance reads its next frame only when the server has room, and goes on
 * as soon as its own handlers read enough. On an {@link io.netty.channel.embedded.EmbeddedChannel}; the
 * server's window is {@link EmbeddedConnection#STREAM_WINDOW} (1,000 bytes).
 */
class StreamMemoryBudgetTest {
  /** A STREAM_MESSAGE of a 400-byte BytesValue: 16 + 3 + 400 bytes. */
  private static final int COST = 419;
  private final EmbeddedConnection conn = new EmbeddedConnection(EmbeddedConnection.Options.defaults());

  @AfterEach
  void close() {
    conn.close();
  }

  /** Opens {@code streams} SINK calls (ids 1, 3, ...) and sends each two messages: 838 bytes held each. */
  private void fill(int streams) {
    conn.handshake(1000);
    for (int i = 0; i < streams; i++) {
      conn.streamRequest(EmbeddedConnection.SINK, 2 * i + 1, 0, 0);
    }
    conn.runHandlers();
    for (int i = 0; i < streams; i++) {
      conn.streamMessage(2 * i + 1, 400);
      conn.streamMessage(2 * i + 1, 400);
    }
  }

  /** Reads {@code n} messages of the {@code index}th SINK call, as its handler would. */
  private int read(int index, long n) {
    int[] got = new int[1];
    conn.sinks.get(index).subscribe(new Flow.Subscriber<BytesValue>() {
      @Override
      public void onSubscribe(Flow.Subscription s) {
        s.request(n);
      }

      @Override
      public void onNext(BytesValue item) {
        got[0]++;
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onComplete() {}
    });
    conn.ch.runPendingTasks();
    return got[0];
  }

  private void runCancellationListeners() {
    runListeners(conn);
  }

  @Test
  void queuedMessagesHoldBudgetUntilTheHandlerTakesThem() {
    fill(1);
    assertThat(conn.memory.streamsHeld()).isEqualTo(2 * COST);
    assertThat(conn.memory.inboundHeld()).as("the decoder gave its reservation back").isZero();
    assertThat(conn.budget.used()).isEqualTo(2 * COST);

    assertThat(read(0, 1)).isEqualTo(1);
    assertThat(conn.memory.streamsHeld()).isEqualTo(COST);
    assertThat(conn.budget.used()).isEqualTo(COST);
  }

  @Test
  void aCancelledStreamGivesBackWhatItsHandlerNeverRead() {
    fill(3);
    assertThat(conn.budget.used()).isEqualTo(6 * COST);
    conn.send(Frame.cancel(3));
    runCancellationListeners();
    assertThat(conn.memory.streamsHeld()).isEqualTo(4 * COST);
    assertThat(conn.budget.used()).isEqualTo(4 * COST);
  }

  @Test
  void aClosedConnectionGivesBackEveryStreamsMessages() {
    fill(3);
    conn.closeAsTheEventLoopWould();
    conn.ch.runPendingTasks();
    runCancellationListeners();
    assertThat(conn.memory.streamsHeld()).isZero();
    assertThat(conn.budget.used()).isZero();
  }

  @Test
  void stalledStreamsAloneDoNotPauseTheConnection() {
    fill(80); // 67,040 bytes held, over the 64 KiB allowance; the server has room
    conn.request(1001, 0);
    conn.runHandlers();
    assertThat(conn.handled).containsExactly(1001);
  }

  @Test
  void streamsOverTheAllowanceWaitForTheServersRoomLikeLargeFrames() {
    fill(80);
    long others = conn.budget.limit();
    conn.budget.forceReserve(others); // other connections hold the whole budget
    conn.request(1001, 0);
    conn.runHandlers();
    assertThat(conn.handled).as("the next frame waits for the server's room").isEmpty();

    conn.budget.release(others);
    conn.ch.runPendingTasks();
    conn.runHandlers();
    assertThat(conn.handled).containsExactly(1001);
  }

  @Test
  void readingItsOwnStreamsLetsTheConnectionGoOnWhileTheServerIsFull() {
    fill(80);
    conn.budget.forceReserve(conn.budget.limit());
    conn.request(1001, 0);
    conn.runHandlers();
    assertThat(conn.handled).isEmpty();

    for (int i = 0; i < 3; i++) {
      assertThat(read(i, 2)).isEqualTo(2); // 67,040 - 3 x 838 = 64,526: the frame fits the allowance
    }
    conn.runHandlers();
    assertThat(conn.handled).as("woken by its own streams' reads, the server still full").containsExactly(1001);
  }

  /**
   * Random traffic on many streams (messages within credit, reads, half-closes, cancels), then the
   * connection closes: at every step the budget holds exactly what the connection's frames and queued
   * messages hold, and at the end every byte has been given back, once.
   */
  @Test
  void randomTrafficGivesEveryByteBackExactlyOnce() {
    for (long seed = 1; seed <= 30; seed++) {
      try (EmbeddedConnection c = new EmbeddedConnection(EmbeddedConnection.Options.defaults())) {
        runRandomTraffic(c, new Random(seed), seed);
      }
    }
  }

  private static void runRandomTraffic(EmbeddedConnection c, Random random, long seed) {
    c.handshake(1000);
    Map<Integer, Long> credit = new HashMap<>(); // per open stream, as the client counts it
    Map<Integer, Flow.Subscription> readers = new HashMap<>();
    List<Integer> open = new ArrayList<>();
    int nextId = 1;
    for (int step = 0; step < 300; step++) {
      int op = random.nextInt(10);
      if (op == 0 || open.isEmpty()) {
        int id = nextId;
        nextId += 2;
        c.streamRequest(EmbeddedConnection.SINK, id, 0, 0);
        c.runHandlers();
        credit.put(id, (long) EmbeddedConnection.STREAM_WINDOW);
        open.add(id);
      } else {
        int index = random.nextInt(open.size());
        int id = open.get(index);
        if (op <= 5) {
          if (credit.get(id) > 0) {
            int size = random.nextInt(300);
            c.streamMessage(id, size);
            credit.merge(id, -(16L + BytesValue.of(com.google.protobuf.ByteString.copyFrom(new byte[size]))
                .getSerializedSize()), Long::sum);
          }
        } else if (op <= 7) {
          Flow.Subscription reader = readers.computeIfAbsent(id, k -> subscribe(c, (k - 1) / 2));
          reader.request(1 + random.nextInt(3));
          c.ch.runPendingTasks();
        } else if (op == 8) {
          c.send(new Frame(FrameType.STREAM_MESSAGE, Frame.FLAG_END_STREAM | Frame.FLAG_NO_MESSAGE, id, 0,
              Unpooled.EMPTY_BUFFER));
          open.remove(index);
        } else {
          c.send(Frame.cancel(id));
          runListeners(c);
          open.remove(index);
        }
      }
      for (int[] w : c.written()) {
        if (w[0] == -3) {
          credit.merge(w[1], (long) w[2], Long::sum);
        }
      }
      assertThat(c.budget.used()).as("seed %d, step %d", seed, step)
          .isEqualTo(c.memory.streamsHeld() + c.memory.inboundHeld());
    }
    c.closeAsTheEventLoopWould();
    c.ch.runPendingTasks();
    runListeners(c);
    assertThat(c.memory.streamsHeld()).as("seed %d", seed).isZero();
    assertThat(c.budget.used()).as("seed %d", seed).isZero();
  }

  /** Subscribes to the {@code index}th SINK call's requests with no demand yet. */
  private static Flow.Subscription subscribe(EmbeddedConnection c, int index) {
    Flow.Subscription[] got = new Flow.Subscription[1];
    c.sinks.get(index).subscribe(new Flow.Subscriber<BytesValue>() {
      @Override
      public void onSubscribe(Flow.Subscription s) {
        got[0] = s;
      }

      @Override
      public void onNext(BytesValue item) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onComplete() {}
    });
    return got[0];
  }

  private static void runListeners(EmbeddedConnection c) {
    for (Runnable r; (r = c.listenerTasks.poll()) != null; ) {
      r.run();
    }
    c.ch.runPendingTasks();
  }
}
