package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Int32Value;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerListener;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Streams and the life of their connection: a connection past its max age sends GOAWAY, lets its open
 * streams run to their end within the grace, and cancels those still open when the grace ends; the
 * client's next calls go to a new connection.
 */
class StreamLifetimeTest {
  private static final CallOptions MINUTE = CallOptions.builder().timeout(Duration.ofSeconds(60)).build();
  private final StreamService service = new StreamService();
  private final CountDownLatch goAwaySent = new CountDownLatch(1);
  private final AtomicInteger connections = new AtomicInteger();
  private FerryServer server;
  private FerryChannel channel;

  private void start(Duration maxAge, Duration grace) throws Exception {
    server = FerryServer.builder().host("127.0.0.1").port(0).maxConnectionAge(maxAge).maxConnectionAgeGrace(grace)
        .addService(service.definition())
        .addListener(new ServerListener() {
          @Override
          public void goAwaySent() {
            goAwaySent.countDown();
          }

          @Override
          public void connectionOpened() {
            connections.incrementAndGet();
          }
        })
        .build().start();
    channel = FerryChannel.builder("127.0.0.1", server.port()).build();
  }

  @AfterEach
  void stop() throws Exception {
    service.release.countDown();
    if (channel != null) {
      channel.close();
    }
    if (server != null) {
      server.shutdownNow();
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void aStreamRunsToItsEndPastItsConnectionsMaxAgeWithinTheGrace() throws Exception {
    start(Duration.ofMillis(300), Duration.ofSeconds(60));
    // 100,000 small messages: two windows and more, so credit must keep flowing after the GOAWAY.
    try (StreamReader<Int32Value> numbers = channel.serverStream(StreamService.COUNT, Int32Value.of(100_000), MINUTE)) {
      assertThat(numbers.next().getValue()).isZero();
      assertThat(goAwaySent.await(20, TimeUnit.SECONDS)).as("max age reached: GOAWAY sent").isTrue();
      int expected = 1;
      while (numbers.hasNext()) {
        assertThat(numbers.next().getValue()).isEqualTo(expected++);
      }
      assertThat(expected).isEqualTo(100_000);
    }
    assertThat(channel.blockingCall(StreamService.SQUARE, Int32Value.of(7), MINUTE).getValue()).isEqualTo(49);
    assertThat(connections.get()).as("the next call went to a new connection").isGreaterThanOrEqualTo(2);
  }

  @Test
  void aStreamStillOpenWhenTheGraceEndsIsCancelledOnBothSides() throws Exception {
    start(Duration.ofMillis(300), Duration.ofMillis(300));
    StreamReader<Int32Value> quiet = channel.serverStream(StreamService.QUIET, Int32Value.of(0), MINUTE);
    CallContext ctx = service.contexts.poll(20, TimeUnit.SECONDS);
    assertThat(ctx).as("the handler runs").isNotNull();
    assertThat(service.handlerEnds.poll(20, TimeUnit.SECONDS)).as("the handler was cancelled").isNotNull();
    assertThat(ctx.isCancelled()).isTrue();
    assertThatThrownBy(quiet::hasNext).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE));
    quiet.close();
    assertThat(channel.blockingCall(StreamService.SQUARE, Int32Value.of(5), MINUTE).getValue()).isEqualTo(25);
  }
}
