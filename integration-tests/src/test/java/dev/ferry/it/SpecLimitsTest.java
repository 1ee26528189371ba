package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.StatusCode;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Preface;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.RequestHead;
import dev.ferry.internal.Settings;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The server keeps to the limits PROTOCOL.md sets on what it sends and reads: every call header it
 * sends fits the smallest MAX_METADATA_SIZE a client may announce, a smaller one fails the handshake,
 * and timeout_micros is read within its maximum. Driven by a raw client, as one written from the
 * specification alone would be.
 */
class SpecLimitsTest {
  private final TestService service = new TestService();
  private FerryServer server;

  @BeforeEach
  void start() throws Exception {
    server = FerryServer.builder().host("127.0.0.1").addService(service.definition()).build().start();
  }

  @AfterEach
  void stop() throws Exception {
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  /** A client's preface and a SETTINGS frame with only MAX_METADATA_SIZE, any value (the builder refuses small ones). */
  private static RawPeer connect(int port, long maxMetadataSize) throws Exception {
    RawPeer peer = new RawPeer(port);
    ByteBuf b = Preface.encode(UnpooledByteBufAllocator.DEFAULT);
    b.writeInt(Frame.HEADER_SIZE + 6).writeByte(FrameType.SETTINGS.code()).writeByte(0).writeShort(0)
        .writeInt(0).writeInt(0)
        .writeShort(Settings.ID_MAX_METADATA_SIZE).writeInt((int) maxMetadataSize);
    peer.writeBytes(b);
    return peer;
  }

  private static Frame request(int id, RequestHeader header, byte[] body) {
    byte[] h = header.toByteArray();
    return new Frame(FrameType.REQUEST, 0, id, h.length, Unpooled.buffer().writeBytes(h).writeBytes(body));
  }

  /** The next frame, a RESPONSE to {@code id}; its meta length must fit {@code limit}. */
  private static ResponseHeader response(RawPeer peer, int id, int limit) throws Exception {
    Frame f = peer.next();
    assertThat(f).as("a RESPONSE, the connection open").isNotNull();
    try {
      assertThat(f.type()).isEqualTo(FrameType.RESPONSE);
      assertThat(f.requestId()).isEqualTo(id);
      assertThat(f.metaLength()).as("response header size").isLessThanOrEqualTo(limit);
      return Protobufs.parse(ResponseHeader.parser(), f.callHeader());
    } finally {
      f.release();
    }
  }

  @Test
  void maxMetadataSizeUnderTheFloorIsRefusedWithAProtocolError() throws Exception {
    for (long announced : new long[] {0, 16, 64, 1023}) {
      try (RawPeer peer = connect(server.port(), announced)) {
        List<Frame> frames = peer.untilClosed();
        try {
          assertThat(frames).as("announcing %d", announced).singleElement().satisfies(f -> {
            assertThat(f.type()).isEqualTo(FrameType.ERROR);
            assertThat(f.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(f.reason()).contains("MAX_METADATA_SIZE " + announced);
          });
        } finally {
          frames.forEach(Frame::release);
        }
      }
    }
  }

  @Test
  void theReplacementForAResponseHeaderTooLargeFitsTheSmallestLimit() throws Exception {
    int limit = Settings.MIN_MAX_METADATA_SIZE;
    try (RawPeer peer = connect(server.port(), limit)) {
      // A status message of 3,000 bytes: over the client's limit, so the server sends RESOURCE_EXHAUSTED.
      RequestHeader fail = RequestHeader.newBuilder().setMethod(TestService.FAIL.fullName()).build();
      peer.send(request(1, fail, StringValue.of("é".repeat(1_500)).toByteArray()));
      ResponseHeader h = response(peer, 1, limit);
      assertThat(h.getStatus()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED.value());
      assertThat(h.getMessage()).contains("exceeds the client's maximum metadata size of 1024 bytes");
      assertThat(h.getMetadataList()).isEmpty();

      // An unknown service with a 3,000-byte name, which the refusal quotes: still UNIMPLEMENTED, its
      // message cut to fit.
      RequestHeader unknown = RequestHeader.newBuilder().setMethod("x." + "ж".repeat(1_500) + "/Y").build();
      peer.send(request(2, unknown, new byte[0]));
      ResponseHeader u = response(peer, 2, limit);
      assertThat(u.getStatus()).isEqualTo(StatusCode.UNIMPLEMENTED.value());
      assertThat(u.getMessage()).startsWith("unknown service x.жжж");

      // The connection carries on.
      RequestHeader echo = RequestHeader.newBuilder().setMethod(TestService.METADATA.fullName()).build();
      peer.send(request(3, echo, StringValue.of("ok").toByteArray()));
      assertThat(response(peer, 3, limit).getStatus()).isZero();
    }
  }

  @Test
  void aTimeoutAboveTheMaximumIsReadAsTheMaximum() throws Exception {
    long max = RequestHead.MAX_TIMEOUT_MICROS;
    // 2^63 - 1 would overflow a nanosecond deadline; 2^64 - 1 (-1 as a Java long) is negative when signed.
    long[] wire = {max, max + 1, Long.MAX_VALUE, -1L};
    try (RawPeer peer = connect(server.port(), Settings.DEFAULT_MAX_METADATA_SIZE)) {
      for (int i = 0; i < wire.length; i++) {
        RequestHeader h = RequestHeader.newBuilder().setMethod(TestService.HANG.fullName())
            .setTimeoutMicros(wire[i]).build();
        peer.send(request(i + 1, h, StringValue.of("t" + i).toByteArray()));
        CallContext ctx = service.hanging.poll(10, TimeUnit.SECONDS);
        assertThat(ctx).as("call %d reached its handler", i + 1).isNotNull();
        assertThat(ctx.isCancelled()).as("not expired at once").isFalse();
        assertThat(ctx.timeRemaining()).as("a deadline for %s", Long.toUnsignedString(wire[i]))
            .hasValueSatisfying(left -> assertThat(left)
                .isPositive()
                .isLessThanOrEqualTo(Duration.ofNanos(TimeUnit.MICROSECONDS.toNanos(max))));
      }
    }
  }
}
