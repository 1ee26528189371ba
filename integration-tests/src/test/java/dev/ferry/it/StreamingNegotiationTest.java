package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import dev.ferry.StatusCode;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Settings;
import dev.ferry.internal.wire.ResponseHeader;
import dev.ferry.server.FerryServer;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The server's side of negotiation and credit, played against by a hand-driven client over loopback:
 * a client that announced no STREAM_INITIAL_WINDOW never gets a stream (UNIMPLEMENTED) and may send no
 * stream frame; a streaming client that sends past its credit loses the connection with
 * FLOW_CONTROL_ERROR.
 */
class StreamingNegotiationTest {
  private static final int WINDOW = 1000;
  private StreamService service;
  private FerryServer server;

  @BeforeEach
  void start() throws Exception {
    service = new StreamService();
    server = FerryServer.builder().host("127.0.0.1").port(0).streamWindow(WINDOW).addService(service.definition())
        .build().start();
  }

  @AfterEach
  void stop() throws Exception {
    service.release.countDown();
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  private RawPeer peer(boolean streaming) throws IOException {
    return new RawPeer(server.port())
        .handshake(streaming ? Settings.builder().streamInitialWindow(WINDOW).build() : Settings.DEFAULTS);
  }

  private static CallFrame request(int id, String method, int flags, com.google.protobuf.MessageLite body) {
    return RawPeer.request(id, method, flags, body);
  }

  private static ResponseHeader response(RawPeer peer, int id) throws IOException {
    return peer.response(id);
  }

  private static Frame error(RawPeer peer) throws IOException {
    List<Frame> frames = peer.untilClosed();
    try {
      Frame last = frames.get(frames.size() - 1);
      assertThat(last.type()).isEqualTo(FrameType.ERROR);
      return last.retain();
    } finally {
      frames.forEach(Frame::release);
    }
  }

  @Test
  void aClientWithoutStreamingGetsUnimplementedForAStreamingMethodHoweverItCallsIt() throws Exception {
    try (RawPeer peer = peer(false)) {
      String count = StreamService.COUNT.fullName();
      peer.send(request(1, count, Frame.FLAG_SERVER_STREAM, Int32Value.of(3)));
      ResponseHeader flagged = response(peer, 1);
      assertThat(flagged.getStatus()).isEqualTo(StatusCode.UNIMPLEMENTED.value());
      assertThat(flagged.getMessage()).contains("does not support streaming");
      peer.send(request(3, count, 0, Int32Value.of(3)));
      assertThat(response(peer, 3).getStatus()).isEqualTo(StatusCode.UNIMPLEMENTED.value());
      assertThat(service.contexts).isEmpty();
    }
  }

  @Test
  void aStreamingMethodCalledAsAnotherKindIsUnimplemented() throws Exception {
    try (RawPeer peer = peer(true)) {
      peer.send(request(1, StreamService.COUNT.fullName(), Frame.FLAG_CLIENT_STREAM, Int32Value.of(3)));
      ResponseHeader h = response(peer, 1);
      assertThat(h.getStatus()).isEqualTo(StatusCode.UNIMPLEMENTED.value());
      assertThat(h.getMessage()).contains("server-streaming").contains("client-streaming");
    }
  }

  @Test
  void aStreamFrameFromAClientWithoutStreamingIsAProtocolError() throws Exception {
    try (RawPeer peer = peer(false)) {
      peer.send(request(1, StreamService.COUNT.fullName(), 0, Int32Value.of(3)));
      response(peer, 1);
      peer.send(Frame.windowUpdate(UnpooledByteBufAllocator.DEFAULT, 1, 100));
      Frame error = error(peer);
      try {
        assertThat(error.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(error.reason()).contains("did not negotiate streaming");
      } finally {
        error.release();
      }
    }
  }

  @Test
  void aClientSendingPastItsCreditLosesTheConnectionWithFlowControlError() throws Exception {
    try (RawPeer peer = peer(true)) {
      // SlowSink reads nothing: no credit comes back.
      peer.send(request(1, StreamService.SLOW_SINK.fullName(), Frame.FLAG_CLIENT_STREAM,
          BytesValue.getDefaultInstance()));
      BytesValue m = BytesValue.of(ByteString.copyFrom(new byte[400])); // 16 + 403 = 419 bytes
      for (int i = 0; i < 3; i++) { // 1000 -> 581 -> 162 -> -257: all within the rules
        peer.send(new Frame(FrameType.STREAM_MESSAGE, 0, 1, 0, Unpooled.wrappedBuffer(m.toByteArray())));
      }
      peer.send(new Frame(FrameType.STREAM_MESSAGE, 0, 1, 0, Unpooled.wrappedBuffer(m.toByteArray())));
      Frame error = error(peer);
      try {
        assertThat(error.errorCode()).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR);
        assertThat(error.reason()).contains("no credit left");
      } finally {
        error.release();
      }
    }
  }
}
