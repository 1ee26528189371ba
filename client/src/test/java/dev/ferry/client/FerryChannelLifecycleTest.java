package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.internal.Transports;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Blocking calls, shutdown and termination. */
class FerryChannelLifecycleTest extends FakeServerTestBase {
  @Test
  void blockingCallReturnsTheResponse() {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    assertThat(ch.blockingCall(ECHO, s("b")).getValue()).isEqualTo("echo:b");
  }

  @Test
  void blockingCallThrowsTheFerryExceptionItself() {
    server = FakeServer.start();
    server.autoRespond(r -> r.fail(StatusCode.PERMISSION_DENIED, "nope", Metadata.of("x-why", "policy")));
    FerryChannel ch = channel(server.client());

    assertThatThrownBy(() -> ch.blockingCall(ECHO, s("b"), CallOptions.DEFAULT))
        .isInstanceOfSatisfying(FerryException.class, e -> {
          assertThat(e.code()).isEqualTo(StatusCode.PERMISSION_DENIED);
          assertThat(e.description()).isEqualTo("nope");
          assertThat(e.trailers().get("x-why")).isEqualTo("policy");
        });
  }

  @Test
  void interruptedBlockingCallIsCancelledAndKeepsTheInterruptFlag() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    CompletableFuture<Throwable> thrown = new CompletableFuture<>();
    AtomicBoolean interruptFlag = new AtomicBoolean();
    Thread caller = new Thread(() -> {
      try {
        ch.blockingCall(ECHO, s("wait"), CallOptions.DEFAULT);
        thrown.complete(null);
      } catch (Throwable t) {
        interruptFlag.set(Thread.currentThread().isInterrupted());
        thrown.complete(t);
      }
    });
    caller.start();
    FakeServer.FakeRequest r = server.nextRequest();

    caller.interrupt();

    Throwable t = thrown.get(10, TimeUnit.SECONDS);
    assertThat(t).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.CANCELLED));
    assertThat(interruptFlag).isTrue();
    assertThat(server.nextCancel()).isEqualTo(r.id());
    caller.join(10_000);
  }

  @Test
  void blockingCallOnTheEventLoopIsRefused() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      FerryChannel ch = channel(server.client().eventLoopGroup(group));

      CompletableFuture<StringValue> onLoop = ch.call(ECHO, s("first"))
          .thenApply(ignored -> ch.blockingCall(ECHO, s("second")));

      Throwable t = failureCause(onLoop);
      assertThat(t).isInstanceOf(IllegalStateException.class).hasMessageContaining("event loop");
      ch.close();
      assertThat(ch.isTerminated()).isTrue();
      assertThat(group.isShuttingDown()).as("a shared group is left alone").isFalse();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void aSharedGroupOfEitherTransportWorks() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    // Native epoll where available (as a server might use it), NIO otherwise.
    EventLoopGroup group = Transports.newEventLoopGroup(1, "shared");
    try {
      FerryChannel ch = channel(server.client().eventLoopGroup(group));
      assertThat(value(ch.call(ECHO, s("shared"))).getValue()).isEqualTo("echo:shared");
      ch.close();
      assertThat(group.isShuttingDown()).isFalse();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void dependentStagesRunOnTheEventLoopAndMayStartCalls() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());

    CompletableFuture<StringValue> chained = ch.call(ECHO, s("a")).thenCompose(r -> ch.call(ECHO, s(r.getValue())));

    assertThat(value(chained).getValue()).isEqualTo("echo:echo:a");
  }

  @Test
  void shutdownFailsNewCallsAndLetsCallsInFlightFinish() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> inFlight = ch.call(ECHO, s("in flight"));
    FakeServer.FakeRequest r = server.nextRequest();

    ch.shutdown();

    assertThat(ch.isShutdown()).isTrue();
    FerryException e = failure(ch.call(ECHO, s("new")));
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("channel shut down");
    assertThat(ch.awaitTermination(Duration.ofMillis(50))).as("waits for the call in flight").isFalse();

    r.respond(s("done"));
    assertThat(value(inFlight).getValue()).isEqualTo("done");
    assertThat(ch.awaitTermination(Duration.ofSeconds(5))).isTrue();
    assertThat(ch.isTerminated()).isTrue();
    assertThat(r.channel().closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void shutdownNowFailsCallsInFlight() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> inFlight = ch.call(ECHO, s("in flight"));
    Channel conn = server.nextRequest().channel();

    ch.shutdownNow();

    FerryException e = failure(inFlight);
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("channel shut down").contains("was sent");
    assertThat(ch.awaitTermination(Duration.ofSeconds(5))).isTrue();
    assertThat(conn.closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void shutdownNowFailsCallsStillWaitingForTheConnection() throws Exception {
    server = FakeServer.notFerry(new byte[0]);
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> waiting = ch.call(ECHO, s("x"));

    ch.shutdownNow();

    FerryException e = failure(waiting);
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("channel shut down").contains("was not sent");
    assertThat(ch.awaitTermination(Duration.ofSeconds(5))).isTrue();
  }

  @Test
  void closeWaitsForCallsInFlight() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> call = ch.call(ECHO, s("c"));

    ch.close();

    assertThat(call).isCompletedWithValue(s("echo:c"));
    assertThat(ch.isTerminated()).isTrue();
  }

  private static Throwable failureCause(CompletableFuture<?> f) throws Exception {
    try {
      f.get(10, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }
}
