package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import com.google.protobuf.StringValue;
import dev.ferry.internal.wire.MetadataEntry;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FrameCodecTest {
  private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

  /** A few frames of different types and sizes, encoded back to back. */
  private static ByteBuf sampleStream() {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(Frame.settings(ALLOC, Settings.builder().heartbeatIntervalMillis(30_000).build()));
    enc.writeOutbound(new CallFrame(FrameType.REQUEST, 1, CallHeader.of(RequestHeader.newBuilder()
        .setMethod("demo.Greeter/Hello").setTimeoutMicros(1_500_000)
        .addMetadata(MetadataEntry.newBuilder().setKey("user").setValue("zoë")).build()),
        StringValue.of("hello")));
    enc.writeOutbound(Frame.ping(ALLOC, 0x0102030405060708L));
    enc.writeOutbound(new CallFrame(FrameType.RESPONSE, 1, ResponseHead.OK, StringValue.of("")));
    enc.writeOutbound(Frame.goAway(ALLOC, 7, ErrorCode.NO_ERROR, "bye ✓"));
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf b; (b = enc.readOutbound()) != null; ) {
      all.writeBytes(b);
      b.release();
    }
    enc.finishAndReleaseAll();
    return all;
  }

  private static List<String> describe(List<Frame> frames) {
    List<String> out = new ArrayList<>();
    for (Frame f : frames) {
      out.add(f + ":" + ByteBufUtil.hexDump(f.content()));
      f.release();
    }
    return out;
  }

  private static List<Frame> readAll(EmbeddedChannel ch) {
    List<Frame> frames = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      frames.add((Frame) o);
    }
    return frames;
  }

  @Test
  void decodesTheSameFramesWhateverTheSplitPoint() {
    ByteBuf stream = sampleStream();
    try {
      EmbeddedChannel whole = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
      whole.writeInbound(stream.retainedDuplicate());
      List<String> expected = describe(readAll(whole));
      assertThat(expected).hasSize(5);
      assertThat(whole.finishAndReleaseAll()).isFalse();

      for (int split = 1; split < stream.readableBytes(); split++) {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
        ch.writeInbound(stream.retainedSlice(0, split));
        ch.writeInbound(stream.retainedSlice(split, stream.readableBytes() - split));
        assertThat(describe(readAll(ch))).as("split at %d", split).isEqualTo(expected);
        assertThat(ch.finishAndReleaseAll()).isFalse();
      }

      EmbeddedChannel byByte = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
      for (int i = 0; i < stream.readableBytes(); i++) {
        byByte.writeInbound(stream.retainedSlice(i, 1));
      }
      assertThat(describe(readAll(byByte))).as("one byte per read").isEqualTo(expected);
      assertThat(byByte.finishAndReleaseAll()).isFalse();
    } finally {
      stream.release();
    }
  }

  @Test
  void nothingComesOutUntilAFrameIsComplete() {
    ByteBuf stream = sampleStream();
    int firstLength = stream.getInt(0);
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
    ch.writeInbound(stream.readRetainedSlice(firstLength - 1));
    assertThat((Object) ch.readInbound()).isNull();
    ch.writeInbound(stream.readRetainedSlice(1));
    Frame f = ch.readInbound();
    assertThat(f.type()).isEqualTo(FrameType.SETTINGS);
    f.release();
    stream.release();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void oversizeFrameIsRejectedFromItsHeaderAlone() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(16 * 1024));
    ByteBuf header = Unpooled.buffer(16);
    FrameEncoder.writeHeader(header, 1 << 30, FrameType.REQUEST, 0, 1, 10);
    assertThatThrownBy(() -> ch.writeInbound(header))
        .isInstanceOfSatisfying(ProtocolException.class,
            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_TOO_LARGE))
        .hasMessageContaining("1073741824");
    // Whatever the peer sends afterwards is discarded, not buffered.
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[64 * 1024]));
    assertThat((Object) ch.readInbound()).isNull();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void frameOfExactlyTheLimitIsAccepted() {
    int limit = 16 * 1024;
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(limit));
    ByteBuf frame = Unpooled.buffer(limit);
    FrameEncoder.writeHeader(frame, limit, FrameType.REQUEST, 0, 1, 0);
    frame.writeZero(limit - Frame.HEADER_SIZE);
    ch.writeInbound(frame);
    Frame f = ch.readInbound();
    assertThat(f.frameLength()).isEqualTo(limit);
    f.release();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @ParameterizedTest(name = "pooled direct = {0}")
  @ValueSource(booleans = {true, false})
  void callFrameRoundTripsWithUnicodeAndLargeBodies(boolean direct) throws IOException {
    ByteBufAllocator alloc = direct ? PooledByteBufAllocator.DEFAULT : new UnpooledByteBufAllocator(false);
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.config().setAllocator(alloc);
    byte[] big = new byte[300_000];
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31);
    }
    ResponseHeader header = ResponseHeader.newBuilder().setStatus(5).setMessage("ключ не найден ✓")
        .addMetadata(MetadataEntry.newBuilder().setKey("k").setValue("v")).build();
    BytesValue body = BytesValue.of(ByteString.copyFrom(big));
    enc.writeOutbound(new CallFrame(FrameType.RESPONSE, 42, CallHeader.of(header), body));
    ByteBuf bytes = enc.readOutbound();
    assertThat(bytes.readableBytes())
        .isEqualTo(Frame.HEADER_SIZE + header.getSerializedSize() + body.getSerializedSize());
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
    dec.writeInbound(bytes);
    Frame f = dec.readInbound();
    try {
      assertThat(f.type()).isEqualTo(FrameType.RESPONSE);
      assertThat(f.requestId()).isEqualTo(42);
      assertThat(Protobufs.parse(ResponseHeader.parser(), f.callHeader())).isEqualTo(header);
      assertThat(Protobufs.parse(BytesValue.parser(), f.body())).isEqualTo(body);
    } finally {
      f.release();
    }
    assertThat(enc.finishAndReleaseAll()).isFalse();
    assertThat(dec.finishAndReleaseAll()).isFalse();
  }

  @Test
  void largeRawPayloadIsNotCopiedButGatheredBehindTheHeader() {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    ByteBuf payload = Unpooled.buffer(8192).writeZero(8192);
    enc.writeOutbound(new Frame(FrameType.REQUEST, 0, 3, 0, payload));
    ByteBuf out = enc.readOutbound();
    assertThat(out.readableBytes()).isEqualTo(Frame.HEADER_SIZE + 8192);
    assertThat(out.getInt(0)).isEqualTo(Frame.HEADER_SIZE + 8192);
    out.release();
    assertThat(payload.refCnt()).as("the payload was released with the written buffer").isZero();
    assertThat(enc.finishAndReleaseAll()).isFalse();
  }

  @Test
  void aMessageThatFailsToSerialiseFailsOnlyItsOwnWrite() {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    MessageLite broken = brokenMessage();
    ChannelFuture bad = enc.writeOneOutbound(
        new CallFrame(FrameType.REQUEST, 1, new RequestHead(new byte[] {'a'}, 0, dev.ferry.Metadata.EMPTY), broken));
    enc.flushOutbound();
    assertThat(bad.isDone()).isTrue();
    assertThat(bad.cause()).isInstanceOf(FrameEncoder.EncodeException.class).hasMessageContaining("broken on purpose");
    assertThat((Object) enc.readOutbound()).as("nothing of the bad frame was written").isNull();
    enc.writeOutbound(Frame.ping(ALLOC, 1));
    ByteBuf ping = enc.readOutbound();
    assertThat(ping.getByte(4)).isEqualTo((byte) FrameType.PING.code());
    ping.release();
    assertThat(enc.isOpen()).isTrue();
    assertThat(enc.finishAndReleaseAll()).isFalse();
  }

  @Test
  void truncatedFrameIsReportedWhenTheConnectionEnds() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
    ByteBuf partial = Unpooled.buffer();
    FrameEncoder.writeHeader(partial, 40, FrameType.REQUEST, 0, 1, 0);
    partial.writeZero(10);
    ch.writeInbound(partial);
    assertThat((Object) ch.readInbound()).isNull();
    assertThatThrownBy(ch::finish).isInstanceOf(ProtocolException.Truncated.class)
        .hasMessageContaining("26 bytes");
  }

  @Test
  void aResponseThatFailsToSerialiseIsAnsweredWithInternal() throws Exception {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(new CallFrame(FrameType.RESPONSE, 9, ResponseHead.OK, brokenMessage()));
    ByteBuf out = enc.readOutbound();
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
    dec.writeInbound(out);
    Frame f = dec.readInbound();
    try {
      assertThat(f.requestId()).isEqualTo(9);
      assertThat(ResponseHead.parse(f.callHeader()).status()).isEqualTo(dev.ferry.StatusCode.INTERNAL);
      assertThat(f.body().readableBytes()).isZero();
    } finally {
      f.release();
    }
    assertThat(enc.finishAndReleaseAll()).isFalse();
    assertThat(dec.finishAndReleaseAll()).isFalse();
  }

  /** A message whose serialisation throws half-way, as a buggy custom marshaller might (FrameBatchTest too). */
  static MessageLite brokenMessage() {
    return (MessageLite) Proxy.newProxyInstance(MessageLite.class.getClassLoader(),
        new Class<?>[] {MessageLite.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "getSerializedSize":
              return 5;
            case "writeTo":
              ((CodedOutputStream) args[0]).writeRawByte(1);
              throw new IOException("broken on purpose");
            default:
              throw new UnsupportedOperationException(method.getName());
          }
        });
  }
}
