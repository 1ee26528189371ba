package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The frame decoder with an {@link InboundBudget}: whole frames reserved from their headers, reading
 * paused (and the frame clock stopped) while there is no room, reservations given back exactly once
 * whatever becomes of the frame.
 */
class FrameDecoderBudgetTest {
  private static final int FRAME = 100_000;

  /** A budget of {@code limit} bytes that remembers who waits. */
  private static final class FakeBudget implements InboundBudget {
    final long limit;
    long used;
    final List<Integer> reservations = new ArrayList<>();
    Runnable waiter;

    FakeBudget(long limit) {
      this.limit = limit;
    }

    @Override
    public boolean tryReserve(int bytes, Runnable onRoom) {
      if (used + bytes > limit) {
        waiter = onRoom;
        return false;
      }
      used += bytes;
      reservations.add(bytes);
      return true;
    }

    @Override
    public void release(int bytes) {
      used -= bytes;
      Runnable w = waiter;
      waiter = null;
      if (w != null) {
        w.run();
      }
    }
  }

  private static EmbeddedChannel decoder(FakeBudget budget, long frameReadTimeoutMillis) {
    FrameDecoder d = new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE, Settings.DEFAULT_MAX_METADATA_SIZE,
        frameReadTimeoutMillis, budget);
    d.expectSettingsFirst(false);
    return new EmbeddedChannel(d);
  }

  /** An encoded REQUEST frame of {@code length} bytes in all. */
  private static ByteBuf request(int length) {
    return Unpooled.buffer(length).writeInt(length).writeByte(FrameType.REQUEST.code()).writeByte(0).writeShort(0)
        .writeInt(1).writeInt(0).writeZero(length - Frame.HEADER_SIZE);
  }

  private static FrameDecoder decoderOf(EmbeddedChannel ch) {
    return ch.pipeline().get(FrameDecoder.class);
  }

  @Test
  void aFrameIsReservedWholeFromItsHeaderAndGivenBackOncePassedOn() {
    FakeBudget budget = new FakeBudget(1 << 20);
    EmbeddedChannel ch = decoder(budget, 0);
    ByteBuf frame = request(FRAME);
    try {
      ch.writeInbound(frame.readRetainedSlice(Frame.HEADER_SIZE));
      assertThat(budget.reservations).as("from the header alone").containsExactly(FRAME);
      ch.writeInbound(frame.readRetainedSlice(FRAME / 2));
      assertThat(budget.used).isEqualTo(FRAME);
      ch.writeInbound(frame.readRetainedSlice(frame.readableBytes()));
      Frame f = ch.readInbound();
      assertThat(f.frameLength()).isEqualTo(FRAME);
      f.release();
      assertThat(budget.used).as("given back once passed on").isZero();
      assertThat(budget.reservations).hasSize(1);
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aFrameThatDoesNotFitWaitsWithReadingPausedAndItsClockStopped() {
    FakeBudget budget = new FakeBudget(FRAME + 1000);
    budget.used = 50_000; // held elsewhere
    EmbeddedChannel ch = decoder(budget, 1_000);
    FrameDecoder d = decoderOf(ch);
    ByteBuf frame = request(FRAME);
    try {
      ch.writeInbound(frame.readRetainedSlice(1_000));
      assertThat(d.isWaitingForMemory()).isTrue();
      assertThat(ch.config().isAutoRead()).isFalse();
      assertThat(budget.waiter).isNotNull();
      // Far past the frame read timeout: the wait is ours, not the peer's.
      ch.advanceTimeBy(10, TimeUnit.SECONDS);
      ch.runScheduledPendingTasks();
      ch.checkException();

      budget.release(50_000); // room: the decoder is called back, on its event loop
      ch.runPendingTasks();
      assertThat(d.isWaitingForMemory()).isFalse();
      assertThat(ch.config().isAutoRead()).isTrue();
      assertThat(budget.used).isEqualTo(FRAME);
      ch.writeInbound(frame.readRetainedSlice(frame.readableBytes()));
      Frame f = ch.readInbound();
      assertThat(f).isNotNull();
      f.release();
      assertThat(budget.used).isZero();
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aCompleteFrameThatDoesNotFitIsNotPassedOnUntilItDoes() {
    FakeBudget budget = new FakeBudget(FRAME);
    budget.used = 1;
    EmbeddedChannel ch = decoder(budget, 0);
    try {
      ch.writeInbound(request(FRAME));
      assertThat((Object) ch.readInbound()).isNull();
      budget.release(1);
      ch.runPendingTasks();
      Frame f = ch.readInbound();
      assertThat(f).isNotNull();
      f.release();
      assertThat(budget.used).isZero();
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void theReservationOfAFrameCutShortIsGivenBack() {
    FakeBudget budget = new FakeBudget(1 << 20);
    EmbeddedChannel ch = decoder(budget, 0);
    ByteBuf frame = request(FRAME);
    try {
      ch.writeInbound(frame.readRetainedSlice(5_000));
      assertThat(budget.used).isEqualTo(FRAME);
      assertThatThrownBy(ch::finishAndReleaseAll).isInstanceOf(ProtocolException.Truncated.class);
      assertThat(budget.used).isZero();
    } finally {
      frame.release();
    }
  }

  @Test
  void theReservationOfAMalformedFrameIsGivenBack() {
    FakeBudget budget = new FakeBudget(1 << 20);
    EmbeddedChannel ch = decoder(budget, 0);
    // GOAWAY whose last request id has its top bit set: found only once the payload is here.
    ByteBuf goAway = Unpooled.buffer().writeInt(24).writeByte(FrameType.GOAWAY.code()).writeByte(0).writeShort(0)
        .writeInt(0).writeInt(0).writeInt(0x80000001).writeInt(0);
    try {
      assertThatThrownBy(() -> ch.writeInbound(goAway)).isInstanceOf(ProtocolException.class);
      assertThat(budget.used).isZero();
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aLargeFrameIsCollectedInOneBufferOfItsSize() {
    FakeBudget budget = new FakeBudget(8 << 20);
    EmbeddedChannel ch = decoder(budget, 0);
    List<Integer> allocated = new ArrayList<>();
    ch.config().setAllocator(new AbstractByteBufAllocator(false) {
      @Override
      protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        allocated.add(initialCapacity);
        return new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
      }

      @Override
      protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        allocated.add(initialCapacity);
        return new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
      }

      @Override
      public boolean isDirectBufferPooled() {
        return false;
      }
    });
    int length = 4 << 20;
    ByteBuf frame = request(length);
    try {
      while (frame.isReadable()) {
        ch.writeInbound(frame.readRetainedSlice(Math.min(64 * 1024, frame.readableBytes())));
      }
      Frame f = ch.readInbound();
      assertThat(f.frameLength()).isEqualTo(length);
      f.release();
      // Not 128 KiB, 256 KiB, ... 4 MiB, each copied into the next: one buffer, of the frame's size.
      assertThat(allocated).containsExactly(length);
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }
}
