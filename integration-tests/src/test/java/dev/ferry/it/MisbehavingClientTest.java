package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.BytesValue;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.wire.ResponseHeader;
import dev.ferry.server.FerryServer;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Clients that break the rules lose their own connection, and only that; good clients carry on. */
class MisbehavingClientTest {
  private final TestService service = new TestService();
  private FerryServer server;
  private FerryChannel healthy;

  @BeforeEach
  void start() throws Exception {
    server = FerryServer.builder().host("127.0.0.1").addService(service.definition()).build().start();
    healthy = FerryChannel.builder("127.0.0.1", server.port()).build();
    healthyCall();
  }

  @AfterEach
  void stop() throws Exception {
    healthyCall();
    healthy.close();
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  private void healthyCall() {
    assertThat(healthy.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(),
        CallOptions.builder().timeout(Duration.ofSeconds(10)).build())).isNotNull();
  }

  private static Frame request(int id, String method, byte[] body) {
    return RawPeer.request(id, method, body);
  }

  @Test
  void undecodableRequestBodyIsInvalidArgument() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      peer.send(request(1, TestService.ECHO.fullName(), new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF}));
      Frame response = peer.next();
      try {
        assertThat(response.type()).isEqualTo(FrameType.RESPONSE);
        assertThat(response.requestId()).isEqualTo(1);
        ResponseHeader h = Protobufs.parse(ResponseHeader.parser(), response.callHeader());
        assertThat(h.getStatus()).isEqualTo(StatusCode.INVALID_ARGUMENT.value());
        assertThat(h.getMessage()).contains("Echo");
      } finally {
        response.release();
      }
    }
  }

  @Test
  void reusedRequestIdClosesThatConnectionWithAProtocolError() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      peer.send(request(5, TestService.HANG.fullName(), new byte[0]));
      peer.send(request(5, TestService.HANG.fullName(), new byte[0]));
      List<Frame> frames = peer.untilClosed();
      try {
        assertThat(frames).last().satisfies(f -> {
          assertThat(f.type()).isEqualTo(FrameType.ERROR);
          assertThat(f.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
          assertThat(f.reason()).contains("5");
        });
      } finally {
        frames.forEach(Frame::release);
      }
    }
  }

  @Test
  void httpRequestIsClosedWithoutAReply() throws Exception {
    try (RawPeer peer = new RawPeer(server.port())) {
      peer.writeBytes(Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n", StandardCharsets.US_ASCII));
      List<Frame> frames = peer.untilClosed();
      assertThat(frames).isEmpty();
    }
  }

  @Test
  void responseFrameFromAClientIsAProtocolError() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      peer.send(new Frame(FrameType.RESPONSE, 0, 1, 0, Unpooled.EMPTY_BUFFER));
      List<Frame> frames = peer.untilClosed();
      try {
        assertThat(frames).singleElement().satisfies(f -> {
          assertThat(f.type()).isEqualTo(FrameType.ERROR);
          assertThat(f.reason()).contains("RESPONSE");
        });
      } finally {
        frames.forEach(Frame::release);
      }
    }
  }

  @Test
  void clientPingingFarTooOftenGetsGoAwayWithAReadableReason() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      // The server announces a 5 s minimum (its default); this peer pings every few milliseconds.
      List<Frame> frames = new java.util.ArrayList<>();
      for (int i = 0; i < 5; i++) {
        peer.send(Frame.ping(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, i));
      }
      for (Frame f; (f = peer.next()) != null; ) {
        frames.add(f);
        if (f.type() == FrameType.GOAWAY) {
          break;
        }
      }
      try {
        assertThat(frames).last().satisfies(f -> {
          assertThat(f.type()).isEqualTo(FrameType.GOAWAY);
          assertThat(f.errorCode()).isEqualTo(ErrorCode.TOO_MANY_PINGS);
          assertThat(f.reason()).contains("too many pings").contains("5000 ms");
        });
      } finally {
        frames.forEach(Frame::release);
      }
      List<Frame> rest = peer.untilClosed();
      rest.forEach(Frame::release);
    }
  }

  @Test
  void silentClientIsClosedByTheServersHeartbeat() throws Exception {
    FerryServer strict = FerryServer.builder().host("127.0.0.1").addService(new TestService().definition())
        .heartbeatInterval(Duration.ofMillis(100)).heartbeatTimeout(Duration.ofMillis(300)).build().start();
    // Before connecting: the server's heartbeat timer cannot start earlier, so no clock slack is needed.
    long start = System.nanoTime();
    try (RawPeer peer = new RawPeer(strict.port()).handshake()) {
      // The peer never answers the server's PINGs: a client that crashed or vanished behind a NAT.
      List<Frame> frames = peer.untilClosed();
      long tookMillis = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      try {
        assertThat(frames).isNotEmpty().allSatisfy(f -> assertThat(f.type()).isEqualTo(FrameType.PING));
        // Not before the timeout; how much later depends on the machine, so no upper bound.
        assertThat(tookMillis).isGreaterThanOrEqualTo(300L);
      } finally {
        frames.forEach(Frame::release);
      }
    } finally {
      strict.shutdownNow();
      assertThat(strict.awaitTermination(Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void framesAfterAProtocolErrorInTheSameReadAreNotActedOn() throws Exception {
    // Handlers run inline on the event loop here, so "dispatched" and "handler ran" are the same moment.
    TestService inline = new TestService();
    FerryServer direct = FerryServer.builder().host("127.0.0.1").addService(inline.definition())
        .directExecutor().build().start();
    try (RawPeer peer = new RawPeer(direct.port()).handshake()) {
      // One write: a good request, a request reusing a lower id (a protocol error), another good one.
      io.netty.buffer.ByteBuf all = io.netty.buffer.Unpooled.buffer();
      io.netty.channel.embedded.EmbeddedChannel enc =
          new io.netty.channel.embedded.EmbeddedChannel(new dev.ferry.internal.FrameEncoder());
      enc.writeOutbound(request(2, TestService.HANG.fullName(), com.google.protobuf.StringValue.of("2").toByteArray()),
          request(1, TestService.HANG.fullName(), com.google.protobuf.StringValue.of("1").toByteArray()),
          request(3, TestService.HANG.fullName(), com.google.protobuf.StringValue.of("3").toByteArray()));
      for (io.netty.buffer.ByteBuf b; (b = enc.readOutbound()) != null; ) {
        all.writeBytes(b);
        b.release();
      }
      enc.finishAndReleaseAll();
      peer.writeBytes(all);
      List<Frame> frames = peer.untilClosed();
      try {
        assertThat(frames).last().satisfies(f -> assertThat(f.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR));
      } finally {
        frames.forEach(Frame::release);
      }
      // Request 2 was handled; request 1 was the error; request 3, read after it, never reached a handler.
      assertThat(inline.hangingRequests).containsExactly("2");
    } finally {
      direct.shutdownNow();
      assertThat(direct.awaitTermination(Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void statusTooLargeForTheClientBecomesResourceExhaustedAndTheConnectionSurvives() throws Exception {
    java.util.concurrent.CompletableFuture<com.google.protobuf.StringValue> bystander = healthy.call(
        TestService.HANG, com.google.protobuf.StringValue.of("x"),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    assertThat(service.hanging.poll(10, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
    String huge = "x".repeat(70_000); // over the client's 64 KiB call-header limit
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> healthy.blockingCall(TestService.FAIL,
            com.google.protobuf.StringValue.of(huge), CallOptions.builder().timeout(Duration.ofSeconds(10)).build()))
        .isInstanceOfSatisfying(dev.ferry.FerryException.class, e -> {
          assertThat(e.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED);
          assertThat(e.description()).contains("maximum metadata size");
        });
    assertThat(bystander).as("the other call on the connection is unaffected").isNotDone();
    bystander.cancel(true);
  }
}
