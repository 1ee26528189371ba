package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Settings;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The client's side of streaming calls against a scripted server on a fake clock: negotiation, byte
 * credit both ways, and the stream's deadline and idle timeout, to the millisecond.
 */
class ClientStreamTest {
  static final MethodDescriptor<BytesValue, BytesValue> DOWNLOAD = MethodDescriptor.of("test.Files/Download",
      MethodDescriptor.Type.SERVER_STREAMING, BytesValue.parser(), BytesValue.parser());
  static final MethodDescriptor<BytesValue, BytesValue> UPLOAD = MethodDescriptor.of("test.Files/Upload",
      MethodDescriptor.Type.CLIENT_STREAMING, BytesValue.parser(), BytesValue.parser());

  private EmbeddedServer server;

  @AfterEach
  void tearDown() {
    if (server != null) {
      server.close();
    }
  }

  private static BytesValue bytes(int size) {
    return BytesValue.of(ByteString.copyFrom(new byte[size]));
  }

  /** A STREAM_MESSAGE from the server carrying {@code message}. */
  private static Frame message(int id, BytesValue message) {
    return new Frame(FrameType.STREAM_MESSAGE, 0, id, 0, Unpooled.wrappedBuffer(message.toByteArray()));
  }

  private static Frame windowUpdate(int id, int bytes) {
    return Frame.windowUpdate(Unpooled.buffer().alloc(), id, bytes);
  }

  private FerryChannel channel(Settings serverSettings, int clientWindow) {
    server = new EmbeddedServer(serverSettings);
    return server.channel(server.client().streamWindow(clientWindow));
  }

  private static Settings streaming(int window) {
    return Settings.builder().streamInitialWindow(window).build();
  }

  @Test
  void aStreamingCallToAServerThatDoesNotAnnounceStreamingFailsLocallyWithUnimplemented() {
    FerryChannel ch = channel(Settings.DEFAULTS, 1000);
    ch.call(ClientTests.ECHO, ClientTests.s("connect")); // the first call opens the connection
    server.runTasks();
    StreamReader<BytesValue> reader = ch.serverStream(DOWNLOAD, bytes(1), CallOptions.DEFAULT);
    ClientStreamingCall<BytesValue, BytesValue> upload = ch.clientStream(UPLOAD, CallOptions.DEFAULT);
    server.runTasks();
    assertThatThrownBy(reader::hasNext).isInstanceOfSatisfying(FerryException.class, e -> {
      assertThat(e.code()).isEqualTo(StatusCode.UNIMPLEMENTED);
      assertThat(e.description()).contains("STREAM_INITIAL_WINDOW");
    });
    assertThat(ClientTests.failure(upload.response()).code()).isEqualTo(StatusCode.UNIMPLEMENTED);
    assertThat(server.connection().received(FrameType.REQUEST)).as("only the unary call was sent").hasSize(1);
    assertThat(server.connection().received(FrameType.STREAM_MESSAGE)).isEmpty();
  }

  @Test
  void requestMessagesGoOnlyAsFarAsTheServersCreditThenWaitForAWindowUpdate() throws Exception {
    FerryChannel ch = channel(streaming(1000), 1000);
    ClientStreamingCall<BytesValue, BytesValue> upload = ch.clientStream(UPLOAD, CallOptions.DEFAULT);
    server.runTasks();
    int id = server.connection().received(FrameType.REQUEST).get(0).requestId();
    int sent = 0;
    while (upload.trySend(bytes(300))) { // each costs 16 + 303 = 319 bytes
      sent++;
    }
    server.runTasks();
    assertThat(sent).as("1000 bytes of credit: the fourth message goes on the last 43").isEqualTo(4);
    assertThat(server.connection().received(FrameType.STREAM_MESSAGE)).hasSize(4);
    assertThat(upload.isWritable()).isFalse();

    boolean[] writable = new boolean[1];
    upload.onWritable(() -> writable[0] = true);
    server.connection().send(windowUpdate(id, 276)); // credit back to exactly 0
    assertThat(writable[0]).isFalse();
    server.connection().send(windowUpdate(id, 638));
    assertThat(writable[0]).isTrue();
    assertThat(upload.trySend(bytes(300))).isTrue();
    assertThat(upload.trySend(bytes(300))).isTrue();
    assertThat(upload.trySend(bytes(300))).isFalse();
    upload.complete();
    server.runTasks();
    assertThat(server.connection().received(FrameType.STREAM_MESSAGE)).as("6 messages and the end").hasSize(7);

    server.connection().respond(id, bytes(6));
    assertThat(ClientTests.value(upload.response()).getValue().size()).isEqualTo(6);
  }

  @Test
  void creditIsGivenBackAsTheApplicationReadsNotAsMessagesArrive() {
    FerryChannel ch = channel(streaming(1000), 1000);
    StreamReader<BytesValue> reader = ch.serverStream(DOWNLOAD, bytes(1), CallOptions.DEFAULT);
    server.runTasks();
    int id = server.connection().received(FrameType.REQUEST).get(0).requestId();
    for (int i = 0; i < 8; i++) { // 8 x 118 = 944 bytes, within the window
      server.connection().send(message(id, bytes(100)));
    }
    assertThat(server.connection().received(FrameType.WINDOW_UPDATE)).as("nothing read yet").isEmpty();
    for (int i = 0; i < 4; i++) {
      reader.next();
    }
    server.runTasks();
    assertThat(server.connection().received(FrameType.WINDOW_UPDATE)).as("472 bytes read: under half").isEmpty();
    reader.next();
    server.runTasks();
    assertThat(server.connection().received(FrameType.WINDOW_UPDATE)).hasSize(1);

    server.connection().respond(id, BytesValue.getDefaultInstance());
    int rest = 0;
    while (reader.hasNext()) {
      reader.next();
      rest++;
    }
    assertThat(rest).as("what arrived before the status is still read").isEqualTo(3);
    // A message that crossed the end on the wire is dropped, not an error.
    server.connection().send(message(id, bytes(1)));
    assertThat(server.connection().ch.isOpen()).isTrue();
  }

  @Test
  void aServerSendingPastItsCreditIsAFlowControlErrorThatClosesTheConnection() {
    FerryChannel ch = channel(streaming(1000), 200);
    StreamReader<BytesValue> reader = ch.serverStream(DOWNLOAD, bytes(1), CallOptions.DEFAULT);
    server.runTasks();
    int id = server.connection().received(FrameType.REQUEST).get(0).requestId();
    server.connection().send(message(id, bytes(100))); // 200 - 118 = 82
    server.connection().send(message(id, bytes(100))); // 82 - 118 = -36: allowed, there was credit
    server.connection().send(message(id, bytes(100))); // none left
    assertThat(server.connection().received(FrameType.ERROR)).hasSize(1);
    assertThat(server.connection().ch.isOpen()).isFalse();
    reader.next();
    reader.next();
    assertThatThrownBy(reader::hasNext).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE));
  }

  @Test
  void theDeadlineCoversTheWholeStream() {
    FerryChannel ch = channel(streaming(1000), 1000);
    StreamReader<BytesValue> reader = ch.serverStream(DOWNLOAD, bytes(1),
        CallOptions.builder().timeout(Duration.ofSeconds(1)).build());
    server.runTasks();
    int id = server.connection().received(FrameType.REQUEST).get(0).requestId();
    server.advance(Duration.ofMillis(500));
    server.connection().send(message(id, bytes(1)));
    server.advance(Duration.ofMillis(499));
    assertThat(reader.next().getValue().size()).isEqualTo(1);
    assertThat(server.connection().received(FrameType.CANCEL)).isEmpty();
    server.advance(Duration.ofMillis(1));
    assertThatThrownBy(reader::hasNext).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED));
    assertThat(server.connection().received(FrameType.CANCEL)).hasSize(1);
  }

  @Test
  void theIdleTimeoutCountsFromTheLastMessage() {
    FerryChannel ch = channel(streaming(1000), 1000);
    StreamReader<BytesValue> reader = ch.serverStream(DOWNLOAD, bytes(1),
        CallOptions.builder().idleTimeout(Duration.ofMillis(300)).build());
    server.runTasks();
    EmbeddedServer.Received request = server.connection().received(FrameType.REQUEST).get(0);
    assertThat(request.header().getIdleTimeoutMicros()).as("announced to the server").isEqualTo(300_000);
    int id = request.requestId();
    server.advance(Duration.ofMillis(200));
    server.connection().send(message(id, bytes(1)));
    server.advance(Duration.ofMillis(299));
    assertThat(server.connection().received(FrameType.CANCEL)).as("299 ms since the last message").isEmpty();
    server.advance(Duration.ofMillis(1));
    assertThat(reader.next().getValue().size()).isEqualTo(1);
    assertThatThrownBy(reader::hasNext).isInstanceOfSatisfying(FerryException.class, e -> {
      assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
      assertThat(e.description()).contains("idle");
    });
    assertThat(server.connection().received(FrameType.CANCEL)).hasSize(1);
  }

  @Test
  void closingTheReaderBeforeTheEndSendsCancel() {
    FerryChannel ch = channel(streaming(1000), 1000);
    StreamReader<BytesValue> reader = ch.serverStream(DOWNLOAD, bytes(1), CallOptions.DEFAULT);
    server.runTasks();
    int id = server.connection().received(FrameType.REQUEST).get(0).requestId();
    server.connection().send(message(id, bytes(1)));
    reader.close();
    server.runTasks();
    assertThat(server.connection().received(FrameType.CANCEL)).hasSize(1);
    assertThat(server.connection().received(FrameType.WINDOW_UPDATE)).isEmpty();
  }

  @Test
  void afterGoAwayAStreamAboveTheLastIdFailsUnavailableAndOneBelowGoesOn() throws Exception {
    FerryChannel ch = channel(streaming(1000), 1000);
    ClientStreamingCall<BytesValue, BytesValue> first = ch.clientStream(UPLOAD, CallOptions.DEFAULT);
    ClientStreamingCall<BytesValue, BytesValue> second = ch.clientStream(UPLOAD, CallOptions.DEFAULT);
    server.runTasks();
    java.util.List<EmbeddedServer.Received> requests = server.connection().received(FrameType.REQUEST);
    assertThat(requests).hasSize(2);
    int firstId = requests.get(0).requestId();
    assertThat(second.trySend(bytes(1))).isTrue(); // a request message went: it may not be sent again
    server.runTasks();
    server.connection().goAway(firstId, "shutting down");
    FerryException e = ClientTests.failure(second.response());
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(server.connections).as("not sent again elsewhere").hasSize(1);
    assertThat(first.trySend(bytes(1))).isTrue();
    first.complete();
    server.runTasks();
    server.connection().respond(firstId, bytes(2));
    assertThat(ClientTests.value(first.response()).getValue().size()).isEqualTo(2);
  }
  @Test
  void cancellingThePublisherFedUploadsFutureCancelsTheCallLikeAUnaryOne() {
    FerryChannel ch = channel(streaming(1000), 1000);
    java.util.concurrent.Flow.Publisher<BytesValue> silent =
        subscriber -> subscriber.onSubscribe(new java.util.concurrent.Flow.Subscription() {
          @Override
          public void request(long n) {}

          @Override
          public void cancel() {}
        });
    java.util.concurrent.CompletableFuture<BytesValue> response = ch.clientStream(UPLOAD, silent, CallOptions.DEFAULT);
    server.runTasks();
    assertThat(server.connection().received(FrameType.REQUEST)).hasSize(1);
    assertThat(response.cancel(false)).isTrue();
    server.runTasks();
    assertThat(response).isCancelled();
    assertThatThrownBy(response::join).isInstanceOf(java.util.concurrent.CancellationException.class);
    assertThat(server.connection().received(FrameType.CANCEL)).hasSize(1);
  }
}
