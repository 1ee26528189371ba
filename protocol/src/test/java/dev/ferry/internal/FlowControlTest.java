package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Per-stream byte credit (PROTOCOL.md 7.12.4): the rules in {@link FlowControl}, and the two state
 * machines that apply them, {@link OutboundStream} (a sender's credit) and {@link InboundStream} (a
 * receiver's queue and its grants). No connection, no clock: a {@link StreamLink} that runs commands at
 * once and records what would be written.
 */
class FlowControlTest {
  private static final int ID = 7;
  private final Link link = new Link();

  @AfterEach
  void releaseWrites() {
    link.written.forEach(ReferenceCountUtil::release);
  }

  private static BytesValue message(int size) {
    return BytesValue.of(ByteString.copyFrom(new byte[size]));
  }

  /** A STREAM_MESSAGE carrying {@code m}, as the decoder delivers it. */
  private static Frame frame(BytesValue m, int flags) {
    return new Frame(FrameType.STREAM_MESSAGE, flags, ID, 0, Unpooled.wrappedBuffer(m.toByteArray()));
  }

  // ---- the rules ----

  @Test
  void aMessageCostsItsWholeFrameAndTheEndAloneCostsNothing() {
    BytesValue m = message(100); // 2 bytes of tag and length, then 100
    try (Holder f = new Holder(frame(m, 0))) {
      assertThat(FlowControl.cost(f.frame)).isEqualTo(Frame.HEADER_SIZE + 102).isEqualTo(FlowControl.cost(102));
    }
    Frame end = Frame.endOfStream(ID);
    assertThat(FlowControl.cost(end)).isZero();
  }

  @Test
  void aMessageMayGoWhileCreditIsAboveZeroEvenPastIt() {
    assertThat(FlowControl.afterReceiving(10, 118, ID)).isEqualTo(-108);
    assertThat(FlowControl.afterReceiving(1, 1, ID)).isZero();
    assertThat(FlowControl.afterReceiving(0, 0, ID)).as("END_STREAM without a message costs nothing").isZero();
    assertThatThrownBy(() -> FlowControl.afterReceiving(0, 17, ID))
        .isInstanceOfSatisfying(ProtocolException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR))
        .hasMessageContaining("stream 7").hasMessageContaining("no credit left");
    assertThatThrownBy(() -> FlowControl.afterReceiving(-5, 17, ID)).isInstanceOf(ProtocolException.class);
  }

  @Test
  void aGrantMayNotRaiseCreditAbove2To31Minus1() {
    assertThat(FlowControl.afterGrant(-100, 100, ID)).isZero();
    assertThat(FlowControl.afterGrant(0, Integer.MAX_VALUE, ID)).isEqualTo(Integer.MAX_VALUE);
    assertThat(FlowControl.afterGrant(-1, Integer.MAX_VALUE, ID)).isEqualTo(Integer.MAX_VALUE - 1);
    assertThatThrownBy(() -> FlowControl.afterGrant(1, Integer.MAX_VALUE, ID))
        .isInstanceOfSatisfying(ProtocolException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR));
  }

  @Test
  void consumedBytesAreGrantedOnceTheyReachHalfTheWindow() {
    assertThat(FlowControl.shouldGrant(0, 1000)).isFalse();
    assertThat(FlowControl.shouldGrant(499, 1000)).isFalse();
    assertThat(FlowControl.shouldGrant(500, 1000)).isTrue();
    assertThat(FlowControl.shouldGrant(1, 1)).as("a window of 1 byte").isTrue();
  }

  // ---- the sender ----

  @Test
  void aSenderHasNoCreditUntilItsCallIsOnTheWire() {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, true);
    assertThat(out.isWritable()).isFalse();
    assertThat(out.trySend(message(1))).isFalse();
    out.attach(link, 1000, Settings.DEFAULT_MAX_FRAME_SIZE);
    assertThat(out.isWritable()).isTrue();
    assertThat(out.trySend(message(1))).isTrue();
    assertThat(link.messages()).hasSize(1);
  }

  @Test
  void aSenderSendsWhileItHasCreditThenWaitsForAGrant() {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    out.attach(link, 1000, Settings.DEFAULT_MAX_FRAME_SIZE);
    int cost = FlowControl.cost(message(300).getSerializedSize()); // 16 + 303 = 319
    int sent = 0;
    while (out.trySend(message(300))) {
      sent++;
    }
    // 1000 -> 681 -> 362 -> 43 -> -276: the fourth message goes on the last 43 bytes.
    assertThat(sent).isEqualTo(4);
    assertThat(out.credit()).isEqualTo(1000 - 4L * cost);
    assertThat(link.messages()).hasSize(4);
    assertThat(out.isWritable()).isFalse();

    AtomicInteger woken = new AtomicInteger();
    out.onWritable(woken::incrementAndGet);
    out.grant(276, ID); // back to exactly 0: still nothing may go
    assertThat(woken).hasValue(0);
    assertThat(out.trySend(message(300))).isFalse();
    out.grant(1, ID);
    assertThat(woken).as("the listener runs once credit is above 0").hasValue(1);
    out.grant(500, ID);
    assertThat(woken).as("a listener runs once").hasValue(1);
    assertThat(out.trySend(message(300))).isTrue();
    assertThat(link.messages()).hasSize(5);
  }

  @Test
  void withCreditAWriterStillWaitsWhileItsConnectionDoesNotTakeFrames() throws Exception {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false, new CountingTicker());
    out.attach(link, 1 << 20, Settings.DEFAULT_MAX_FRAME_SIZE);
    link.transportWritable = false; // the write buffer is above its high-water mark
    assertThat(out.isWritable()).isFalse();
    assertThat(out.trySend(message(10))).isFalse();
    AtomicInteger woken = new AtomicInteger();
    out.onWritable(woken::incrementAndGet);
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread writer = blockedWriter(out, failed);
    out.grant(1000, ID); // credit is not what it waits for
    assertThat(writer.isAlive()).isTrue();
    assertThat(woken).hasValue(0);
    assertThat(link.messages()).isEmpty();

    link.transportWritable = true;
    out.transportWritable();
    writer.join(10_000);
    assertThat(writer.isAlive()).isFalse();
    assertThat(failed.get()).isNull();
    assertThat(woken).hasValue(1);
    assertThat(link.messages()).hasSize(1);
    assertThat(link.stalls()).as("waiting for the connection is not a flow-control stall").isEmpty();
  }

  @Test
  void aMessageAskedForWhileThereWasRoomGoesEvenIfTheConnectionFilledMeanwhile() {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    out.attach(link, 1 << 20, Settings.DEFAULT_MAX_FRAME_SIZE);
    List<Throwable> errors = new ArrayList<>();
    OutboundSubscriber<BytesValue> subscriber = new OutboundSubscriber<>(out, () -> {}, errors::add);
    AtomicInteger requested = new AtomicInteger();
    subscriber.onSubscribe(new java.util.concurrent.Flow.Subscription() {
      @Override
      public void request(long n) {
        requested.addAndGet((int) n);
      }

      @Override
      public void cancel() {}
    });
    assertThat(requested).hasValue(1);
    link.transportWritable = false; // other streams filled the connection's write buffer
    subscriber.onNext(message(10)); // the message asked for arrives now
    assertThat(errors).as("not a publisher's fault").isEmpty();
    assertThat(link.messages()).hasSize(1);
    assertThat(requested).as("no more is asked for until the connection drains").hasValue(1);
    link.transportWritable = true;
    out.transportWritable();
    assertThat(requested).hasValue(2);
  }

  @Test
  void aBlockedWriteGoesOnWhenCreditIsGranted() throws Exception {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    out.attach(link, 10, Settings.DEFAULT_MAX_FRAME_SIZE);
    out.write(message(100)); // takes the credit to 10 - 118
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread writer = blockedWriter(out, failed);
    assertThat(link.messages()).hasSize(1);
    out.grant(109, ID); // credit 1
    writer.join(10_000);
    assertThat(writer.isAlive()).isFalse();
    assertThat(failed.get()).isNull();
    assertThat(link.messages()).hasSize(2);
  }

  @Test
  void theCallsEndWakesABlockedWriterWithItsStatus() throws Exception {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    out.attach(link, 1, Settings.DEFAULT_MAX_FRAME_SIZE);
    out.write(message(10));
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread writer = blockedWriter(out, failed);
    out.end(new FerryException(StatusCode.DEADLINE_EXCEEDED, "too late"));
    writer.join(10_000);
    assertThat(failed.get()).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED));
    assertThatThrownBy(() -> out.trySend(message(1))).isInstanceOf(FerryException.class);
    assertThat(link.messages()).hasSize(1);
  }

  @Test
  void anInterruptedWriterCancelsTheStream() throws Exception {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    out.attach(link, 1, Settings.DEFAULT_MAX_FRAME_SIZE);
    out.write(message(10));
    AtomicReference<Throwable> failed = new AtomicReference<>();
    AtomicReference<Boolean> flag = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      try {
        out.write(message(1));
      } catch (Throwable t) {
        failed.set(t);
        flag.set(Thread.currentThread().isInterrupted());
      }
    });
    writer.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> writer.getState() == Thread.State.WAITING);
    writer.interrupt();
    writer.join(10_000);
    assertThat(failed.get()).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.CANCELLED));
    assertThat(flag.get()).as("the interrupt flag is set again").isTrue();
    assertThat(link.abandoned).hasSize(1);
  }

  @Test
  void aMessageOverThePeersFrameLimitEndsTheCall() {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    out.attach(link, 1 << 20, 16384);
    assertThatThrownBy(() -> out.write(message(16384)))
        .isInstanceOfSatisfying(FerryException.class,
            e -> assertThat(e.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED))
        .hasMessageContaining("MAX_FRAME_SIZE");
    assertThat(link.tooLarge).hasSize(1);
    assertThat(link.messages()).isEmpty();
    assertThat(out.credit()).as("nothing was spent").isEqualTo(1 << 20);
  }

  @Test
  void aClientsCompleteSendsEndStreamAfterItsLastMessageEvenBeforeTheCallIsOnTheWire() {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, true);
    out.complete();
    assertThat(link.written).isEmpty();
    out.attach(link, 1000, Settings.DEFAULT_MAX_FRAME_SIZE);
    assertThat(link.written).hasSize(1);
    Frame end = (Frame) link.written.get(0);
    assertThat(end.type()).isEqualTo(FrameType.STREAM_MESSAGE);
    assertThat(end.endsStream()).isTrue();
    assertThat(end.hasMessage()).isFalse();
    assertThatThrownBy(() -> out.write(message(1))).isInstanceOf(IllegalStateException.class);
    out.close(); // after complete(): nothing
    assertThat(link.abandoned).isEmpty();
  }

  @Test
  void closingWithoutCompleteAbandonsTheStream() {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, true);
    out.attach(link, 1000, Settings.DEFAULT_MAX_FRAME_SIZE);
    out.trySend(message(1));
    out.close();
    out.close();
    assertThat(link.abandoned).hasSize(1);
    assertThat(link.abandoned.get(0).code()).isEqualTo(StatusCode.CANCELLED);
    assertThat(link.written).as("no END_STREAM").hasSize(1);
  }

  @Test
  void aGrantOverTheLimitIsAFlowControlError() {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    out.attach(link, Integer.MAX_VALUE - 10, Settings.DEFAULT_MAX_FRAME_SIZE);
    assertThatThrownBy(() -> out.grant(11, ID)).isInstanceOfSatisfying(ProtocolException.class,
        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR));
  }

  // ---- the receiver ----

  private InboundStream<BytesValue> inbound(int window, Runnable onClose) {
    InboundStream<BytesValue> in = new InboundStream<>(BytesValue.parser(), window, e -> link.badMessages.add(e),
        onClose);
    in.attach(link);
    return in;
  }

  private static void receive(InboundStream<BytesValue> in, BytesValue m, int flags) {
    try (Holder f = new Holder(frame(m, flags))) {
      in.received(f.frame);
    }
  }

  @Test
  void creditIsGrantedWhenTheApplicationTakesMessagesNotWhenTheyArrive() {
    InboundStream<BytesValue> in = inbound(1000, null);
    int cost = FlowControl.cost(message(100).getSerializedSize()); // 118
    for (int i = 0; i < 8; i++) { // 944 bytes: within the window
      receive(in, message(100), 0);
    }
    assertThat(link.grants()).as("nothing was consumed yet").isEmpty();
    for (int i = 0; i < 4; i++) {
      assertThat(in.next().getValue().size()).isEqualTo(100);
    }
    assertThat(link.grants()).as("472 bytes consumed: under half the window").isEmpty();
    in.next();
    assertThat(link.grants()).containsExactly(5 * cost);
    in.next();
    in.next();
    in.next();
    assertThat(link.grants()).containsExactly(5 * cost);
  }

  @Test
  void aMessageSentWithNoCreditLeftIsAFlowControlError() {
    InboundStream<BytesValue> in = inbound(200, null);
    receive(in, message(100), 0); // 200 - 118 = 82
    receive(in, message(100), 0); // 82 - 118 = -36: allowed, credit was above 0
    assertThatThrownBy(() -> receive(in, message(1), 0))
        .isInstanceOfSatisfying(ProtocolException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR));
  }

  @Test
  void aMessageAfterEndStreamIsAProtocolError() {
    InboundStream<BytesValue> in = inbound(1000, null);
    receive(in, message(1), Frame.FLAG_END_STREAM);
    assertThatThrownBy(() -> receive(in, message(1), 0))
        .isInstanceOfSatisfying(ProtocolException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR));
    assertThat(in.next().getValue().size()).isEqualTo(1);
    assertThat(in.hasNext()).isFalse();
    assertThat(link.grants()).as("a sender that ended needs no credit").isEmpty();
  }

  @Test
  void aFailureAfterNMessagesIsReadAfterThoseN() {
    InboundStream<BytesValue> in = inbound(1000, null);
    for (int i = 1; i <= 3; i++) {
      receive(in, message(i), 0);
    }
    in.fail(new FerryException(StatusCode.NOT_FOUND, "gone"));
    in.end(); // the first end decides
    List<Integer> got = new ArrayList<>();
    assertThatThrownBy(() -> in.forEachRemaining(m -> got.add(m.getValue().size())))
        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND));
    assertThat(got).containsExactly(1, 2, 3);
  }

  @Test
  void abortingDropsWhatIsQueuedAndMessagesArrivingLaterAreDropped() {
    InboundStream<BytesValue> in = inbound(1000, null);
    receive(in, message(1), 0);
    in.abort(new FerryException(StatusCode.CANCELLED, "cancelled here"));
    receive(in, message(1), 0);
    assertThatThrownBy(in::hasNext).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.CANCELLED));
    assertThat(in.poll()).isNull();
  }

  @Test
  void aClientReaderClosedBeforeTheEndCancels() {
    AtomicInteger cancels = new AtomicInteger();
    InboundStream<BytesValue> in = inbound(1000, cancels::incrementAndGet);
    receive(in, message(1), 0);
    in.close();
    in.close();
    assertThat(cancels).hasValue(1);
    assertThatThrownBy(in::hasNext).isInstanceOf(FerryException.class);
  }

  @Test
  void aServerReaderClosedBeforeTheEndGivesAllCreditBackSoTheClientIsNeverStuck() {
    InboundStream<BytesValue> in = inbound(1000, null);
    int cost = FlowControl.cost(message(100).getSerializedSize());
    receive(in, message(100), 0);
    receive(in, message(100), 0);
    in.close();
    assertThat(link.grants()).containsExactly(2 * cost);
    for (int i = 0; i < 5; i++) {
      receive(in, message(100), 0); // dropped, but its credit too goes back, half a window at a time
    }
    assertThat(in.poll()).isNull();
    assertThat(link.grants()).containsExactly(2 * cost, 5 * cost);
  }

  @Test
  void aStreamReadAsItArrivesNeverRunsOutOfCredit() {
    InboundStream<BytesValue> in = inbound(1000, null);
    // 100 windows' worth: the receiver counts what it granted as the sender's credit again.
    for (int i = 0; i < 850; i++) {
      receive(in, message(100), 0);
      assertThat(in.next().getValue().size()).isEqualTo(100);
    }
    assertThat(link.grants().stream().mapToInt(Integer::intValue).sum()).isGreaterThan(100 * 1000 - 1000);
  }

  @Test
  void closingAfterTheEndDoesNothing() {
    AtomicInteger cancels = new AtomicInteger();
    InboundStream<BytesValue> in = inbound(1000, cancels::incrementAndGet);
    in.end();
    assertThat(in.hasNext()).isFalse();
    in.close();
    assertThat(cancels).hasValue(0);
  }

  @Test
  void aMessageThatDoesNotParseIsReportedAndNotQueued() {
    InboundStream<BytesValue> in = inbound(1000, null);
    Frame bad = new Frame(FrameType.STREAM_MESSAGE, 0, ID, 0, Unpooled.wrappedBuffer(new byte[] {(byte) 0x0a, 5}));
    try (Holder f = new Holder(bad)) {
      in.received(f.frame);
    }
    assertThat(link.badMessages).hasSize(1);
    assertThat(in.poll()).isNull();
  }

  @Test
  void noGrantIsWrittenOnceTheCallLeftItsConnection() {
    InboundStream<BytesValue> in = inbound(100, null);
    receive(in, message(100), 0);
    link.open = false;
    in.next();
    assertThat(link.grants()).isEmpty();
  }

  // ---- stalls ----

  @Test
  void aWriterWaitingForCreditIsStalledUntilTheGrant() throws Exception {
    CountingTicker clock = new CountingTicker();
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false, clock);
    out.attach(link, 10, Settings.DEFAULT_MAX_FRAME_SIZE);
    out.write(message(100)); // credit 10 - 118: no credit, but nobody waits yet
    assertThat(link.stalls()).isEmpty();
    Thread writer = new Thread(() -> out.write(message(1)));
    writer.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> writer.getState() == Thread.State.WAITING);
    assertThat(link.stalls()).containsExactly("stalled");
    clock.now += 5_000_000;
    out.grant(50, ID); // credit -58: still waiting, still the same stall
    assertThat(link.stalls()).containsExactly("stalled");
    clock.now += 2_000_000;
    out.grant(59, ID); // credit 1
    writer.join(10_000);
    assertThat(writer.isAlive()).isFalse();
    assertThat(link.stalls()).containsExactly("stalled", "ended after 7000000 ns");
    assertThat(clock.reads).as("one clock read at each end of the stall").isEqualTo(2);
  }

  @Test
  void aPausedPublisherIsStalledUntilTheCallEndsOrItsWriterCompletes() {
    CountingTicker clock = new CountingTicker();
    OutboundStream<BytesValue> before = new OutboundStream<>(link, false, clock);
    before.onWritable(() -> {}); // not on the wire yet: waiting for the call, not for credit
    before.attach(link, 100, Settings.DEFAULT_MAX_FRAME_SIZE);
    assertThat(link.stalls()).isEmpty();

    OutboundStream<BytesValue> ended = new OutboundStream<>(link, false, clock);
    ended.attach(link, 1, Settings.DEFAULT_MAX_FRAME_SIZE);
    assertThat(ended.trySend(message(1))).isTrue();
    ended.onWritable(() -> {}); // what OutboundSubscriber does when it runs out of credit
    ended.onWritable(() -> {});
    assertThat(link.stalls()).as("one stall at a time").containsExactly("stalled");
    clock.now += 3;
    ended.end(new FerryException(StatusCode.CANCELLED, "gone"));
    assertThat(link.stalls()).containsExactly("stalled", "ended after 3 ns");

    link.stallEvents.clear();
    OutboundStream<BytesValue> completed = new OutboundStream<>(link, true, clock);
    completed.attach(link, 1, Settings.DEFAULT_MAX_FRAME_SIZE);
    assertThat(completed.trySend(message(1))).isTrue();
    completed.onWritable(() -> {});
    clock.now += 2;
    completed.complete(); // the publisher finished while paused: nothing waits any more
    clock.now += 5;
    completed.end(new FerryException(StatusCode.CANCELLED, "gone"));
    assertThat(link.stalls()).as("ended by complete(), not by the call's end")
        .containsExactly("stalled", "ended after 2 ns");
  }

  @Test
  void withoutAStallClockNothingIsToldAndNoClockIsRead() throws Exception {
    OutboundStream<BytesValue> out = new OutboundStream<>(link, false);
    assertThat(out.tracksStalls()).isFalse();
    out.attach(link, 1, Settings.DEFAULT_MAX_FRAME_SIZE);
    out.write(message(1));
    out.onWritable(() -> {});
    Thread writer = new Thread(() -> {
      try {
        out.write(message(1));
      } catch (FerryException expected) {
        // the end below
      }
    });
    writer.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> writer.getState() == Thread.State.WAITING);
    out.grant(100, ID);
    writer.join(10_000);
    assertThat(link.messages()).hasSize(2);
    assertThat(link.stalls()).isEmpty();
  }

  // ---- fixtures ----

  /** A fake clock that counts its reads. */
  private static final class CountingTicker implements io.netty.util.concurrent.Ticker {
    volatile long now = 1_000;
    volatile int reads;

    @Override
    public long initialNanoTime() {
      return 0;
    }

    @Override
    public long nanoTime() {
      reads++;
      return now;
    }

    @Override
    public void sleep(long delay, java.util.concurrent.TimeUnit unit) {
      throw new UnsupportedOperationException();
    }
  }

  /** Releases a received frame, as the connection handler does after {@code received}. */
  private static final class Holder implements AutoCloseable {
    final Frame frame;

    Holder(Frame frame) {
      this.frame = frame;
    }

    @Override
    public void close() {
      frame.release();
    }
  }

  /** Runs every command at once, on the calling thread; records what a connection would write. */
  /** A thread writing a 1-byte message to {@code out}, once it waits; what the write throws goes to {@code failed}. */
  private static Thread blockedWriter(OutboundStream<BytesValue> out, AtomicReference<Throwable> failed) {
    Thread writer = new Thread(() -> {
      try {
        out.write(message(1));
      } catch (Throwable t) {
        failed.set(t);
      }
    });
    writer.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> writer.getState() == Thread.State.WAITING);
    return writer;
  }

  private static final class Link implements StreamLink, OutboundStream.Owner {
    final List<Object> written = new ArrayList<>();
    final List<FerryException> abandoned = new ArrayList<>();
    final List<FerryException> tooLarge = new ArrayList<>();
    final List<Exception> badMessages = new ArrayList<>();
    volatile boolean open = true;
    volatile boolean transportWritable = true;

    @Override
    public boolean transportWritable() {
      return transportWritable;
    }

    @Override
    public synchronized void enqueue(Runnable command) {
      command.run();
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public synchronized void write(Object frame) {
      written.add(frame);
    }

    @Override
    public void encodeFailed(Throwable cause) {
      throw new AssertionError(cause);
    }

    @Override
    public int requestId() {
      return ID;
    }

    @Override
    public void abandoned(FerryException why) {
      abandoned.add(why);
    }

    @Override
    public void tooLarge(FerryException error) {
      tooLarge.add(error);
    }

    @Override
    public void sent() {}

    final List<String> stallEvents = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void stalled() {
      stallEvents.add("stalled");
    }

    @Override
    public void stallEnded(long stalledNanos) {
      stallEvents.add("ended after " + stalledNanos + " ns");
    }

    List<String> stalls() {
      synchronized (stallEvents) {
        return new ArrayList<>(stallEvents);
      }
    }

    synchronized List<StreamFrame> messages() {
      List<StreamFrame> out = new ArrayList<>();
      for (Object o : written) {
        if (o instanceof StreamFrame) {
          out.add((StreamFrame) o);
        }
      }
      return out;
    }

    synchronized List<Integer> grants() {
      List<Integer> out = new ArrayList<>();
      for (Object o : written) {
        if (o instanceof Frame && ((Frame) o).type() == FrameType.WINDOW_UPDATE) {
          ByteBuf c = ((Frame) o).content();
          out.add(c.getInt(c.readerIndex()));
        }
      }
      return out;
    }
  }
}
