package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Settings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.stream.Stream;
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
 * read. If the rest of that read is a protocol error, the connection fails with the new call's
 * REQUEST written but not flushed; the ERROR the client then sends flushes it. Such a call must not
 * also be sent on another connection.
 */
class NoDoubleSendTest extends FakeServerTestBase {
  private static final CallOptions TEN_SECONDS = CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(10));

  static Stream<Arguments> protocolErrors() {
    return Stream.of(
        Arguments.of(Named.<Function<Channel, Object>>of("a second SETTINGS",
            ch -> Frame.settings(ch.alloc(), Settings.DEFAULTS))),
        Arguments.of(Named.<Function<Channel, Object>>of("a REQUEST from the server",
            ch -> new Frame(FrameType.REQUEST, 0, 99, 0, Unpooled.EMPTY_BUFFER))),
        Arguments.of(Named.<Function<Channel, Object>>of("an unknown frame type",
            ch -> rawHeader(ch, 0x7E, 0))),
        Arguments.of(Named.<Function<Channel, Object>>of("a malformed RESPONSE header for another call",
            ch -> malformedResponse(ch, 2))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("protocolErrors")
  void aCallStartedWhileAResponseIsReadIsSentOnceWhenTheReadEndsInAProtocolError(
      Function<Channel, Object> protocolError) throws Exception {
    server = FakeServer.start(Settings.builder().maxConcurrentCalls(2).build());
    // Requests on the first connection are answered by the test; later connections echo.
    server.autoRespond(r -> {
      if (r.channel() != server.connections.peek()) {
        r.respond(StringValue.of("echo:" + r.string()));
      }
    });
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> c1 = ch.call(ECHO, s("c1"), TEN_SECONDS);
    CompletableFuture<StringValue> c2 = ch.call(ECHO, s("c2"), TEN_SECONDS);
    List<FakeServer.FakeRequest> firstTwo = server.nextRequests(2);
    Channel first = firstTwo.get(0).channel();
    // c3 waits in the pool: the connection is at the server's limit of 2.
    CompletableFuture<StringValue> c3 = ch.call(ECHO, s("c3"), TEN_SECONDS);
    await().until(() -> ch.balancer().waitingCalls() == 1);

    // RESPONSE(1) and a protocol error in one flush, so the client reads them in one go.
    first.write(firstTwo.get(0).responseFrame(StringValue.of("echo:c1")));
    first.writeAndFlush(protocolError.apply(first));

    assertThat(value(c1).getValue()).isEqualTo("echo:c1");
    assertThat(value(c3).getValue()).as("c3 never left on the failed connection: sent again elsewhere")
        .isEqualTo("echo:c3");
    FerryException e2 = failure(c2);
    assertThat(e2.code()).isIn(StatusCode.UNAVAILABLE, StatusCode.INTERNAL);
    assertThat(e2.description()).as("c2 was sent: it may have run, so it is not sent again").contains("was sent");

    // Everything the client wrote on the first connection has been read once the server closed it.
    first.closeFuture().await();
    List<String> received = new java.util.ArrayList<>();
    firstTwo.forEach(r -> received.add(r.string()));
    server.requests.forEach(r -> received.add(r.string()));
    assertThat(received).as("each request reached the server exactly once").containsExactlyInAnyOrder("c1", "c2", "c3");
    assertThat(ch.activeCalls()).isZero();
  }

  private static ByteBuf rawHeader(Channel ch, int type, int requestId) {
    ByteBuf b = ch.alloc().buffer(Frame.HEADER_SIZE);
    b.writeInt(Frame.HEADER_SIZE).writeByte(type).writeByte(0).writeShort(0).writeInt(requestId).writeInt(0);
    return b;
  }

  /** A RESPONSE whose call header is not a valid protobuf message (a truncated varint field). */
  private static ByteBuf malformedResponse(Channel ch, int requestId) {
    ByteBuf b = ch.alloc().buffer(Frame.HEADER_SIZE + 2);
    b.writeInt(Frame.HEADER_SIZE + 2).writeByte(FrameType.RESPONSE.code()).writeByte(0).writeShort(0)
        .writeInt(requestId).writeInt(2);
    b.writeByte(0x08).writeByte(0x80); // field 1, varint, never finished
    return b;
  }
}
