package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInternals;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.FerryChannelBuilder;
import dev.ferry.client.PoolOptions;
import dev.ferry.client.Response;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Unary calls end to end over loopback TCP, in the spirit of gRPC's interop cases. {@link
 * InProcessUnaryRpcTest} runs the same cases over the in-process transport.
 */
class UnaryRpcTest {
  private TestService service;
  private FerryServer server;
  private FerryChannel channel;

  @BeforeEach
  void start() throws Exception {
    service = new TestService();
    server = serverBuilder().addService(service.definition()).build().start();
    channel = channelBuilder(server).build();
  }

  /** A server builder, before services are added: loopback, a free port. */
  FerryServerBuilder serverBuilder() {
    return FerryServer.builder().host("127.0.0.1").port(0);
  }

  /** A builder of a channel to {@code server}. */
  FerryChannelBuilder channelBuilder(FerryServer server) {
    return FerryChannel.builder("127.0.0.1", server.port());
  }

  @AfterEach
  void stop() throws Exception {
    channel.close();
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  private static CallOptions timeout(Duration d) {
    return CallOptions.builder().timeout(d).build();
  }

  private static FerryException failure(CompletableFuture<?> f) {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(FerryException.class);
      return (FerryException) e.getCause();
    } catch (Exception e) {
      throw new AssertionError("call did not fail in time", e);
    }
    throw new AssertionError("call succeeded");
  }

  @Test
  void awaitTerminationWithoutALimitBlocksUntilTheServerIsShutDown() throws Exception {
    CompletableFuture<Void> waited = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        server.awaitTermination();
        waited.complete(null);
      } catch (Throwable t) {
        waited.completeExceptionally(t);
      }
    }, "awaiting-termination");
    waiter.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> waiter.getState() == Thread.State.WAITING);
    assertThat(waited).as("still serving").isNotDone();
    assertThat(channel.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance())).isNotNull();

    server.shutdown(Duration.ofSeconds(5));

    waited.get(10, TimeUnit.SECONDS);
    assertThat(server.isTerminated()).isTrue();
  }

  @Test
  void emptyRequestAndResponse() {
    BytesValue reply = channel.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(), CallOptions.DEFAULT);
    assertThat(reply).isEqualTo(BytesValue.getDefaultInstance());
  }

  @Test
  void largeRequestAndLargeResponse() {
    byte[] payload = new byte[271_828];
    new Random(1).nextBytes(payload);
    BytesValue echoed = channel.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFrom(payload)),
        CallOptions.DEFAULT);
    assertThat(echoed.getValue().toByteArray()).isEqualTo(payload);
    BytesValue sized = channel.blockingCall(TestService.SIZED, Int32Value.of(314_159), CallOptions.DEFAULT);
    assertThat(sized.getValue().size()).isEqualTo(314_159);
  }

  @Test
  void payloadJustUnderTheFrameLimitPassesAndOneOverIsRejected() {
    byte[] big = new byte[15 * 1024 * 1024];
    new Random(2).nextBytes(big);
    BytesValue echoed = channel.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFrom(big)),
        timeout(Duration.ofSeconds(30)));
    assertThat(echoed.getValue().size()).isEqualTo(big.length);

    BytesValue tooBig = BytesValue.of(ByteString.copyFrom(new byte[16 * 1024 * 1024]));
    assertThatThrownBy(() -> channel.blockingCall(TestService.ECHO, tooBig, CallOptions.DEFAULT))
        .isInstanceOfSatisfying(FerryException.class,
            e -> assertThat(e.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED));
    // A response over the client's limit is refused by the server with a status, not a broken connection.
    assertThatThrownBy(() -> channel.blockingCall(TestService.SIZED, Int32Value.of(16 * 1024 * 1024),
        CallOptions.DEFAULT))
        .isInstanceOfSatisfying(FerryException.class,
            e -> assertThat(e.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED));
    assertThat(channel.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(), CallOptions.DEFAULT))
        .as("the connection is still usable").isNotNull();
  }

  @Test
  void metadataTravelsBothWays() throws Exception {
    CallOptions options = CallOptions.builder()
        .metadata(Metadata.builder().add("x-in", "a").add("x-in", "ünï").build()).build();
    Response<StringValue> response =
        channel.exchange(TestService.METADATA, StringValue.of("7"), options).get(10, TimeUnit.SECONDS);
    assertThat(response.message().getValue()).isEqualTo("a,ünï");
    assertThat(response.trailers().get("x-out")).isEqualTo("trailer-7");
  }

  @Test
  void handlerStatusUnicodeMessageAndTrailersReachTheCaller() {
    String message = "ключ «k» не найден ✓ 🚢";
    FerryException e = failure(channel.call(TestService.FAIL, StringValue.of(message), CallOptions.DEFAULT));
    assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND);
    assertThat(e.description()).isEqualTo(message);
    assertThat(e.trailers().get("x-why")).isEqualTo("missing");
  }

  @Test
  void unexpectedHandlerExceptionBecomesInternalWithoutLeakingDetails() {
    FerryException e = failure(channel.call(TestService.CRASH, StringValue.of("x"), CallOptions.DEFAULT));
    assertThat(e.code()).isEqualTo(StatusCode.INTERNAL);
    assertThat(e.description()).doesNotContain("secret");
  }

  @Test
  void unknownMethodAndServiceAreUnimplementedAndNamed() {
    FerryException method = failure(channel.call(TestService.MISSING, StringValue.of(""), CallOptions.DEFAULT));
    assertThat(method.code()).isEqualTo(StatusCode.UNIMPLEMENTED);
    assertThat(method.description()).contains("Missing");
    FerryException service = failure(channel.call(
        dev.ferry.MethodDescriptor.of("nope.Nothing/Here", StringValue.parser(), StringValue.parser()),
        StringValue.of(""), CallOptions.DEFAULT));
    assertThat(service.code()).isEqualTo(StatusCode.UNIMPLEMENTED);
    assertThat(service.description()).contains("nope.Nothing");
  }

  @Test
  void deadlineFailsTheCallerAndCancelsTheHandler() throws Exception {
    long started = System.nanoTime();
    // Long enough for the request to reach the handler on a busy machine: the handler must see the cancel.
    FerryException e = failure(channel.call(TestService.SLEEP, Int64Value.of(20_000),
        timeout(Duration.ofSeconds(1))));
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
    assertThat(tookMillis).as("not before the deadline").isGreaterThanOrEqualTo(1_000L);
    assertThat(service.sleepCancelled.await(10, TimeUnit.SECONDS))
        .as("the server cancelled the handler's context").isTrue();
  }

  @Test
  void deadlineTravelsToTheServer() throws Exception {
    CompletableFuture<StringValue> call = channel.call(TestService.HANG, StringValue.of("x"),
        timeout(Duration.ofSeconds(30)));
    CallContext ctx = service.hanging.poll(10, TimeUnit.SECONDS);
    assertThat(ctx).isNotNull();
    // Some of the 30 s has gone by the time it is read (how much depends on the machine), none was added.
    assertThat(ctx.timeRemaining()).hasValueSatisfying(
        d -> assertThat(d).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(30)));
    call.cancel(true);
  }

  @Test
  void cancellingTheFutureCancelsTheServerContextAndNothingComesBack() throws Exception {
    CompletableFuture<StringValue> call = channel.call(TestService.HANG, StringValue.of("x"), CallOptions.DEFAULT);
    CallContext ctx = service.hanging.poll(10, TimeUnit.SECONDS);
    assertThat(ctx).isNotNull();
    assertThat(ctx.isCancelled()).isFalse();
    java.util.concurrent.CountDownLatch heard = new java.util.concurrent.CountDownLatch(1);
    ctx.onCancel(heard::countDown);
    assertThat(call.cancel(true)).isTrue();
    assertThat(heard.await(10, TimeUnit.SECONDS)).as("the handler heard the cancel").isTrue();
    assertThat(ctx.isCancelled()).isTrue();
    assertThat(call).isCancelled();
    // The connection still works afterwards.
    assertThat(channel.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(), CallOptions.DEFAULT))
        .isNotNull();
  }

  @Test
  void tenThousandConcurrentCallsOnOneConnectionAnsweredInShuffledOrderEachGetItsOwnResult() throws Exception {
    int n = 10_000;
    service.shuffleBatch = n;
    try (FerryChannel single = channelBuilder(server)
        .pool(PoolOptions.builder().size(1).build()).build()) {
      List<CompletableFuture<Int32Value>> calls = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        calls.add(single.call(TestService.SHUFFLE, Int32Value.of(i), timeout(Duration.ofSeconds(60))));
      }
      CompletableFuture.allOf(calls.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
      for (int i = 0; i < n; i++) {
        assertThat(calls.get(i).join().getValue()).isEqualTo(2 * i);
      }
      assertThat(ClientInternals.activeCalls(single)).isZero();
    }
  }

  @Test
  void gracefulShutdownFinishesCallsInFlightAndRefusesNewOnes() throws Exception {
    List<CompletableFuture<Int64Value>> inFlight = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      inFlight.add(channel.call(TestService.SLEEP, Int64Value.of(500), timeout(Duration.ofSeconds(30))));
    }
    FerryChannel other = channelBuilder(server).build();
    try {
      other.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(), CallOptions.DEFAULT);
      // Every call is running in its handler before the server starts shutting down.
      await().atMost(Duration.ofSeconds(10)).until(() -> service.sleeping.get() == 20);
      server.shutdown(Duration.ofSeconds(20));
      FerryException refused = failure(other.call(TestService.ECHO, BytesValue.getDefaultInstance(),
          timeout(Duration.ofSeconds(10))));
      assertThat(refused.code()).isEqualTo(StatusCode.UNAVAILABLE);
    } finally {
      other.close();
    }
    for (CompletableFuture<Int64Value> f : inFlight) {
      assertThat(f.get(20, TimeUnit.SECONDS).getValue()).isEqualTo(500);
    }
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  @Test
  void abruptServerCloseFailsCallsInFlightPromptlyNotAtTheirDeadline() throws Exception {
    List<CompletableFuture<StringValue>> inFlight = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      inFlight.add(channel.call(TestService.HANG, StringValue.of("x"), timeout(Duration.ofSeconds(60))));
    }
    for (int i = 0; i < 5; i++) {
      assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();
    }
    server.shutdownNow();
    for (CompletableFuture<StringValue> f : inFlight) {
      // UNAVAILABLE, not DEADLINE_EXCEEDED: failed by the close, not by their 60 s deadline.
      FerryException e = failure(f);
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    }
  }
}
