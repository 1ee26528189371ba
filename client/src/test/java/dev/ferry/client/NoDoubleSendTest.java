package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.CallHeader;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Settings;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A call is sent again only when it provably never reached the server (its write failed or never
 * happened) or the server said it did not process it: never because the connection failed while its
 * request sat written but not yet flushed.
 *
 * <p>The race: a RESPONSE completes a call, which frees a slot under the server's
 * MAX_CONCURRENT_CALLS, so a waiting call starts on the same connection while the response is being
 * read. If the rest of that read is a protocol error, the connection fails; the ERROR the client then
 * sends would flush a REQUEST written meanwhile. Such a call must not also be sent on another
 * connection. Here the test plays the server and puts the RESPONSE and the error in one read.
 */
class NoDoubleSendTest {
  private final EmbeddedServer server = new EmbeddedServer(Settings.builder().maxConcurrentCalls(2).build());

  @AfterEach
  void tearDown() {
    server.close();
  }

  static Stream<Arguments> protocolErrors() {
    return Stream.of(
        Arguments.of(Named.<Supplier<Object>>of("a second SETTINGS",
            () -> Frame.settings(Unpooled.buffer().alloc(), Settings.DEFAULTS))),
        Arguments.of(Named.<Supplier<Object>>of("a REQUEST from the server",
            () -> new Frame(FrameType.REQUEST, 0, 99, 0, Unpooled.EMPTY_BUFFER))),
        Arguments.of(Named.<Supplier<Object>>of("an unknown frame type", () -> rawHeader(0x7E, 0))),
        Arguments.of(Named.<Supplier<Object>>of("a malformed RESPONSE header for another call",
            () -> malformedResponse(2))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("protocolErrors")
  void aCallStartedWhileAResponseIsReadIsSentOnceWhenTheReadEndsInAProtocolError(Supplier<Object> protocolError) {
    FerryChannel ch = server.channel(server.client());
    CompletableFuture<StringValue> c1 = ch.call(ECHO, s("c1"));
    CompletableFuture<StringValue> c2 = ch.call(ECHO, s("c2"));
    server.runTasks();
    EmbeddedServer.Connection first = server.connection();
    assertThat(first.received(FrameType.REQUEST)).hasSize(2);
    // c3 waits in the pool: the connection is at the server's limit of 2.
    CompletableFuture<StringValue> c3 = ch.call(ECHO, s("c3"));
    server.runTasks();
    assertThat(ch.balancer().waitingCalls()).isEqualTo(1);

    // RESPONSE(1) and a protocol error in one read of the client's.
    first.sendTogether(new CallFrame(FrameType.RESPONSE, 1, CallHeader.of(ResponseHeader.getDefaultInstance()),
        s("echo:c1")), protocolError.get());

    assertThat(c1).isCompletedWithValue(s("echo:c1"));
    FerryException e2 = failure(c2);
    assertThat(e2.code()).isIn(StatusCode.UNAVAILABLE, StatusCode.INTERNAL);
    assertThat(e2.description()).as("c2 was sent: it may have run, so it is not sent again").contains("was sent");
    assertThat(first.ch.isOpen()).isFalse();
    assertThat(server.connections).as("c3 went to a new connection").hasSize(2);
    EmbeddedServer.Connection second = server.connection();
    List<EmbeddedServer.Received> resent = second.received(FrameType.REQUEST);
    assertThat(resent).hasSize(1);
    second.respond(resent.get(0).requestId(), s("echo:c3"));
    assertThat(c3).as("c3 never left on the failed connection: sent again elsewhere").isCompletedWithValue(s("echo:c3"));

    List<String> received = new ArrayList<>();
    for (EmbeddedServer.Connection c : server.connections) {
      for (EmbeddedServer.Received r : c.received(FrameType.REQUEST)) {
        received.add(stringOf(r.body()));
      }
    }
    assertThat(received).as("each request reached the server exactly once").containsExactlyInAnyOrder("c1", "c2", "c3");
    assertThat(ch.activeCalls()).isZero();
  }

  private static String stringOf(byte[] body) {
    try {
      return StringValue.parseFrom(body).getValue();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static ByteBuf rawHeader(int type, int requestId) {
    ByteBuf b = Unpooled.buffer(Frame.HEADER_SIZE);
    b.writeInt(Frame.HEADER_SIZE).writeByte(type).writeByte(0).writeShort(0).writeInt(requestId).writeInt(0);
    return b;
  }

  /** A RESPONSE whose call header is not a valid protobuf message (a truncated varint field). */
  private static ByteBuf malformedResponse(int requestId) {
    ByteBuf b = Unpooled.buffer(Frame.HEADER_SIZE + 2);
    b.writeInt(Frame.HEADER_SIZE + 2).writeByte(FrameType.RESPONSE.code()).writeByte(0).writeShort(0)
        .writeInt(requestId).writeInt(2);
    b.writeByte(0x08).writeByte(0x80); // field 1, varint, never finished
    return b;
  }
}
