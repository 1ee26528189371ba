package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.testing.FaultProxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link FaultProxy.Link}: faults aimed at one proxied connection leave the others alone. */
class FaultProxyLinksTest {
  private final TestService service = new TestService();
  private FerryServer server;
  private FaultProxy proxy;
  private FerryChannel first;
  private FerryChannel second;

  @BeforeEach
  void start() throws Exception {
    server = FerryServer.builder().host("127.0.0.1").port(0).addService(service.definition()).build().start();
    proxy = FaultProxy.start(server.port());
    first = channel();
    second = channel();
    echo(first, Duration.ofSeconds(10));
    echo(second, Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() throws Exception {
    first.close();
    second.close();
    proxy.close();
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  private FerryChannel channel() {
    return FerryChannel.builder("127.0.0.1", proxy.port()).pool(PoolOptions.builder().size(1).build()).build();
  }

  private static StatusCode echo(FerryChannel channel, Duration timeout) {
    ByteString text = ByteString.copyFromUtf8("hello");
    CompletableFuture<BytesValue> call =
        channel.call(TestService.ECHO, BytesValue.of(text), CallOptions.builder().timeout(timeout).build());
    try {
      assertThat(call.get(30, TimeUnit.SECONDS).getValue()).isEqualTo(text);
      return StatusCode.OK;
    } catch (ExecutionException e) {
      return ((FerryException) e.getCause()).code();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void blackHolingOneLinkSilencesOnlyItsConnection() throws Exception {
    List<FaultProxy.Link> links = proxy.links();
    assertThat(links).hasSize(2);
    FaultProxy.Link link = links.get(0);
    link.blackHole(true, true);
    // One call on each channel: the one whose link passes is answered while the other hears nothing.
    // (Deadlines far off, so a busy machine cannot fail the passing one.)
    CompletableFuture<BytesValue> a = first.call(TestService.ECHO, BytesValue.getDefaultInstance(),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    CompletableFuture<BytesValue> b = second.call(TestService.ECHO, BytesValue.getDefaultInstance(),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    CompletableFuture.anyOf(a, b).get(10, TimeUnit.SECONDS);
    CompletableFuture<BytesValue> answered = a.isDone() ? a : b;
    CompletableFuture<BytesValue> unanswered = answered == a ? b : a;
    assertThat(answered.get()).isNotNull();
    assertThat(unanswered).as("the call through the black hole").isNotDone();
    unanswered.cancel(true);
    FerryChannel silenced = unanswered == a ? first : second;
    FerryChannel other = silenced == first ? second : first;

    // Toward the server only: the request never arrives, while the other connection's does.
    link.blackHole(true, false);
    CompletableFuture<StringValue> lost = silenced.call(TestService.HANG, StringValue.of("lost"),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    CompletableFuture<StringValue> arrives = other.call(TestService.HANG, StringValue.of("arrives"),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    assertThat(service.hangingRequests.poll(10, TimeUnit.SECONDS)).isEqualTo("arrives");
    assertThat(service.hangingRequests.poll(300, TimeUnit.MILLISECONDS)).isNull();
    lost.cancel(true);
    arrives.cancel(true);

    // Passing again. (The bytes dropped meanwhile may have cut a frame in two, and the server then closes
    // that connection over the garbage: the channel reconnects, so only "works again soon" is certain.)
    link.pass();
    assertThat(echo(other, Duration.ofSeconds(10))).isEqualTo(StatusCode.OK);
    await().atMost(Duration.ofSeconds(20)).until(() -> echo(silenced, Duration.ofSeconds(5)) == StatusCode.OK);
  }

  @Test
  void aStalledLinkDeliversEverythingOnceResumed() throws Exception {
    FaultProxy.Link link = proxy.links().get(0);
    link.stall(true, false);
    CompletableFuture<StringValue> first = this.first.call(TestService.HANG, StringValue.of("one"),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    CompletableFuture<StringValue> second = this.second.call(TestService.HANG, StringValue.of("two"),
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    String arrived = service.hangingRequests.poll(10, TimeUnit.SECONDS);
    assertThat(arrived).isIn("one", "two");
    assertThat(service.hangingRequests.poll(300, TimeUnit.MILLISECONDS)).as("held back by the stall").isNull();
    link.resume();
    assertThat(service.hangingRequests.poll(10, TimeUnit.SECONDS)).isEqualTo(arrived.equals("one") ? "two" : "one");
    first.cancel(true);
    second.cancel(true);
    assertThat(proxy.acceptedConnections()).as("no connection was lost").isEqualTo(2);
  }

  @Test
  void resettingOneLinkClosesOnlyItsConnection() {
    proxy.links().get(0).reset();
    await().atMost(Duration.ofSeconds(10)).until(() -> proxy.links().size() == 1);
    // The channel whose connection was reset opens a new one; the other keeps its own.
    await().atMost(Duration.ofSeconds(10)).until(() ->
        echo(first, Duration.ofSeconds(5)) == StatusCode.OK && echo(second, Duration.ofSeconds(5)) == StatusCode.OK);
    assertThat(proxy.acceptedConnections()).isEqualTo(3);
    assertThat(proxy.links()).hasSize(2);
  }
}
