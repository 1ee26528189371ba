package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.internal.ErrorCode;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What calls see when the connection fails, drains or misbehaves. */
class FerryChannelConnectionTest extends FakeServerTestBase {
  private static final CallOptions THIRTY_SECONDS = CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(30));

  @Test
  void connectionLossFailsAllPendingPromptlyThenNextCallReconnects() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    List<CompletableFuture<StringValue>> calls = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      calls.add(ch.call(ECHO, s("c" + i), CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(30))));
    }
    List<FakeServer.FakeRequest> requests = server.nextRequests(10);

    requests.get(0).channel().close();

    for (CompletableFuture<StringValue> call : calls) {
      // Failed by the close (within failure()'s 10 s), not left to the 30 s deadline.
      FerryException e = failure(call);
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).contains("127.0.0.1:" + server.port()).contains("closed by peer")
          .contains("was sent");
    }
    assertThat(ch.activeCalls()).isZero();

    server.autoEcho();
    assertThat(value(ch.call(ECHO, s("again"))).getValue()).isEqualTo("echo:again");
    assertThat(server.connections).hasSize(2);
    assertThat(server.requests.stream().filter(r -> r.string().equals("again")).findFirst().orElseThrow().id())
        .as("ids start again from 1 on a new connection").isEqualTo(1);
  }

  @Test
  void goAwayRetriesCallsAboveLastIdOnAFreshConnectionAndLetsTheOthersFinish() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    Map<String, CompletableFuture<StringValue>> calls = new HashMap<>();
    for (int i = 1; i <= 5; i++) {
      calls.put("c" + i, ch.call(ECHO, s("c" + i), THIRTY_SECONDS));
    }
    List<FakeServer.FakeRequest> requests = server.nextRequests(5);
    Channel first = requests.get(0).channel();

    FakeServer.goAway(first, 3, "server restarting");

    // Calls 4 and 5 were never processed: they are sent again, transparently, on a fresh connection.
    List<FakeServer.FakeRequest> retried = server.nextRequests(2);
    assertThat(retried).extracting(FakeServer.FakeRequest::string)
        .containsExactlyInAnyOrderElementsOf(requests.stream().filter(r -> r.id() > 3)
            .map(FakeServer.FakeRequest::string).toList());
    assertThat(retried).allSatisfy(r -> assertThat(r.channel()).as("a new connection").isNotSameAs(first));
    for (FakeServer.FakeRequest r : requests) {
      if (r.id() <= 3) {
        assertThat(calls.get(r.string())).as("call %d goes on", r.id()).isNotDone();
      }
    }
    for (FakeServer.FakeRequest r : retried) {
      r.respond(s(r.string() + "!"));
      assertThat(value(calls.get(r.string())).getValue()).isEqualTo(r.string() + "!");
    }

    CompletableFuture<StringValue> fresh = ch.call(ECHO, s("fresh"), THIRTY_SECONDS);
    FakeServer.FakeRequest freshRequest = server.nextRequest();
    assertThat(freshRequest.channel()).as("the new connection").isSameAs(retried.get(0).channel());
    assertThat(freshRequest.id()).isEqualTo(3);
    freshRequest.respond(s("fresh!"));
    assertThat(value(fresh).getValue()).isEqualTo("fresh!");

    for (FakeServer.FakeRequest r : requests) {
      if (r.id() <= 3) {
        r.respond(s(r.string() + "!"));
        assertThat(value(calls.get(r.string())).getValue()).isEqualTo(r.string() + "!");
      }
    }
    assertThat(first.closeFuture().await(5, TimeUnit.SECONDS)).as("drained connection closed by the client").isTrue();
    assertThat(ch.droppedResponses()).isZero();
  }

  @Test
  void aCallTheServerDidNotProcessSaysSoWhenItsRetryFails() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> call = ch.call(ECHO, s("refused"), THIRTY_SECONDS);
    FakeServer.FakeRequest request = server.nextRequest();
    server.stopListening(); // the retry finds no server to connect to and fails fast

    FakeServer.goAway(request.channel(), 0, "restarting");

    FerryException e = failure(call);
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    // Its request went out, but the GOAWAY proves the server never ran it: safe to retry, and the
    // message must not suggest otherwise.
    assertThat(e.description()).contains("was not processed by the server").doesNotContain("was sent");
  }

  @Test
  void goAwayWithNothingPendingClosesTheConnection() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    value(ch.call(ECHO, s("one")));
    Channel first = server.connections.poll(5, TimeUnit.SECONDS);

    FakeServer.goAway(first, 1, "");

    assertThat(first.closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(value(ch.call(ECHO, s("two"))).getValue()).isEqualTo("echo:two");
    assertThat(server.connections).hasSize(1);
  }

  @Test
  void callsQueuedWhenGoAwayArrivesAreSentOnAFreshConnection() throws Exception {
    server = FakeServer.goingAwayOnFirstConnection("maintenance");
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    List<CompletableFuture<StringValue>> calls = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      calls.add(ch.call(ECHO, s("q" + i), THIRTY_SECONDS));
    }

    for (int i = 0; i < 3; i++) {
      assertThat(value(calls.get(i)).getValue()).isEqualTo("echo:q" + i);
    }
    assertThat(server.connections).as("only the second connection spoke Ferry to the end").hasSize(1);
    assertThat(server.nextRequests(3)).extracting(FakeServer.FakeRequest::id).containsExactlyInAnyOrder(1, 2, 3);
  }

  @Test
  void errorFrameFailsPendingCallsWithItsReason() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> call = ch.call(ECHO, s("x"), THIRTY_SECONDS);
    FakeServer.FakeRequest r = server.nextRequest();

    FakeServer.error(r.channel(), ErrorCode.INTERNAL_ERROR, "disk on fire");

    FerryException e = failure(call);
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("127.0.0.1:" + server.port()).contains("ERROR INTERNAL_ERROR: disk on fire")
        .contains("was sent");
  }

  @Test
  void pingIsAnsweredWithTheSameData() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    value(ch.call(ECHO, s("connect")));
    Channel conn = server.connections.poll(5, TimeUnit.SECONDS);

    FakeServer.ping(conn, 0x0123_4567_89AB_CDEFL);

    assertThat(server.pongs.poll(5, TimeUnit.SECONDS)).isEqualTo(0x0123_4567_89AB_CDEFL);
  }

  @Test
  void connectFailureNamesTheAddress() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    FerryChannel ch = channel(FerryChannel.builder("127.0.0.1", port));

    FerryException e = failure(ch.call(ECHO, s("x")));

    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("could not connect to 127.0.0.1:" + port + ": ").contains("was not sent");
    assertThat(e.getCause()).isInstanceOf(IOException.class);
  }

  @Test
  void aServerThatIsNotFerryFailsTheHandshake() throws Exception {
    server = FakeServer.notFerry("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    FerryChannel ch = channel(server.client());

    FerryException e = failure(ch.call(ECHO, s("x")));

    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("handshake with 127.0.0.1:" + server.port()).contains("not a Ferry peer");
  }

  @Test
  void aSilentServerTimesOutTheHandshake() throws Exception {
    server = FakeServer.notFerry(new byte[0]);
    FerryChannel ch = channel(server.client().handshakeTimeout(Duration.ofMillis(200)));

    // Failed by the handshake timeout (the description says so), not left to the 30 s deadline.
    FerryException e = failure(ch.call(ECHO, s("x"), THIRTY_SECONDS));

    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("127.0.0.1:" + server.port()).contains("within 200 ms");
  }

  @Test
  void callsWaitingForTheHandshakeAreWrittenOnceItCompletes() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    List<CompletableFuture<StringValue>> calls = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      calls.add(ch.call(ECHO, s("w" + i)));
    }
    for (int i = 0; i < 50; i++) {
      assertThat(value(calls.get(i)).getValue()).isEqualTo("echo:w" + i);
    }
    assertThat(server.connections).hasSize(1);
    assertThat(ch.activeCalls()).as("a call stops counting before its future completes").isZero();
  }
}
