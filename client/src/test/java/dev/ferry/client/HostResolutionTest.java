package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.internal.Transports;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Host names are looked up before each connect, off the event loops and outside the pool's lock. */
class HostResolutionTest extends FakeServerTestBase {
  private final EventLoopGroup shared = Transports.newEventLoopGroup(1, "shared-loop");
  private FerryChannel slow;

  @AfterEach
  void closeSharedGroup() {
    // Both channels first: they need the shared loop to close their connections.
    for (FerryChannel c : new FerryChannel[] {slow, channel}) {
      if (c != null) {
        c.shutdownNow();
        c.close();
      }
    }
    channel = null;
    shared.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void aLookupThatHangsStallsNeitherTheEventLoopNorThePool() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    CountDownLatch lookupStarted = new CountDownLatch(1);
    CountDownLatch answerLookup = new CountDownLatch(1);
    List<String> lookupThreads = new CopyOnWriteArrayList<>();
    HostResolver hanging = (host, port) -> CompletableFuture.supplyAsync(() -> {
      lookupThreads.add(Thread.currentThread().getName());
      lookupStarted.countDown();
      try {
        answerLookup.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new InetSocketAddress("127.0.0.1", server.port());
    });
    // Both channels run on one event loop thread: a lookup on it would stall the other channel.
    slow = FerryChannel.builder("slow.example", server.port()).eventLoopGroup(shared).hostResolver(hanging).build();
    FerryChannel fast = channel(server.client().eventLoopGroup(shared));

    CompletableFuture<StringValue> waitingForLookup = slow.call(ECHO, s("after the lookup"));
    try {
      assertThat(lookupStarted.await(10, TimeUnit.SECONDS)).isTrue();

      assertThat(value(fast.call(ECHO, s("meanwhile"))).getValue()).isEqualTo("echo:meanwhile");
      assertThat(slow.state()).as("the pool's lock is free").isEqualTo(ChannelState.CONNECTING);
      CompletableFuture<StringValue> second = slow.call(ECHO, s("second"));
      assertThat(waitingForLookup).isNotDone();
      assertThat(lookupThreads).noneMatch(name -> name.startsWith("shared-loop"));

      answerLookup.countDown();
      assertThat(value(waitingForLookup).getValue()).isEqualTo("echo:after the lookup");
      assertThat(value(second).getValue()).isEqualTo("echo:second");
    } finally {
      answerLookup.countDown(); // never leave a thread (or, if it ran there, the loop) blocked
    }
  }

  @Test
  void anUnknownHostFailsCallsWithUnavailableNamingTheHost() {
    HostResolver unknown = (host, port) -> CompletableFuture.failedFuture(
        new UnknownHostException(host + ": Name or service not known"));
    FerryChannel ch = channel(FerryChannel.builder("no-such-host.invalid", 7070).hostResolver(unknown));

    FerryException e = failure(ch.call(ECHO, s("x")));

    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("no-such-host.invalid").contains("Name or service not known")
        .contains("was not sent");
    assertThat(ch.state()).isEqualTo(ChannelState.TRANSIENT_FAILURE);
  }

  @Test
  void ipLiteralsNeedNoLookupThread() throws Exception {
    CompletableFuture<InetSocketAddress> v4 = HostResolver.SYSTEM.resolve("127.0.0.1", 7070);
    CompletableFuture<InetSocketAddress> v6 = HostResolver.SYSTEM.resolve("::1", 7070);
    assertThat(v4).isDone();
    assertThat(v6).isDone();
    assertThat(v4.get().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(v6.get().getAddress().isLoopbackAddress()).isTrue();
    assertThat(HostResolver.SYSTEM.resolve("localhost", 7070).get(10, TimeUnit.SECONDS).getAddress()
        .isLoopbackAddress()).isTrue();
  }
}
