package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The frame read timeout: a frame that has started arriving must finish in time (slowloris). */
class FrameReadTimeoutTest {
  private static final long TIMEOUT_MILLIS = 1_000;

  private static EmbeddedChannel decoder(long timeoutMillis) {
    FrameDecoder d = new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE, Settings.DEFAULT_MAX_METADATA_SIZE,
        timeoutMillis);
    d.expectSettingsFirst(false);
    return frozen(new EmbeddedChannel(d));
  }

  /**
   * {@code ch} with its clock stopped: only {@link #advance} moves it. (An embedded channel's clock
   * otherwise runs on with real time too, and a busy machine's few milliseconds between two steps
   * showed up in the elapsed times these tests check to the millisecond.)
   */
  private static EmbeddedChannel frozen(EmbeddedChannel ch) {
    ch.freezeTime();
    return ch;
  }

  /** One PING frame (24 bytes), encoded. */
  private static ByteBuf ping(long data) {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(Frame.ping(UnpooledByteBufAllocator.DEFAULT, data));
    ByteBuf b = enc.readOutbound();
    enc.finishAndReleaseAll();
    return b;
  }

  private static void advance(EmbeddedChannel ch, long millis) {
    ch.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
  }

  @Test
  void aFrameDrippedByteByByteFailsWithFrameTimeout() {
    EmbeddedChannel ch = decoder(TIMEOUT_MILLIS);
    ByteBuf frame = ping(7);
    try {
      // A byte every 100 ms: the peer is never silent, so only the frame timer can catch it.
      for (int i = 0; i < 9; i++) {
        ch.writeInbound(frame.readRetainedSlice(1));
        advance(ch, 100);
      }
      assertThat(ch.isOpen()).isTrue();
      ch.writeInbound(frame.readRetainedSlice(1));
      advance(ch, 150);
      assertThatThrownBy(ch::checkException).isInstanceOfSatisfying(ProtocolException.class, e -> {
        assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_TIMEOUT);
        assertThat(e.getMessage()).contains("10 of its 16 header bytes").contains("frame read timeout 1000 ms");
      });
      // Whatever arrives afterwards is not decoded.
      ch.writeInbound(frame.readRetainedSlice(frame.readableBytes()));
      assertThat((Object) ch.readInbound()).isNull();
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aHeaderThatArrivedWithItsBodyLateIsReportedWithItsLength() {
    EmbeddedChannel ch = decoder(TIMEOUT_MILLIS);
    ByteBuf frame = ping(7);
    try {
      ch.writeInbound(frame.readRetainedSlice(20));
      advance(ch, TIMEOUT_MILLIS);
      assertThatThrownBy(ch::checkException).isInstanceOfSatisfying(ProtocolException.class,
          e -> assertThat(e.getMessage()).contains("20 of its 24 bytes"));
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aSteadyStreamWhoseReadsEndMidFrameNeverTimesOut() {
    // Every read completes the frame in progress and starts the next: each frame takes 600 ms, far
    // less than the timeout, though some frame is always incomplete. 10 s in all.
    EmbeddedChannel ch = decoder(TIMEOUT_MILLIS);
    ByteBuf stream = Unpooled.buffer();
    for (int i = 0; i < 20; i++) {
      ByteBuf p = ping(i);
      stream.writeBytes(p);
      p.release();
    }
    try {
      ch.writeInbound(stream.readRetainedSlice(12));
      int decoded = 0;
      while (stream.readableBytes() >= 24) {
        advance(ch, 600);
        ch.writeInbound(stream.readRetainedSlice(24)); // the rest of one frame, the start of the next
        Frame f = ch.readInbound();
        assertThat(f).isNotNull();
        f.release();
        decoded++;
      }
      ch.writeInbound(stream.readRetainedSlice(stream.readableBytes())); // the end of the last frame
      Frame last = ch.readInbound();
      last.release();
      ch.checkException();
      assertThat(decoded).isEqualTo(19);
      assertThat(ch.isOpen()).isTrue();
    } finally {
      stream.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aFrameCompletedInTimeDisarmsTheCheck() {
    EmbeddedChannel ch = decoder(TIMEOUT_MILLIS);
    ByteBuf frame = ping(1);
    try {
      ch.writeInbound(frame.readRetainedSlice(5));
      advance(ch, 900);
      ch.writeInbound(frame.readRetainedSlice(frame.readableBytes()));
      Frame f = ch.readInbound();
      f.release();
      advance(ch, 10 * TIMEOUT_MILLIS); // quiet between frames: the heartbeat's business, not this timer's
      ch.checkException();
      assertThat(ch.isOpen()).isTrue();
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void timeWithReadingPausedDoesNotCount() {
    FrameDecoder d = new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE, Settings.DEFAULT_MAX_METADATA_SIZE,
        TIMEOUT_MILLIS);
    d.expectSettingsFirst(false);
    EmbeddedChannel ch = frozen(new EmbeddedChannel(d));
    ByteBuf frame = ping(3);
    try {
      ch.writeInbound(frame.readRetainedSlice(12));
      advance(ch, 600);
      // Back-pressure: we stop reading, so the rest of the frame waits in the socket; no fault of the peer.
      d.pauseReadingForBackPressure(true);
      assertThat(ch.config().isAutoRead()).isFalse();
      advance(ch, 60_000);
      ch.checkException();
      d.pauseReadingForBackPressure(false);
      assertThat(ch.config().isAutoRead()).isTrue();
      advance(ch, 300); // 900 ms of reading in all
      ch.checkException();
      advance(ch, 150);
      assertThatThrownBy(ch::checkException).isInstanceOfSatisfying(ProtocolException.class, e -> {
        assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_TIMEOUT);
        assertThat(e.getMessage()).contains("after 1050 ms of reading").contains("12 of its 16 header bytes");
      });
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aPausedConnectionThatResumesGetsItsFrameInTime() {
    FrameDecoder d = new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE, Settings.DEFAULT_MAX_METADATA_SIZE,
        TIMEOUT_MILLIS);
    d.expectSettingsFirst(false);
    EmbeddedChannel ch = frozen(new EmbeddedChannel(d));
    ByteBuf frame = ping(3);
    try {
      // A slow reader: reading stretches of 30 ms, each bringing one byte, between pauses of 2 s. The
      // frame takes 50 s to arrive, 0.72 s of it with reading on: within the limit of 1 s.
      for (int i = 0; i < 24; i++) {
        ch.writeInbound(frame.readRetainedSlice(1));
        advance(ch, 30);
        d.pauseReadingForBackPressure(true);
        advance(ch, 2_000);
        d.pauseReadingForBackPressure(false);
        ch.checkException();
      }
      Frame f = ch.readInbound();
      assertThat(f.type()).isEqualTo(FrameType.PING);
      f.release();
      assertThat(ch.isOpen()).isTrue();
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void anExtensionFrameStartsTheClockAfresh() {
    EmbeddedChannel ch = decoder(TIMEOUT_MILLIS);
    ByteBuf first = ping(1);
    ByteBuf extension = Unpooled.buffer().writeInt(16 + 100_000).writeByte(0x80).writeByte(0).writeShort(0)
        .writeInt(0).writeInt(0).writeZero(100_000);
    try {
      ch.writeInbound(first.readRetainedSlice(5));
      advance(ch, 100);
      ch.writeInbound(first.readRetainedSlice(first.readableBytes()));
      Frame f = ch.readInbound();
      f.release();
      advance(ch, 100);
      // A 100 KB extension frame that takes 900 ms, and ends 1.1 s after the PING's first byte: its clock
      // starts with its own first byte, not with the PING's.
      for (int i = 0; i < 9; i++) {
        ch.writeInbound(extension.readRetainedSlice(10_000));
        advance(ch, 100);
        ch.checkException();
      }
      ch.writeInbound(extension.readRetainedSlice(extension.readableBytes()));
      advance(ch, 10 * TIMEOUT_MILLIS);
      ch.checkException();
      assertThat(ch.isOpen()).isTrue();
      Object skipped = ch.readInbound();
      assertThat(skipped).isNull();
    } finally {
      first.release();
      extension.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void zeroMeansNoLimit() {
    EmbeddedChannel ch = decoder(0);
    ByteBuf frame = ping(1);
    try {
      ch.writeInbound(frame.readRetainedSlice(5));
      advance(ch, TimeUnit.HOURS.toMillis(1));
      ch.checkException();
      ch.writeInbound(frame.readRetainedSlice(frame.readableBytes()));
      Frame f = ch.readInbound();
      assertThat(f.type()).isEqualTo(FrameType.PING);
      f.release();
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void negativeTimeoutIsRejected() {
    assertThatThrownBy(() -> new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE, 1024, -1))
        .hasMessage("frameReadTimeoutMillis: -1 (expected: >= 0)");
  }
}
