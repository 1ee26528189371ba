package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.BytesValue;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInternals;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.testing.FaultProxy;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A failure is reported once, in plain words: to the caller it fails, not again in the log; without
 * Netty's system-call text; with each address written once.
 */
class FailureReportsTest {
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  @Test
  void aRefusedConnectionIsToldToTheCallerOnceInPlainWords() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (LogCapture log = new LogCapture();
        FerryChannel channel = FerryChannel.builder("127.0.0.1", port).build()) {
      FerryException e = catchThrowableOfType(
          () -> channel.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(), TEN_SECONDS),
          FerryException.class);

      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).isEqualTo("could not connect to 127.0.0.1:" + port
          + ": connection refused (request for ferry.test.TestService/Echo was not sent)");
      // The state change is logged after the waiting calls were failed; once it is, no WARN repeats the reason.
      await().atMost(Duration.ofSeconds(10))
          .until(() -> log.find("INFO", "TRANSIENT_FAILURE", "the reason went to 1 waiting call") != null);
      assertThat(log.find("WARN", "127.0.0.1:" + port)).as("not logged again at WARN").isNull();
    }
  }

  @Test
  void aResetConnectionIsToldInPlainWords() throws Exception {
    TestService service = new TestService();
    try (FerryServer server = FerryServer.builder().host("127.0.0.1").addService(service.definition()).build().start();
        FaultProxy proxy = FaultProxy.start(server.port());
        FerryChannel channel = FerryChannel.builder("127.0.0.1", proxy.port()).build()) {
      CompletableFuture<StringValue> call = channel.call(TestService.HANG, StringValue.of("x"), TEN_SECONDS);
      assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).as("the call reached the server").isNotNull();

      proxy.resetAll();

      FerryException e = (FerryException) catchThrowableOfType(() -> call.get(10, TimeUnit.SECONDS),
          ExecutionException.class).getCause();
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).startsWith("connection to 127.0.0.1:" + proxy.port() + " ")
          .doesNotContain("(..)").doesNotContain("error(-").doesNotContain("/127.0.0.1")
          .endsWith("(request for ferry.test.TestService/Hang was sent)");
      // A call gives its slot back before its future completes.
      assertThat(ClientInternals.activeCalls(channel)).isZero();
    }
  }
}
