package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientStreamingCall;
import dev.ferry.client.FerryChannel;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Settings;
import dev.ferry.server.FerryServer;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A client that opens many client streams whose handlers never read, and fills every stream's window,
 * cannot make the server hold more than its memory budget (issue 15): in the {@code small-heap}
 * execution (128 MiB of heap), the attacker offers 200 streams x 1 MiB, which the server could not hold
 * if it queued them all. Its reads pause once the budget is full (logged), while a client with small
 * calls and small streams on the same event loop keeps working; when the attacker goes, its memory is
 * given back and large frames are read again.
 */
@Tag("small-heap")
class StreamBudgetTest {
  private static final int WINDOW = 1 << 20;
  private static final int STREAMS = 200;
  private static final int MESSAGE = 64 * 1024;
  private final StreamService streams = new StreamService();
  private final TestService unary = new TestService();
  private final ExecutorService attackerThread = Executors.newSingleThreadExecutor();
  private LogCapture logs;
  private FerryServer server;
  private FerryChannel healthy;

  @BeforeEach
  void start() throws Exception {
    logs = new LogCapture();
    // One event loop: the attacker and the healthy client share it, so a stalled loop would show.
    server = FerryServer.builder().host("127.0.0.1").port(0).workerThreads(1).streamWindow(WINDOW)
        .maxFrameSize(2 << 20).memoryBudget(8 << 20).addService(streams.definition()).addService(unary.definition()).build().start();
    healthy = FerryChannel.builder("127.0.0.1", server.port()).build();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      attackerThread.shutdownNow();
      if (healthy != null) {
        healthy.close();
      }
      if (server != null) {
        server.shutdownNow();
        assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
      }
      assertThat(logs.linesAt("ERROR")).isEmpty();
      assertThat(logs.text()).doesNotContain("OutOfMemoryError");
    } finally {
      logs.close();
    }
  }

  private static CallFrame hoard(int id) {
    return RawPeer.request(id, StreamService.HOARD.fullName(), Frame.FLAG_CLIENT_STREAM, null);
  }

  @Test
  void streamsWhoseHandlersDoNotReadHoldNoMoreThanTheBudget() throws Exception {
    AtomicLong sent = new AtomicLong();
    Future<?> attack;
    try (RawPeer attacker = new RawPeer(server.port())) {
      attacker.handshake(Settings.builder().streamInitialWindow(WINDOW).build());
      for (int i = 0; i < STREAMS; i++) {
        attacker.send(hoard(2 * i + 1));
      }
      byte[] message = BytesValue.of(ByteString.copyFrom(new byte[MESSAGE])).toByteArray();
      // Sixteen messages per stream spend its 1 MiB of credit (the last takes it below 0, as allowed).
      attack = attackerThread.submit(() -> {
        for (int round = 0; round < 16; round++) {
          ByteArrayOutputStream batch = new ByteArrayOutputStream();
          for (int i = 0; i < STREAMS; i++) {
            batch.writeBytes(RawPeer.encode(
                new Frame(FrameType.STREAM_MESSAGE, 0, 2 * i + 1, 0, Unpooled.wrappedBuffer(message))));
          }
          attacker.writeBytes(batch.toByteArray());
          sent.addAndGet(batch.size());
        }
        return null;
      });
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
          .until(() -> logs.find("WARN", "memory budget exhausted", "reading from") != null);
      assertThat(attack).as("the attacker's writes are held back, not queued: %d bytes sent", sent.get())
          .isNotDone();

      // Small calls and a small stream of another client still go through on the same event loop.
      for (int i = 0; i < 20; i++) {
        byte[] body = new byte[64];
        assertThat(healthy.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFrom(body)),
            CallOptions.builder().timeout(Duration.ofSeconds(10)).build()).getValue().size()).isEqualTo(64);
      }
      ClientStreamingCall<Int32Value, Int64Value> sum = healthy.clientStream(StreamService.SUM,
          CallOptions.builder().timeout(Duration.ofSeconds(10)).build());
      for (int i = 1; i <= 100; i++) {
        sum.write(Int32Value.of(i));
      }
      sum.complete();
      assertThat(sum.awaitResponse().getValue()).isEqualTo(5050);
    }
    // The attacker is gone: its calls are cancelled and their messages given back, so a frame larger
    // than the small-frames allowance (1 MiB) is read again.
    byte[] large = new byte[1 << 20];
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(healthy.blockingCall(TestService.ECHO,
        BytesValue.of(ByteString.copyFrom(large)), CallOptions.builder().timeout(Duration.ofSeconds(5)).build())
        .getValue().size()).isEqualTo(large.length));
    attackerThread.shutdownNow();
    assertThat(attackerThread.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }
}
