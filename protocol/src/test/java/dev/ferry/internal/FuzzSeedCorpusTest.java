package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.internal.FuzzHarness.Input;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The fuzz tests' seed corpus is made from the golden vectors, and checked in where Jazzer looks for
 * regression inputs ({@code src/test/resources/dev/ferry/internal/<TestClass>Inputs/<method>/}),
 * so that the normal build replays it. This test fails when a seed is missing or stale; run it with
 * {@code -Dferry.fuzz.writeSeeds=true} to (re)write them after changing a vector:
 *
 * <pre>
 * mvn -B -ntp -pl protocol -am test -Dtest=FuzzSeedCorpusTest -Dsurefire.failIfNoSpecifiedTests=false -Dferry.fuzz.writeSeeds=true
 * </pre>
 *
 * <p>Seeds are named {@code seed-<vector>[-split][-<n>]}, plus {@code seed-limit-*}: frames exactly at
 * the limits a target can choose and one byte over them (which the decoder must refuse). Crash inputs
 * that Jazzer adds next to them ({@code crash-<sha1>}) are regression inputs and are left alone.
 */
class FuzzSeedCorpusTest {
  private static final Path RESOURCES = Path.of("src", "test", "resources");
  /** A v1 preface and an empty SETTINGS: gets a frame-mode vector past the handshake. */
  private static final byte[] HANDSHAKE = GoldenVector.hex("fe465259 0001 0000  00000010 01 00 0000 00000000 00000000");

  @Test
  void seedCorpusMatchesTheGoldenVectors() throws Exception {
    Map<String, byte[]> seeds = seeds();
    assertThat(seeds).hasSizeGreaterThan(100);
    boolean write = Boolean.getBoolean("ferry.fuzz.writeSeeds");
    for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
      if (write) {
        Path file = RESOURCES.resolve(e.getKey());
        Files.createDirectories(file.getParent());
        Files.write(file, e.getValue());
        continue;
      }
      try (InputStream in = FuzzSeedCorpusTest.class.getResourceAsStream("/" + e.getKey())) {
        assertThat(in).as("seed %s (rewrite the seeds with -Dferry.fuzz.writeSeeds=true)", e.getKey()).isNotNull();
        assertThat(in.readAllBytes()).as("seed %s", e.getKey()).isEqualTo(e.getValue());
      }
    }
  }

  /** Every seed, by its path under the test resources. */
  static Map<String, byte[]> seeds() throws Exception {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    String pkg = "dev/ferry/internal/";
    String pipeline = pkg + "InboundPipelineFuzzTestInputs/serverPipeline/";
    String frames = pkg + "FrameDecoderFuzzTestInputs/frames/";
    String request = pkg + "CallHeaderFuzzTestInputs/requestHead/";
    String response = pkg + "CallHeaderFuzzTestInputs/responseHead/";
    String settings = pkg + "CallHeaderFuzzTestInputs/settings/";
    List<GoldenVector> vectors = GoldenVectorsTest.vectors().toList();
    for (GoldenVector v : vectors) {
      String name = "seed-" + v.name.replace(".vec", "");
      boolean small = v.maxFrameSize == 16384;
      if (v.mode.equals("preface")) {
        seeds.put(pipeline + name, Input.encode(small ? 1 : 0, new int[0], v.bytes));
        seeds.put(pipeline + name + "-split", Input.encode(0, new int[] {1, 5, 9, 3}, v.bytes));
        if (v.bytes.length > Preface.SIZE) {
          byte[] afterPreface = Arrays.copyOfRange(v.bytes, Preface.SIZE, v.bytes.length);
          seeds.put(frames + name, Input.encode(FrameDecoderFuzzTest.SETTINGS_FIRST, new int[0], afterPreface));
        }
      } else {
        byte[] connection = concat(HANDSHAKE, v.bytes);
        seeds.put(pipeline + name, Input.encode(small ? 1 : 0, new int[0], connection));
        seeds.put(frames + name, Input.encode(small ? 1 : 0, new int[0], v.bytes));
        seeds.put(frames + name + "-split", Input.encode(small ? 1 : 0, new int[] {3, 14, 0, 7}, v.bytes));
      }
      int n = 0;
      for (byte[][] part : callParts(v)) {
        String dir = part[0][0] == FrameType.REQUEST.code() ? request
            : part[0][0] == FrameType.RESPONSE.code() ? response : settings;
        seeds.put(dir + name + "-" + n++, part[1]);
      }
    }
    // Frames exactly at each choice of limits, one mutation away from just over them.
    for (int i = 0; i < FrameDecoderFuzzTest.LIMITS.length; i++) {
      int maxFrameSize = FrameDecoderFuzzTest.LIMITS[i][0];
      int maxMetadataSize = FrameDecoderFuzzTest.LIMITS[i][1];
      if (maxMetadataSize <= 1024 && Frame.HEADER_SIZE + maxMetadataSize + 1 <= maxFrameSize) {
        seeds.put(frames + "seed-limit-" + i + "-meta", Input.encode(i, new int[0], request(maxMetadataSize, maxMetadataSize)));
        seeds.put(frames + "seed-limit-" + i + "-meta-over",
            Input.encode(i, new int[0], request(maxMetadataSize + 1, maxMetadataSize + 1)));
      }
      if (maxFrameSize <= 16384) {
        seeds.put(frames + "seed-limit-" + i + "-frame",
            Input.encode(i, new int[0], request(0, maxFrameSize - Frame.HEADER_SIZE)));
        seeds.put(frames + "seed-limit-" + i + "-frame-over",
            Input.encode(i, new int[0], request(0, maxFrameSize - Frame.HEADER_SIZE + 1)));
      }
    }
    for (int i = 0; i < InboundPipelineFuzzTest.LOCAL.length; i++) {
      Settings local = InboundPipelineFuzzTest.LOCAL[i];
      int meta = local.maxMetadataSize();
      if (meta <= 2048) {
        seeds.put(pipeline + "seed-limit-" + i + "-meta", Input.encode(i, new int[0], concat(HANDSHAKE, request(meta, meta))));
        seeds.put(pipeline + "seed-limit-" + i + "-meta-over",
            Input.encode(i, new int[0], concat(HANDSHAKE, request(meta + 1, meta + 1))));
      }
      int payload = local.maxFrameSize() - Frame.HEADER_SIZE;
      if (payload < 16384) {
        seeds.put(pipeline + "seed-limit-" + i + "-frame", Input.encode(i, new int[0], concat(HANDSHAKE, request(0, payload))));
        seeds.put(pipeline + "seed-limit-" + i + "-frame-over",
            Input.encode(i, new int[0], concat(HANDSHAKE, request(0, payload + 1))));
      }
    }
    return seeds;
  }

  /** A REQUEST frame, id 1, with a call header of {@code metaLength} bytes in a payload of {@code payloadLength}. */
  private static byte[] request(int metaLength, int payloadLength) {
    ByteBuf b = Unpooled.buffer(Frame.HEADER_SIZE + payloadLength);
    FrameEncoder.writeHeader(b, Frame.HEADER_SIZE + payloadLength, FrameType.REQUEST, 0, 1, metaLength);
    b.writeZero(payloadLength);
    return b.array();
  }

  /** {type, bytes} of the call headers and SETTINGS payloads of a valid vector's frames. */
  private static List<byte[][]> callParts(GoldenVector v) {
    if (!v.valid) {
      return List.of();
    }
    ByteBuf b = Unpooled.wrappedBuffer(v.bytes);
    int at = v.mode.equals("preface") ? Preface.SIZE : 0;
    List<byte[][]> parts = new java.util.ArrayList<>();
    while (v.bytes.length - at >= Frame.HEADER_SIZE) {
      int length = (int) b.getUnsignedInt(at);
      int type = b.getUnsignedByte(at + 4);
      int metaLength = (int) b.getUnsignedInt(at + 12);
      int payloadAt = at + Frame.HEADER_SIZE;
      if ((type == FrameType.REQUEST.code() || type == FrameType.RESPONSE.code()) && metaLength > 0) {
        parts.add(new byte[][] {{(byte) type}, Arrays.copyOfRange(v.bytes, payloadAt, payloadAt + metaLength)});
      } else if (type == FrameType.SETTINGS.code()) {
        parts.add(new byte[][] {{(byte) type}, Arrays.copyOfRange(v.bytes, payloadAt, at + length)});
      }
      at += length;
    }
    return parts;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
