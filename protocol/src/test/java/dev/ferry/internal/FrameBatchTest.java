package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.MessageLite;
import com.google.protobuf.StringValue;
import dev.ferry.StatusCode;
import dev.ferry.internal.wire.RequestHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link FrameEncoder}'s batches: call frames written with the void promise are collected into one
 * buffer until the flush, in order with everything else written, and each is told how its write ended,
 * also when the batch failed part of the way through.
 */
class FrameBatchTest {
  private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

  /** A call frame that records what it was told of its write. */
  private static final class Recorded implements OutgoingCall {
    final FrameType type;
    final int id;
    final MessageLite body;
    final List<Throwable> told = new ArrayList<>();
    int calls;

    Recorded(FrameType type, int id, MessageLite body) {
      this.type = type;
      this.id = id;
      this.body = body;
    }

    @Override
    public FrameType type() {
      return type;
    }

    @Override
    public int requestId() {
      return id;
    }

    @Override
    public int flags() {
      return 0;
    }

    @Override
    public CallHeader header() {
      return type == FrameType.REQUEST
          ? CallHeader.of(RequestHeader.newBuilder().setMethod("demo.Greeter/Hello").build())
          : ResponseHead.OK;
    }

    @Override
    public MessageLite body() {
      return body;
    }

    @Override
    public void written(Throwable failure) {
      calls++;
      told.add(failure);
    }

    boolean toldSuccess() {
      return calls == 1 && told.get(0) == null;
    }
  }

  private static Recorded request(int id, int bodyBytes) {
    return new Recorded(FrameType.REQUEST, id, BytesValue.of(ByteString.copyFrom(new byte[bodyBytes])));
  }

  /** Everything the channel wrote, as one buffer, and the number of buffers it came in. */
  private static ByteBuf drain(EmbeddedChannel ch, int[] buffers) {
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
      buffers[0]++;
      all.writeBytes(b);
      b.release();
    }
    return all;
  }

  /** The frames in {@code bytes}, decoded, as "TYPE id" strings. */
  private static List<String> frames(ByteBuf bytes) {
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(1 << 20));
    dec.writeInbound(bytes);
    List<String> out = new ArrayList<>();
    for (Frame f; (f = dec.readInbound()) != null; ) {
      out.add(f.type() + " " + f.requestId());
      f.release();
    }
    assertThat(dec.finishAndReleaseAll()).isFalse();
    return out;
  }

  @Test
  void callFramesWrittenWithTheVoidPromiseGoOutAsOneBufferAtTheFlushAndEachIsToldItWasWritten() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    List<Recorded> calls = new ArrayList<>();
    for (int i = 1; i <= 50; i++) {
      Recorded r = request(i, i * 7);
      calls.add(r);
      ch.write(r, ch.voidPromise());
    }
    ch.flush();
    // The first batches are small; the next ones are sized after what came between two flushes.
    int[] buffers = {0};
    List<String> expected = new ArrayList<>();
    for (int i = 1; i <= 50; i++) {
      expected.add("REQUEST " + i);
    }
    assertThat(frames(drain(ch, buffers))).containsExactlyElementsOf(expected);
    assertThat(buffers[0]).isBetween(2, 20);
    assertThat(calls).allMatch(Recorded::toldSuccess);

    calls.clear();
    for (int i = 51; i <= 100; i++) {
      Recorded r = request(i, (i - 50) * 7);
      calls.add(r);
      ch.write(r, ch.voidPromise());
    }
    assertThat(ch.<Object>readOutbound()).as("nothing goes out before the flush").isNull();
    assertThat(calls).noneMatch(r -> r.calls > 0);
    ch.flush();
    buffers[0] = 0;
    expected.clear();
    for (int i = 51; i <= 100; i++) {
      expected.add("REQUEST " + i);
    }
    assertThat(frames(drain(ch, buffers))).containsExactlyElementsOf(expected);
    assertThat(buffers[0]).isEqualTo(1);
    assertThat(calls).allMatch(Recorded::toldSuccess);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void otherFramesKeepTheirPlaceBetweenBatchedOnes() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    ch.write(request(1, 3), ch.voidPromise());
    ch.write(Frame.ping(ALLOC, 42));
    ch.write(request(2, 3), ch.voidPromise());
    ch.write(new CallFrame(FrameType.RESPONSE, 9, ResponseHead.OK, StringValue.of("own promise")));
    ch.write(request(3, 3), ch.voidPromise());
    ch.writeAndFlush(Frame.cancel(3));
    int[] buffers = {0};
    assertThat(frames(drain(ch, buffers)))
        .containsExactly("REQUEST 1", "PING 0", "REQUEST 2", "RESPONSE 9", "REQUEST 3", "CANCEL 3");
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void aLargeFrameGetsABufferOfItsOwnAndIsToldAsTheOthers() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    Recorded small = request(1, 10);
    Recorded large = request(2, FrameEncoder.MAX_BATCHED_FRAME);
    Recorded after = request(3, 10);
    ch.write(small, ch.voidPromise());
    ch.write(large, ch.voidPromise());
    ch.write(after, ch.voidPromise());
    ch.flush();
    int[] buffers = {0};
    assertThat(frames(drain(ch, buffers))).containsExactly("REQUEST 1", "REQUEST 2", "REQUEST 3");
    assertThat(buffers[0]).isEqualTo(3);
    assertThat(List.of(small, large, after)).allMatch(Recorded::toldSuccess);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void aFullBatchIsWrittenAndANewOneStarted() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    List<Recorded> calls = new ArrayList<>();
    for (int i = 1; i <= 40; i++) { // 40 × ~4 KiB: beyond the largest batch
      Recorded r = request(i, 4000);
      calls.add(r);
      ch.write(r, ch.voidPromise());
    }
    ch.flush();
    int[] buffers = {0};
    List<String> decoded = frames(drain(ch, buffers));
    assertThat(decoded).hasSize(40).first().isEqualTo("REQUEST 1");
    assertThat(decoded).last().isEqualTo("REQUEST 40");
    assertThat(buffers[0]).isGreaterThan(1).isLessThan(40);
    assertThat(calls).allMatch(Recorded::toldSuccess);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  /**
   * A transport that takes {@code take} bytes of a batch and then fails it, as a socket does whose
   * write went part of the way before the connection broke: it moves the reader index over what it
   * wrote (as Netty's outbound buffer does) and fails the promise.
   */
  private static final class BreaksAfter extends ChannelOutboundHandlerAdapter {
    final int take;
    final ByteBuf received = Unpooled.buffer();

    BreaksAfter(int take) {
      this.take = take;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      ByteBuf buf = (ByteBuf) msg;
      int n = Math.min(take - received.writerIndex(), buf.readableBytes());
      received.writeBytes(buf, n);
      buf.release();
      if (buf.isReadable() || received.writerIndex() >= take) {
        promise.setFailure(new IOException("Connection reset by peer"));
      } else {
        promise.setSuccess();
      }
    }
  }

  @Test
  void aBatchThatFailsPartWayTellsTheFramesWrittenWholeTheyWereWrittenAndTheRestTheyWereNot() {
    // Each frame: 16-byte header + the call header + a body: find where the third one ends.
    EmbeddedChannel probe = new EmbeddedChannel(new FrameEncoder());
    probe.writeOutbound(request(1, 20));
    ByteBuf one = probe.readOutbound();
    int frameLength = one.readableBytes();
    one.release();
    probe.finishAndReleaseAll();

    for (int cut : new int[] {0, 1, frameLength - 1, frameLength, frameLength + 1, 3 * frameLength,
        3 * frameLength + 5, 5 * frameLength - 1}) {
      BreaksAfter transport = new BreaksAfter(cut);
      EmbeddedChannel ch = new EmbeddedChannel(transport, new FrameEncoder());
      List<Recorded> calls = new ArrayList<>();
      for (int i = 1; i <= 5; i++) {
        Recorded r = request(i, 20);
        calls.add(r);
        ch.write(r, ch.voidPromise());
      }
      ch.flush();
      int whole = cut / frameLength;
      for (int i = 0; i < 5; i++) {
        Recorded r = calls.get(i);
        assertThat(r.calls).as("cut %d, frame %d told once", cut, i + 1).isEqualTo(1);
        if (i < whole) {
          assertThat(r.told.get(0)).as("cut %d, frame %d went out whole", cut, i + 1).isNull();
        } else {
          assertThat(r.told.get(0)).as("cut %d, frame %d did not", cut, i + 1)
              .isInstanceOf(IOException.class).hasMessage("Connection reset by peer");
        }
      }
      transport.received.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void framesCollectedWhenTheChannelClosesAreToldTheyWereNotWrittenAndNothingLeaks() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    Recorded a = request(1, 5);
    Recorded b = request(2, 5);
    ch.write(a, ch.voidPromise());
    ch.write(b, ch.voidPromise());
    ch.close();
    assertThat(a.calls).isEqualTo(1);
    assertThat(b.calls).isEqualTo(1);
    assertThat(a.told.get(0)).isInstanceOf(ClosedChannelException.class);
    assertThat(b.told.get(0)).isInstanceOf(ClosedChannelException.class);
    ch.runPendingTasks();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void aRequestThatCannotBeEncodedIsToldSoAndLeavesNoBytesInTheBatch() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    Recorded before = request(1, 5);
    Recorded broken = new Recorded(FrameType.REQUEST, 2, FrameCodecTest.brokenMessage());
    Recorded after = request(3, 5);
    ch.write(before, ch.voidPromise());
    ch.write(broken, ch.voidPromise());
    ch.write(after, ch.voidPromise());
    assertThat(broken.calls).isEqualTo(1);
    assertThat(broken.told.get(0)).isInstanceOf(FrameEncoder.EncodeException.class)
        .hasMessageContaining("broken on purpose");
    ch.flush();
    int[] buffers = {0};
    assertThat(frames(drain(ch, buffers))).containsExactly("REQUEST 1", "REQUEST 3");
    assertThat(before.toldSuccess()).isTrue();
    assertThat(after.toldSuccess()).isTrue();
    assertThat(broken.calls).isEqualTo(1);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void aResponseThatCannotBeEncodedGoesOutAsInternalAndTheCallIsToldOfThatWrite() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    Recorded broken = new Recorded(FrameType.RESPONSE, 4, FrameCodecTest.brokenMessage());
    Recorded next = new Recorded(FrameType.RESPONSE, 5, StringValue.of("fine"));
    ch.write(broken, ch.voidPromise());
    ch.write(next, ch.voidPromise());
    ch.flush();
    ByteBuf out = drain(ch, new int[1]);
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(1 << 20));
    dec.writeInbound(out);
    Frame first = dec.readInbound();
    Frame second = dec.readInbound();
    try {
      assertThat(first.requestId()).isEqualTo(4);
      ResponseHead head = ResponseHead.parse(first.content(), first.callHeaderIndex(), first.metaLength());
      assertThat(head.status()).isEqualTo(StatusCode.INTERNAL);
      assertThat(first.bodyLength()).isZero();
      assertThat(second.requestId()).isEqualTo(5);
    } finally {
      first.release();
      second.release();
    }
    assertThat(broken.toldSuccess()).as("told once, of the INTERNAL response's write").isTrue();
    assertThat(next.toldSuccess()).isTrue();
    assertThat(dec.finishAndReleaseAll()).isFalse();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  /** An allocator that gives what {@code delegate} gives, or throws once {@link #failing} is set. */
  private static final class FlakyAllocator extends io.netty.buffer.AbstractByteBufAllocator {
    final boolean heap;
    boolean failing;

    FlakyAllocator(boolean heap) {
      super(!heap);
      this.heap = heap;
    }

    @Override
    public ByteBuf ioBuffer(int initialCapacity) {
      if (failing) {
        throw new OutOfMemoryError("Cannot reserve direct memory (on purpose)");
      }
      return heap ? heapBuffer(initialCapacity) : directBuffer(initialCapacity);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      return UnpooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      return UnpooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }
  }

  @Test
  void aFrameWhoseBufferCannotBeAllocatedIsToldSoAndNothingOfItIsWritten() {
    FlakyAllocator alloc = new FlakyAllocator(false);
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    ch.config().setAllocator(alloc);
    Recorded before = request(1, 5);
    ch.write(before, ch.voidPromise());
    ch.flush();
    alloc.failing = true;
    Recorded small = request(2, 5);
    Recorded large = request(3, FrameEncoder.MAX_BATCHED_FRAME);
    ch.write(small, ch.voidPromise());
    ch.write(large, ch.voidPromise());
    assertThat(small.calls).isEqualTo(1);
    assertThat(small.told.get(0)).isInstanceOf(OutOfMemoryError.class);
    assertThat(large.calls).isEqualTo(1);
    assertThat(large.told.get(0)).isInstanceOf(OutOfMemoryError.class);
    alloc.failing = false;
    Recorded after = request(4, 5);
    ch.write(after, ch.voidPromise());
    ch.flush();
    assertThat(frames(drain(ch, new int[1]))).containsExactly("REQUEST 1", "REQUEST 4");
    assertThat(before.toldSuccess()).isTrue();
    assertThat(after.toldSuccess()).isTrue();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void withAnAllocatorOfHeapBuffersEachFrameGetsABufferOfItsOwnAndAFailureIsTheFramesAlone() {
    // A transport copies heap buffers before writing them, so a batch's reader index could not say how
    // far a failed write got: frames go one per buffer instead.
    EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
    ch.config().setAllocator(new FlakyAllocator(true));
    for (int i = 1; i <= 3; i++) {
      ch.write(request(i, 5), ch.voidPromise());
    }
    ch.flush();
    int[] buffers = {0};
    assertThat(frames(drain(ch, buffers))).containsExactly("REQUEST 1", "REQUEST 2", "REQUEST 3");
    assertThat(buffers[0]).isEqualTo(3);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void theBatchsBytesAreCountedAsPendingUntilItIsWrittenDownThePipeline() {
    FrameEncoder encoder = new FrameEncoder();
    EmbeddedChannel ch = new EmbeddedChannel(encoder);
    assertThat(encoder.pendingBytes()).isZero();
    ch.write(request(1, 100), ch.voidPromise());
    int one = encoder.pendingBytes();
    assertThat(one).isGreaterThan(100);
    ch.write(request(2, 100), ch.voidPromise());
    assertThat(encoder.pendingBytes()).isEqualTo(2 * one);
    ch.flush();
    assertThat(encoder.pendingBytes()).isZero();
    drain(ch, new int[1]).release();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }
}
