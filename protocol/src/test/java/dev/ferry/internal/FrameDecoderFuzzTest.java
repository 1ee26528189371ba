package dev.ferry.internal;

import static dev.ferry.internal.FuzzHarness.assertRoundTrips;
import static dev.ferry.internal.FuzzHarness.bufferedBytes;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferry.internal.FuzzHarness.Input;
import dev.ferry.internal.FuzzHarness.Recorder;
import dev.ferry.internal.FuzzHarness.TrackingAllocator;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * Fuzzes {@link FrameDecoder} on its own, as it runs after a checked preface: any bytes, in reads
 * split where the fuzzer chooses, with the limits the fuzzer chooses.
 *
 * <p>Invariants: only {@link ProtocolException} comes out, at most once, and no frame after it; every
 * frame delivered re-encodes through {@link FrameEncoder} to exactly the bytes it came from, in
 * order, extension frames aside; when nothing went wrong every byte was accounted for, and when the
 * input ends inside a frame that is reported as truncated; a frame error is raised only once its
 * whole header is there; between reads the decoder holds less than its maximum frame size; every
 * buffer is released.
 *
 * <p>Input: see {@link FuzzHarness}; option bits 0-2 pick the limits ({@link #LIMITS}), bit 3 makes
 * the decoder require SETTINGS first. Seeds: every golden vector (see {@link FuzzSeedCorpusTest}).
 */
class FrameDecoderFuzzTest {
  static {
    FuzzHarness.configure();
  }

  /** {maxFrameSize, maxMetadataSize}: the protocol defaults, the vectors' 16 KiB, and odd small ones. */
  static final int[][] LIMITS = {
    {Settings.DEFAULT_MAX_FRAME_SIZE, Settings.DEFAULT_MAX_METADATA_SIZE},
    {16384, Settings.DEFAULT_MAX_METADATA_SIZE},
    {16, 0},
    {40, 8},
    {1024, 16},
    {Integer.MAX_VALUE, Integer.MAX_VALUE},
    {17, 1},
    {256, 64},
  };

  /** The option bit that makes the decoder require SETTINGS as the first frame. */
  static final int SETTINGS_FIRST = 8;

  @FuzzTest(maxDuration = "2m")
  void frames(byte[] data) {
    Input in = Input.parse(data);
    int maxFrameSize = LIMITS[in.options & 7][0];
    int maxMetadataSize = LIMITS[in.options & 7][1];
    boolean settingsFirst = (in.options & SETTINGS_FIRST) != 0;

    TrackingAllocator alloc = new TrackingAllocator();
    FrameDecoder decoder = new FrameDecoder(maxFrameSize, maxMetadataSize);
    decoder.expectSettingsFirst(settingsFirst);
    Recorder recorder = new Recorder(false);
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.config().setAllocator(alloc);
    ch.pipeline().addLast(decoder, recorder);
    boolean checked = false;
    try {
      for (int[] read : in.reads()) {
        ch.writeInbound(alloc.copyOf(in.wire, read[0], read[1]));
        assertThat(bufferedBytes(decoder)).as("bytes buffered between reads").isLessThan(maxFrameSize);
      }
      int errorsBeforeEnd = recorder.errors.size();
      ch.close();
      recorder.assertWellBehaved();

      for (Frame f : recorder.frames) {
        assertThat(f.frameLength()).isLessThanOrEqualTo(maxFrameSize);
        assertThat(f.metaLength()).isLessThanOrEqualTo(maxMetadataSize);
      }
      if (settingsFirst && !recorder.frames.isEmpty()) {
        assertThat(recorder.frames.get(0).type()).isIn(FrameType.SETTINGS, FrameType.ERROR);
      }
      int end = assertRoundTrips(alloc, in.wire, 0, recorder.frames, maxFrameSize, !settingsFirst);
      if (recorder.errors.isEmpty()) {
        assertThat(end).as("bytes accounted for without an error").isEqualTo(in.wire.length);
      } else if (recorder.errors.get(0) instanceof ProtocolException.Truncated) {
        assertThat(errorsBeforeEnd).as("truncation is noticed only at the end").isZero();
        assertThat(end).as("a truncated input ends inside a frame").isLessThan(in.wire.length);
      } else {
        assertThat(in.wire.length - end).as("a frame error needs the whole header").isGreaterThanOrEqualTo(16);
      }
      checked = true;
    } finally {
      recorder.releaseAll();
      ch.finishAndReleaseAll();
      if (checked) {
        alloc.assertAllReleased();
      } else {
        alloc.releaseAll();
      }
    }
  }
}
