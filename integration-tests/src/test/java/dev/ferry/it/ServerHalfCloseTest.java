package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerInternals;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PROTOCOL.md 15.1: once the server has sent GOAWAY and half-closed (FIN), it keeps reading until the
 * client closes, and discards what arrives: it acts on no frame, not even a malformed one.
 */
class ServerHalfCloseTest {
  private final TestService service = new TestService();
  private LogCapture logs;
  private FerryServer server;

  @BeforeEach
  void start() throws Exception {
    logs = new LogCapture();
    server = FerryServer.builder().host("127.0.0.1").addService(service.definition())
        .maxConnectionIdle(Duration.ofMillis(300)) // GOAWAY and FIN for a connection that makes no call
        .build().start();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      server.shutdownNow();
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    } finally {
      logs.close();
    }
  }

  @Test
  void framesArrivingAfterTheServersFinAreDiscarded() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      Frame goAway = peer.next();
      try {
        assertThat(goAway.type()).isEqualTo(FrameType.GOAWAY);
        assertThat(goAway.goAwayLastRequestId()).isZero();
      } finally {
        goAway.release();
      }
      assertThat(peer.next()).as("the server's FIN").isNull();

      // After the FIN: a REQUEST, a PING, and a frame of a type that does not exist.
      byte[] header = RequestHeader.newBuilder().setMethod(TestService.HANG.fullName()).build().toByteArray();
      peer.send(new Frame(FrameType.REQUEST, 0, 1, header.length,
          Unpooled.buffer().writeBytes(header).writeBytes(StringValue.of("after the FIN").toByteArray())));
      peer.send(Frame.ping(UnpooledByteBufAllocator.DEFAULT, 7));
      peer.writeBytes(Unpooled.buffer().writeInt(16).writeByte(0x09).writeByte(0).writeShort(0).writeInt(0).writeInt(0));
      // Our FIN: the server, having read everything before it, closes the connection.
      peer.shutdownOutput();
      await().atMost(Duration.ofSeconds(10)).until(() -> ServerInternals.openConnections(server) == 0);

      assertThat(service.hangingRequests).as("no handler ran for the REQUEST").isEmpty();
      assertThat(logs.find("WARN", ":" + peer.localPort())).as("nothing was treated as a violation").isNull();
      assertThat(logs.find("WARN", String.valueOf(ErrorCode.PROTOCOL_ERROR))).isNull();
    }
  }
}
