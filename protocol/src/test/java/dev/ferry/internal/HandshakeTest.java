package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HandshakeTest {
  private final List<Object> events = new ArrayList<>();
  private final List<Throwable> errors = new ArrayList<>();
  private final List<Frame> frames = new ArrayList<>();

  private EmbeddedChannel channel(long timeoutMillis) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ProtocolPipeline.addCodec(ch.pipeline(), Settings.builder().heartbeatIntervalMillis(1000).build(), timeoutMillis);
    ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        frames.add((Frame) msg);
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        events.add(evt);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        errors.add(cause);
        ctx.fireExceptionCaught(cause);
      }
    });
    ProtocolPipeline.addErrorHandler(ch.pipeline());
    ch.pipeline().fireChannelActive();
    return ch;
  }

  private static ByteBuf outbound(EmbeddedChannel ch) {
    ByteBuf all = Unpooled.buffer();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      all.writeBytes(b);
      b.release();
    }
    return all;
  }

  private static ByteBuf prefaceAndSettings(Settings s) {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(Frame.settings(UnpooledByteBufAllocator.DEFAULT, s));
    ByteBuf settings = enc.readOutbound();
    enc.finishAndReleaseAll();
    ByteBuf all = Preface.encode(UnpooledByteBufAllocator.DEFAULT);
    all.writeBytes(settings);
    settings.release();
    return all;
  }

  @Test
  void sendsPrefaceAndSettingsAtOnceAndCompletesOnThePeersSettings() {
    EmbeddedChannel ch = channel(10_000);
    ByteBuf sent = outbound(ch);
    assertThat(sent.readInt()).isEqualTo(Preface.MAGIC);
    assertThat(sent.readUnsignedShort()).isEqualTo(Preface.VERSION);
    assertThat(sent.readUnsignedShort()).isZero();
    assertThat(sent.getByte(sent.readerIndex() + 4)).isEqualTo((byte) FrameType.SETTINGS.code());
    sent.release();

    // The peer's preface and SETTINGS, one byte at a time, then a PING in the same stream.
    ByteBuf peer = prefaceAndSettings(Settings.builder().maxConcurrentCalls(7).build());
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(Frame.ping(UnpooledByteBufAllocator.DEFAULT, 99));
    ByteBuf ping = enc.readOutbound();
    peer.writeBytes(ping);
    ping.release();
    enc.finishAndReleaseAll();
    while (peer.isReadable()) {
      ch.writeInbound(peer.readRetainedSlice(1));
    }
    peer.release();

    assertThat(errors).isEmpty();
    assertThat(events).singleElement().isInstanceOfSatisfying(HandshakeCompleted.class,
        e -> assertThat(e.remote().maxConcurrentCalls()).isEqualTo(7));
    assertThat(frames).singleElement().satisfies(f -> assertThat(f.pingData()).isEqualTo(99));
    assertThat(ch.pipeline().get(PrefaceDecoder.class)).as("removed after the preface").isNull();
    frames.forEach(Frame::release);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void maxMetadataSizeUnderTheFloorFailsTheHandshake() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    // SETTINGS with MAX_METADATA_SIZE = 64: no call header a server may have to send fits in that.
    ByteBuf peer = Preface.encode(UnpooledByteBufAllocator.DEFAULT)
        .writeInt(Frame.HEADER_SIZE + 6).writeByte(FrameType.SETTINGS.code()).writeByte(0).writeShort(0)
        .writeInt(0).writeInt(0)
        .writeShort(Settings.ID_MAX_METADATA_SIZE).writeInt(64);
    ch.writeInbound(peer);
    assertThat(events).isEmpty();
    assertThat(errors).singleElement().isInstanceOfSatisfying(ProtocolException.class, e -> {
      assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
      assertThat(e).hasMessageContaining("MAX_METADATA_SIZE 64");
    });
    assertThat(ch.isOpen()).isFalse();
    ByteBuf reply = outbound(ch);
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
    dec.writeInbound(reply);
    Frame error = dec.readInbound();
    assertThat(error.type()).isEqualTo(FrameType.ERROR);
    assertThat(error.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
    error.release();
    assertThat(dec.finishAndReleaseAll()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void httpRequestIsRecognisedAtTheFirstByteAndClosedWithoutReply() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    ch.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n", StandardCharsets.US_ASCII));
    assertThat(errors).singleElement(org.assertj.core.api.InstanceOfAssertFactories.THROWABLE)
        .isInstanceOf(ProtocolException.NotFerryPeer.class).hasMessageContaining("HTTP request");
    assertThat(ch.isOpen()).isFalse();
    ByteBuf after = outbound(ch);
    assertThat(after.readableBytes()).as("no reply to a non-Ferry peer").isZero();
    after.release();
  }

  @Test
  void tlsClientHelloIsNamedInTheReason() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01}));
    assertThat(errors).singleElement(org.assertj.core.api.InstanceOfAssertFactories.THROWABLE).hasMessageContaining("TLS");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void firstWrongByteIsEnoughEvenWhenTheRestHasNotArrived() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0xFE, 0x46}));
    assertThat(errors).isEmpty();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x00}));
    assertThat(errors).singleElement().isInstanceOf(ProtocolException.NotFerryPeer.class);
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void unsupportedVersionGetsAReadableErrorFrameThenClose() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    ch.writeInbound(Unpooled.buffer().writeInt(Preface.MAGIC).writeShort(2).writeShort(0));
    assertThat(ch.isOpen()).isFalse();
    ByteBuf reply = outbound(ch);
    EmbeddedChannel dec = new EmbeddedChannel(new FrameDecoder(Settings.DEFAULT_MAX_FRAME_SIZE));
    dec.writeInbound(reply);
    Frame error = dec.readInbound();
    assertThat(error.type()).isEqualTo(FrameType.ERROR);
    assertThat(error.errorCode()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
    assertThat(error.reason()).contains("version 2").contains("version 1");
    error.release();
    dec.finishAndReleaseAll();
  }

  @Test
  void silentPeerGetsHandshakeTimeout() {
    EmbeddedChannel ch = channel(5_000);
    outbound(ch).release();
    ch.advanceTimeBy(4_000, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isTrue();
    ch.advanceTimeBy(2_000, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(errors).singleElement().isInstanceOfSatisfying(ProtocolException.class,
        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_TIMEOUT));
    assertThat(ch.isOpen()).isFalse();
    outbound(ch).release();
  }

  @Test
  void secondSettingsIsAProtocolError() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    ch.writeInbound(prefaceAndSettings(Settings.DEFAULTS));
    ByteBuf again = prefaceAndSettings(Settings.DEFAULTS).skipBytes(Preface.SIZE);
    ch.writeInbound(again);
    assertThat(errors).singleElement(org.assertj.core.api.InstanceOfAssertFactories.THROWABLE).hasMessageContaining("second SETTINGS");
    assertThat(ch.isOpen()).isFalse();
    outbound(ch).release();
  }

  @Test
  void errorInPlaceOfSettingsIsReportedWithItsReasonAndNotAnswered() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    ByteBuf in = Preface.encode(UnpooledByteBufAllocator.DEFAULT);
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(Frame.error(UnpooledByteBufAllocator.DEFAULT, ErrorCode.REFUSED, "too many connections"));
    ByteBuf error = enc.readOutbound();
    in.writeBytes(error);
    error.release();
    enc.finishAndReleaseAll();
    ch.writeInbound(in);
    assertThat(errors).singleElement(org.assertj.core.api.InstanceOfAssertFactories.THROWABLE)
        .isInstanceOf(ProtocolException.PeerError.class)
        .hasMessageContaining("REFUSED").hasMessageContaining("too many connections");
    assertThat(ch.isOpen()).isFalse();
    ByteBuf reply = outbound(ch);
    assertThat(reply.readableBytes()).as("no ERROR sent back").isZero();
    reply.release();
  }

  @Test
  void httpResponseIsNamed() {
    EmbeddedChannel ch = channel(10_000);
    outbound(ch).release();
    ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 400 Bad Request\r\n", StandardCharsets.US_ASCII));
    assertThat(errors).singleElement(org.assertj.core.api.InstanceOfAssertFactories.THROWABLE)
        .hasMessageContaining("HTTP response");
  }
}
