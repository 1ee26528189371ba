package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.internal.wire.MetadataEntry;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Decodes every golden vector and checks the decoder agrees with what the vector says, then
 * re-encodes the frames of every valid vector and checks the bytes are the same.
 */
class GoldenVectorsTest {

  static Stream<GoldenVector> vectors() throws IOException, URISyntaxException {
    Path dir = Path.of(GoldenVectorsTest.class.getResource("/vectors").toURI());
    List<GoldenVector> all = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".vec")).sorted()::iterator) {
        all.add(GoldenVector.parse(f));
      }
    }
    return all.stream();
  }

  @Test
  void theVectorSetCoversTheRequiredCases() throws Exception {
    List<GoldenVector> all = vectors().toList();
    assertThat(all.stream().filter(v -> !v.valid)).hasSizeGreaterThanOrEqualTo(6);
    assertThat(all.stream().filter(v -> !v.valid).map(v -> v.error))
        .contains("NOT_FERRY", "UNSUPPORTED_VERSION", "FRAME_TOO_LARGE", "PROTOCOL_ERROR", "TRUNCATED");
    List<String> typesCovered = all.stream().flatMap(v -> v.frames.stream())
        .map(f -> firstWord(f.get("frame").get(0))).distinct().toList();
    for (FrameType t : FrameType.values()) {
      assertThat(typesCovered).as("a valid vector with a %s frame", t).contains(t.name());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void decodesAsTheVectorSays(GoldenVector v) {
    Capture capture = new Capture();
    EmbeddedChannel ch = v.mode.equals("preface")
        ? new EmbeddedChannel(new PrefaceDecoder(),
            new FrameDecoder(v.maxFrameSize, Settings.DEFAULT_MAX_METADATA_SIZE), new FrameEncoder(),
            new HandshakeHandler(Settings.DEFAULTS, 0), capture, ConnectionErrorHandler.INSTANCE)
        : v.streamWindow > 0
        ? new EmbeddedChannel(frameModeDecoder(v.maxFrameSize), new FrameEncoder(),
            new FlowControlChecker(v.streamWindow), capture, ConnectionErrorHandler.INSTANCE)
        : new EmbeddedChannel(frameModeDecoder(v.maxFrameSize), new FrameEncoder(), capture,
            ConnectionErrorHandler.INSTANCE);
    List<ByteBuf> outbound = new ArrayList<>();
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(v.bytes));
      if (v.valid) {
        assertThat(capture.errors).as("errors").isEmpty();
        assertThat(ch.isOpen()).isTrue();
      } else if (v.error.equals("TRUNCATED")) {
        assertThat(capture.errors).as("nothing is wrong until the connection ends").isEmpty();
        ch.close();
        assertThat(capture.errors).singleElement().isInstanceOf(ProtocolException.Truncated.class);
      } else {
        assertThat(capture.errors).as("errors for %s", v.name).singleElement().satisfies(e -> {
          if (v.error.equals("NOT_FERRY")) {
            assertThat(e).isInstanceOf(ProtocolException.NotFerryPeer.class);
          } else {
            assertThat(e).isExactlyInstanceOf(ProtocolException.class);
            assertThat(((ProtocolException) e).errorCode().name()).isEqualTo(v.error);
          }
        });
        assertThat(ch.isOpen()).as("the connection is closed").isFalse();
      }
      for (Object o; (o = ch.readOutbound()) != null; ) {
        outbound.add((ByteBuf) o);
      }
      checkReply(v, outbound);
      checkFrames(v, capture);
    } finally {
      capture.frames.forEach(Frame::release);
      outbound.forEach(ByteBuf::release);
      ch.finishAndReleaseAll();
    }
  }

  /** A decoder for a stream that need not start with SETTINGS, with the default metadata limit. */
  private static FrameDecoder frameModeDecoder(int maxFrameSize) {
    FrameDecoder d = new FrameDecoder(maxFrameSize, Settings.DEFAULT_MAX_METADATA_SIZE);
    d.expectSettingsFirst(false);
    return d;
  }

  private static void checkReply(GoldenVector v, List<ByteBuf> outbound) {
    ByteBuf all = Unpooled.buffer();
    outbound.forEach(b -> all.writeBytes(b, b.readerIndex(), b.readableBytes()));
    if (v.mode.equals("preface")) {
      all.skipBytes(Preface.SIZE);
    }
    List<Frame> sent = decodeAll(all);
    try {
      if (v.mode.equals("preface")) {
        assertThat(sent.remove(0).type()).isEqualTo(FrameType.SETTINGS);
      }
      String expected = v.reply == null || v.valid ? "none" : v.reply;
      if (expected.equals("none")) {
        assertThat(sent).isEmpty();
      } else {
        assertThat(sent).singleElement().satisfies(f -> {
          assertThat(f.type()).isEqualTo(FrameType.ERROR);
          assertThat("ERROR " + f.errorCode().name()).isEqualTo(expected);
          assertThat(f.reason()).isNotBlank();
        });
      }
    } finally {
      sent.forEach(Frame::release);
    }
  }

  private static List<Frame> decodeAll(ByteBuf bytes) {
    EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder(Integer.MAX_VALUE));
    decoder.writeInbound(bytes);
    List<Frame> frames = new ArrayList<>();
    for (Object o; (o = decoder.readInbound()) != null; ) {
      frames.add((Frame) o);
    }
    decoder.finishAndReleaseAll();
    return frames;
  }

  private static void checkFrames(GoldenVector v, Capture capture) {
    List<Map<String, List<String>>> expected = new ArrayList<>(v.frames);
    if (v.mode.equals("preface") && v.valid) {
      assertThat(capture.handshake).as("handshake completed").isNotNull();
    }
    if (v.mode.equals("preface") && capture.handshake != null) {
      assertThat(v.prefaceVersion).isEqualTo(Preface.VERSION);
      Map<String, List<String>> settings = expected.remove(0);
      assertThat(firstWord(settings.get("frame").get(0))).isEqualTo("SETTINGS");
      Settings s = capture.handshake.remote();
      for (String entry : settings.getOrDefault("setting", List.of())) {
        String[] kv = entry.split("=");
        int id = Integer.decode(kv[0].trim());
        long value = Long.parseLong(kv[1].trim());
        long actual = id == Settings.ID_MAX_FRAME_SIZE ? s.maxFrameSize()
            : id == Settings.ID_HEARTBEAT_INTERVAL_MS ? s.heartbeatIntervalMillis()
            : id == Settings.ID_MAX_CONCURRENT_CALLS ? s.maxConcurrentCalls()
            : id == Settings.ID_MIN_PING_INTERVAL_MS ? s.minPingIntervalMillis()
            : id == Settings.ID_MAX_METADATA_SIZE ? s.maxMetadataSize()
            : id == Settings.ID_STREAM_INITIAL_WINDOW ? s.streamInitialWindow() : value;
        assertThat(actual).as("setting %s", kv[0]).isEqualTo(value);
      }
    }
    assertThat(capture.frames).hasSize(expected.size());
    ByteBuf reencoded = Unpooled.buffer();
    for (int i = 0; i < expected.size(); i++) {
      checkFrame(expected.get(i), capture.frames.get(i));
      EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
      enc.writeOutbound(capture.frames.get(i).retainedDuplicate());
      ByteBuf b = enc.readOutbound();
      reencoded.writeBytes(b);
      b.release();
      enc.finishAndReleaseAll();
    }
    if (v.valid && v.mode.equals("frame") && !hasExtensionFrame(v.bytes)) {
      assertThat(ByteBufUtil.hexDump(reencoded)).as("re-encoded").isEqualTo(ByteBufUtil.hexDump(v.bytes));
    }
  }

  private static boolean hasExtensionFrame(byte[] bytes) {
    for (int at = 0; at + Frame.HEADER_SIZE <= bytes.length; ) {
      ByteBuf b = Unpooled.wrappedBuffer(bytes);
      long length = b.getUnsignedInt(at);
      if (FrameType.isExtension(b.getUnsignedByte(at + 4))) {
        return true;
      }
      at += (int) length;
    }
    return false;
  }

  private static void checkFrame(Map<String, List<String>> e, Frame f) {
    assertThat(f.type().name()).isEqualTo(firstWord(e.get("frame").get(0)));
    if (e.containsKey("flags")) {
      assertThat(f.flags()).isEqualTo(Integer.decode(one(e, "flags")));
    }
    if (e.containsKey("request_id")) {
      assertThat(f.requestId()).isEqualTo(Integer.parseInt(one(e, "request_id")));
    }
    if (e.containsKey("meta_length")) {
      assertThat(f.metaLength()).isEqualTo(Integer.parseInt(one(e, "meta_length")));
    }
    if (e.containsKey("body")) {
      assertThat(ByteBufUtil.hexDump(f.body())).isEqualTo(ByteBufUtil.hexDump(GoldenVector.hex(one(e, "body"))));
    }
    try {
      switch (f.type()) {
        case REQUEST: {
          RequestHeader h = Protobufs.parse(RequestHeader.parser(), f.callHeader());
          assertThat(h.getMethod()).isEqualTo(one(e, "method"));
          long wireTimeout = Long.parseUnsignedLong(one(e, "timeout_micros"));
          assertThat(h.getTimeoutMicros()).isEqualTo(wireTimeout);
          // The timeout the receiver applies (PROTOCOL.md section 9.3), as Ferry's own reader gives it.
          long effective = e.containsKey("effective_timeout_micros")
              ? Long.parseUnsignedLong(one(e, "effective_timeout_micros")) : wireTimeout;
          assertThat(RequestHead.parse(f.callHeader(), (b, off, len) -> null).timeoutMicros())
              .as("timeout applied").isEqualTo(effective);
          assertThat(metadata(h.getMetadataList())).isEqualTo(e.getOrDefault("metadata", List.of()));
          long idle = e.containsKey("idle_timeout_micros") ? Long.parseUnsignedLong(one(e, "idle_timeout_micros")) : 0;
          assertThat(h.getIdleTimeoutMicros()).as("idle timeout").isEqualTo(idle);
          assertThat(RequestHead.parse(f.callHeader(), (b, off, len) -> null).idleTimeoutMicros()).isEqualTo(idle);
          assertThat(ByteBufUtil.hexDump(f.callHeader())).isEqualTo(ByteBufUtil.hexDump(h.toByteArray()));
          break;
        }
        case WINDOW_UPDATE:
          assertThat(f.windowIncrement()).isEqualTo(Long.parseLong(one(e, "increment")));
          break;
        case RESPONSE: {
          ResponseHeader h = Protobufs.parse(ResponseHeader.parser(), f.callHeader());
          assertThat(h.getStatus()).isEqualTo(Integer.parseInt(firstWord(one(e, "status"))));
          assertThat(h.getMessage()).isEqualTo(e.containsKey("message") ? one(e, "message") : "");
          assertThat(metadata(h.getMetadataList())).isEqualTo(e.getOrDefault("metadata", List.of()));
          assertThat(ByteBufUtil.hexDump(f.callHeader())).isEqualTo(ByteBufUtil.hexDump(h.toByteArray()));
          break;
        }
        case SETTINGS: {
          List<String> entries = new ArrayList<>();
          ByteBuf p = f.content();
          for (int at = p.readerIndex(); at < p.writerIndex(); at += 6) {
            entries.add(String.format("0x%04x=%d", p.getUnsignedShort(at), p.getUnsignedInt(at + 2)));
          }
          List<String> want = e.getOrDefault("setting", List.of()).stream()
              .map(s -> String.format("0x%04x=%d", Integer.decode(s.split("=")[0].trim()),
                  Long.parseLong(s.split("=")[1].trim())))
              .toList();
          assertThat(entries).isEqualTo(want);
          Settings.decode(p);
          break;
        }
        case GOAWAY:
          assertThat(f.goAwayLastRequestId()).isEqualTo(Integer.parseInt(one(e, "last_request_id")));
          checkErrorCode(f, one(e, "error_code"));
          assertThat(f.reason()).isEqualTo(e.containsKey("reason") ? one(e, "reason") : "");
          break;
        case ERROR:
          checkErrorCode(f, one(e, "error_code"));
          assertThat(f.reason()).isEqualTo(e.containsKey("reason") ? one(e, "reason") : "");
          break;
        default:
          break;
      }
    } catch (IOException ex) {
      throw new AssertionError("call header does not parse", ex);
    }
  }

  /** "99 INTERNAL_ERROR": the number as sent, then the code it is read as. */
  private static void checkErrorCode(Frame f, String expected) {
    String[] parts = expected.trim().split("\\s+");
    assertThat(f.rawErrorCode()).isEqualTo(Long.parseLong(parts[0]));
    if (parts.length > 1) {
      assertThat(f.errorCode().name()).isEqualTo(parts[1]);
    }
  }

  private static List<String> metadata(List<MetadataEntry> entries) {
    return entries.stream().map(m -> m.getKey() + "=" + m.getValue()).toList();
  }

  private static String one(Map<String, List<String>> e, String key) {
    List<String> values = e.get(key);
    assertThat(values).as("key %s", key).isNotNull().hasSize(1);
    return values.get(0);
  }

  private static String firstWord(String s) {
    return s.trim().split("\\s+")[0];
  }

  /**
   * Applies flow control (PROTOCOL.md 7.12.4) to the stream frames of a {@code stream_window} vector, as
   * a receiver whose calls are all streaming both ways, with nothing consumed: each stream's sender
   * starts with the window, and so does this side's credit that WINDOW_UPDATEs raise.
   */
  static final class FlowControlChecker extends ChannelInboundHandlerAdapter {
    private final int window;
    private final Map<Integer, long[]> credits = new java.util.HashMap<>(); // {peer's credit, own credit}

    FlowControlChecker(int window) {
      this.window = window;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Frame f = (Frame) msg;
      long[] c = credits.computeIfAbsent(f.requestId(), id -> new long[] {window, window});
      try {
        if (f.type() == FrameType.STREAM_MESSAGE) {
          c[0] = FlowControl.afterReceiving(c[0], FlowControl.cost(f), f.requestId());
        } else if (f.type() == FrameType.WINDOW_UPDATE) {
          c[1] = FlowControl.afterGrant(c[1], f.windowIncrement(), f.requestId());
        }
      } catch (ProtocolException e) {
        f.release();
        throw e;
      }
      ctx.fireChannelRead(f);
    }
  }

  /** Records what reaches the end of the pipeline. */
  static final class Capture extends ChannelInboundHandlerAdapter {
    final List<Frame> frames = new ArrayList<>();
    final List<Throwable> errors = new ArrayList<>();
    HandshakeCompleted handshake;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      frames.add((Frame) msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof HandshakeCompleted) {
        handshake = (HandshakeCompleted) evt;
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      errors.add(cause);
      ctx.fireExceptionCaught(cause);
    }
  }
}
