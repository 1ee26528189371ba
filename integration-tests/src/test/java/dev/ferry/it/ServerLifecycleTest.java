package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.FerryException;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerInternals;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Start and shutdown in every order, including at the same time: shutdown never throws, a server shut
 * down before or while it starts never serves, and one shut down after it started serves no new call.
 * (The grace periods are long on purpose: a server that kept its port open would not terminate.)
 */
class ServerLifecycleTest {
  private static final Duration LONG_GRACE = Duration.ofSeconds(60);

  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() {
    threads.shutdownNow();
  }

  private static FerryServer newServer() {
    return FerryServer.builder().host("127.0.0.1").addService(new TestService().definition()).build();
  }

  @Test
  void shutdownWhileStartIsBindingIsCleanAndTheServerNeverServes() throws Exception {
    FerryServer server = newServer();
    CountDownLatch atBind = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    ServerInternals.beforeBind(server, () -> {
      atBind.countDown();
      try {
        proceed.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    Future<FerryServer> starting = threads.submit(server::start);
    assertThat(atBind.await(10, TimeUnit.SECONDS)).isTrue();

    server.shutdown(LONG_GRACE); // start() is between its state change and its bind
    assertThat(server.isShutdown()).isTrue();
    proceed.countDown();

    Throwable failure = catchThrowable(() -> starting.get(10, TimeUnit.SECONDS));
    assertThat(failure).isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(IllegalStateException.class).hasMessageContaining("shut down while starting");
    // It bound the port and closed it again at once, without waiting for the grace period.
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  @Test
  void aServerShutDownBeforeItStartedCannotStart() throws Exception {
    FerryServer server = newServer();
    server.shutdown(LONG_GRACE);
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class).hasMessage("server is shut down");
  }

  @Test
  void startAndShutdownRacingEndCleanEveryTime() throws Exception {
    Random random = new Random(12);
    int startedFirst = 0;
    for (int i = 0; i < 60; i++) {
      FerryServer server = newServer();
      CyclicBarrier together = new CyclicBarrier(2);
      Future<FerryServer> starting = threads.submit(() -> {
        together.await(10, TimeUnit.SECONDS);
        return server.start();
      });
      long spreadNanos = TimeUnit.MICROSECONDS.toNanos(random.nextInt(3_000));
      Future<?> stopping = threads.submit(() -> {
        together.await(10, TimeUnit.SECONDS);
        // Spreads where in start() the shutdown lands, from before its state change to after its bind.
        for (long until = System.nanoTime() + spreadNanos; System.nanoTime() < until; ) {
          Thread.onSpinWait();
        }
        return server.shutdown(LONG_GRACE);
      });
      stopping.get(10, TimeUnit.SECONDS); // never throws
      boolean started;
      try {
        starting.get(10, TimeUnit.SECONDS);
        started = true;
      } catch (ExecutionException e) {
        assertThat(e.getCause()).as("iteration %d", i).isInstanceOf(IllegalStateException.class);
        started = false;
      }
      if (started) {
        startedFirst++;
        // Shut down after it started: a client connecting now is not served.
        try (FerryChannel late = FerryChannel.builder("127.0.0.1", server.port()).build()) {
          assertThatThrownBy(() -> late.blockingCall(TestService.ECHO,
              BytesValue.of(ByteString.copyFromUtf8("late")),
              CallOptions.builder().timeout(Duration.ofSeconds(5)).build()))
              .as("iteration %d", i).isInstanceOf(FerryException.class);
        }
      }
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).as("iteration %d", i).isTrue();
    }
    System.out.printf("start/shutdown race: start won %d of 60 times%n", startedFirst);
  }
}
