package dev.ferry.internal;

import static dev.ferry.internal.FuzzHarness.assertRoundTrips;
import static dev.ferry.internal.FuzzHarness.bufferedBytes;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferry.internal.FuzzHarness.Input;
import dev.ferry.internal.FuzzHarness.Recorder;
import dev.ferry.internal.FuzzHarness.TrackingAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes the inbound half of a new connection as a server runs it ({@link ProtocolPipeline#addCodec}:
 * {@link PrefaceDecoder}, {@link FrameDecoder}, {@link HandshakeHandler}, then
 * {@link ConnectionErrorHandler}): the fuzz bytes are what a peer sends from its first byte on, in
 * reads split where the fuzzer chooses.
 *
 * <p>Invariants: only {@link ProtocolException} reaches the end of the pipeline, at most once, and
 * no frame after it; the connection is closed as soon as one does, and stays open otherwise; what
 * this side sent is its preface and SETTINGS, plus one ERROR with the exception's code when the
 * exception asks for a reply; the preface outcome matches the first bytes (not Ferry, wrong version,
 * truncated); the handshake's settings are those of the first frame; every later frame re-encodes to
 * its bytes; every byte is accounted for unless an error says otherwise; the decoders hold less than
 * a frame (or a preface) between reads; every buffer is released.
 *
 * <p>Input: see {@link FuzzHarness}; option bits 0-1 pick this side's settings ({@link #LOCAL}).
 */
class InboundPipelineFuzzTest {
  static {
    FuzzHarness.configure();
  }

  /**
   * This side's settings: the defaults, the vectors' 16 KiB frames, and tight metadata limits (the
   * smallest a side may announce, and a little above it).
   */
  static final Settings[] LOCAL = {
    Settings.DEFAULTS,
    Settings.builder().maxFrameSize(16384).build(),
    Settings.builder().maxFrameSize(16384).maxMetadataSize(Settings.MIN_MAX_METADATA_SIZE).build(),
    Settings.builder().maxMetadataSize(Settings.MIN_MAX_METADATA_SIZE + 476).build(),
  };

  private static final byte[] MAGIC = {(byte) 0xfe, 0x46, 0x52, 0x59};

  @FuzzTest(maxDuration = "2m")
  void serverPipeline(byte[] data) {
    Input in = Input.parse(data);
    Settings local = LOCAL[in.options & 3];
    byte[] wire = in.wire;

    TrackingAllocator alloc = new TrackingAllocator();
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.config().setAllocator(alloc);
    ProtocolPipeline.addCodec(ch.pipeline(), local, 0);
    Recorder recorder = new Recorder(true);
    ch.pipeline().addLast(recorder);
    ProtocolPipeline.addErrorHandler(ch.pipeline());
    FrameDecoder frameDecoder = ch.pipeline().get(FrameDecoder.class);
    List<ByteBuf> sent = new ArrayList<>();
    List<Frame> sentFrames = new ArrayList<>();
    boolean checked = false;
    try {
      for (int[] read : in.reads()) {
        if (!ch.isOpen()) {
          break; // closed after an error: a real connection reads nothing more
        }
        ch.writeInbound(alloc.copyOf(wire, read[0], read[1]));
        PrefaceDecoder prefaceDecoder = ch.pipeline().get(PrefaceDecoder.class);
        if (prefaceDecoder != null) {
          assertThat(bufferedBytes(prefaceDecoder)).as("preface bytes buffered").isLessThan(Preface.SIZE);
        }
        assertThat(bufferedBytes(frameDecoder)).as("bytes buffered between reads").isLessThan(local.maxFrameSize());
        assertThat(ch.isOpen()).as("open after %s", recorder.errors).isEqualTo(recorder.errors.isEmpty());
      }
      int errorsBeforeEnd = recorder.errors.size();
      ch.close();
      recorder.assertWellBehaved();
      for (Object o; (o = ch.readOutbound()) != null; ) {
        sent.add((ByteBuf) o);
      }
      ProtocolException error = recorder.errors.isEmpty() ? null : (ProtocolException) recorder.errors.get(0);
      checkSent(local, error, sent, alloc, sentFrames);

      int magicBytes = Math.min(4, wire.length);
      boolean magicOk = java.util.Arrays.equals(wire, 0, magicBytes, MAGIC, 0, magicBytes);
      if (!magicOk) {
        assertThat(error).as("error for non-Ferry bytes").isInstanceOf(ProtocolException.NotFerryPeer.class);
        assertThat(recorder.handshake).isNull();
        assertThat(errorsBeforeEnd).isOne();
      } else if (wire.length < Preface.SIZE) {
        assertThat(recorder.handshake).isNull();
        if (wire.length == 0) {
          assertThat(error).isNull();
        } else {
          assertThat(error).as("error for a partial preface").isInstanceOf(ProtocolException.Truncated.class);
        }
      } else if (Unpooled.wrappedBuffer(wire).getUnsignedShort(4) != Preface.VERSION) {
        assertThat(error).as("error for another version").isNotNull();
        assertThat(error.errorCode()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(recorder.handshake).isNull();
      } else {
        checkAfterPreface(in, local, recorder, alloc, errorsBeforeEnd);
      }
      if (recorder.handshake == null) {
        assertThat(recorder.frames).as("frames before the handshake").isEmpty();
      }
      for (Frame f : recorder.frames) {
        assertThat(f.frameLength()).isLessThanOrEqualTo(local.maxFrameSize());
        assertThat(f.metaLength()).isLessThanOrEqualTo(local.maxMetadataSize());
      }
      checked = true;
    } finally {
      sentFrames.forEach(f -> {
        if (f.refCnt() > 0) {
          f.release();
        }
      });
      sent.forEach(ByteBuf::release);
      recorder.releaseAll();
      ch.finishAndReleaseAll();
      if (checked) {
        alloc.assertAllReleased();
      } else {
        alloc.releaseAll();
      }
    }
  }

  /** The preface checked out: the first frame was the handshake, the rest was delivered in order. */
  private static void checkAfterPreface(Input in, Settings local, Recorder recorder, TrackingAllocator alloc,
      int errorsBeforeEnd) {
    byte[] wire = in.wire;
    int at = Preface.SIZE;
    if (recorder.handshake != null) {
      ByteBuf b = Unpooled.wrappedBuffer(wire);
      assertThat(b.getUnsignedByte(at + 4)).as("type of the handshake frame").isEqualTo((short) FrameType.SETTINGS.code());
      int length = (int) b.getUnsignedInt(at);
      Settings expected = Settings.decode(b.slice(at + Frame.HEADER_SIZE, length - Frame.HEADER_SIZE));
      assertThat(recorder.handshake.remote()).isEqualTo(expected);
      at += length;
    }
    int end = recorder.handshake == null ? at
        : assertRoundTrips(alloc, wire, at, recorder.frames, local.maxFrameSize(), true);
    Throwable error = recorder.errors.isEmpty() ? null : recorder.errors.get(0);
    if (error == null) {
      assertThat(end).as("bytes accounted for without an error").isEqualTo(wire.length);
    } else if (error instanceof ProtocolException.Truncated) {
      assertThat(errorsBeforeEnd).as("truncation is noticed only at the end").isZero();
      assertThat(end).as("a truncated input ends inside a frame").isLessThan(wire.length);
    } else {
      assertThat(wire.length - end).as("a frame error needs the whole header").isGreaterThanOrEqualTo(16);
    }
  }

  /** This side sent its preface and SETTINGS, then one ERROR if the exception asked for a reply. */
  private static void checkSent(Settings local, ProtocolException error, List<ByteBuf> sent, TrackingAllocator alloc,
      List<Frame> frames) {
    ByteBuf all = Unpooled.buffer();
    sent.forEach(b -> all.writeBytes(b, b.readerIndex(), b.readableBytes()));
    assertThat(ByteBufUtil.hexDump(all, 0, Preface.SIZE)).as("preface sent").isEqualTo("fe46525900010000");
    all.skipBytes(Preface.SIZE);
    EmbeddedChannel decoder = new EmbeddedChannel();
    decoder.config().setAllocator(alloc);
    decoder.pipeline().addLast(new FrameDecoder(Integer.MAX_VALUE));
    decoder.writeInbound(all);
    for (Object o; (o = decoder.readInbound()) != null; ) {
      frames.add((Frame) o);
    }
    assertThat(decoder.finish()).as("leftovers of what was sent").isFalse();
    assertThat(frames).as("frames sent").isNotEmpty();
    assertThat(frames.get(0).type()).isEqualTo(FrameType.SETTINGS);
    assertThat(Settings.decode(frames.get(0).content())).isEqualTo(local);
    if (error != null && error.replyWithError()) {
      assertThat(frames).as("frames sent after %s", error).hasSize(2);
      assertThat(frames.get(1).type()).isEqualTo(FrameType.ERROR);
      assertThat(frames.get(1).errorCode()).isEqualTo(error.errorCode());
      assertThat(frames.get(1).reason()).isEqualTo(error.getMessage());
    } else {
      assertThat(frames).as("frames sent without an error to report").hasSize(1);
    }
  }
}
