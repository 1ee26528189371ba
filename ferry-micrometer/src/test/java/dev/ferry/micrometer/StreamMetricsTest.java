package dev.ferry.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import dev.ferry.MethodDescriptor;
import dev.ferry.StreamReader;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientStreamingCall;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Streaming calls in the meters: one call per stream, and flow-control stalls (a reader that stops
 * reading stalls its writer) counted, timed and gauged on both sides.
 */
class StreamMetricsTest {
  private static final String SERVICE = "ferry.test.Streams";
  /** Answers {@code n} messages of 1,000 bytes. */
  private static final MethodDescriptor<Int32Value, BytesValue> DOWNLOAD = MethodDescriptor.of(SERVICE + "/Download",
      MethodDescriptor.Type.SERVER_STREAMING, Int32Value.parser(), BytesValue.parser());
  /** Reads every message once {@link #startReading} opens, and answers how many there were. */
  private static final MethodDescriptor<BytesValue, Int32Value> UPLOAD = MethodDescriptor.of(SERVICE + "/Upload",
      MethodDescriptor.Type.CLIENT_STREAMING, BytesValue.parser(), Int32Value.parser());
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();
  private static final int WINDOW = 2048;
  private static final int MESSAGES = 20;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final FerryMetrics metrics = FerryMetrics.create(registry);
  private final CountDownLatch startReading = new CountDownLatch(1);
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    startReading.countDown();
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private static BytesValue kilobyte() {
    return BytesValue.of(ByteString.copyFrom(new byte[1000]));
  }

  private FerryChannel serverAndChannel() throws Exception {
    ServiceDefinition streams = ServiceDefinition.builder(SERVICE)
        .serverStreaming(DOWNLOAD, (request, responses, ctx) -> {
          for (int i = 0; i < request.getValue(); i++) {
            responses.write(kilobyte()); // waits while the client has not read enough
          }
        })
        .clientStreaming(UPLOAD, (requests, ctx) -> {
          startReading.await();
          int n = 0;
          while (requests.hasNext()) {
            requests.next();
            n++;
          }
          return Int32Value.of(n);
        })
        .build();
    FerryServer server = FerryServer.builder().host("127.0.0.1").port(0).addService(streams).streamWindow(WINDOW)
        .addListener(metrics.serverListener()).build().start();
    resources.add(server::shutdownNow);
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).streamWindow(WINDOW)
        .addListener(metrics.channelListener()).build();
    resources.add(channel);
    return channel;
  }

  private static String[] tags(String method) {
    return new String[] {FerryMetrics.RPC_SYSTEM, "ferry", FerryMetrics.RPC_SERVICE, SERVICE,
        FerryMetrics.RPC_METHOD, method};
  }

  @Test
  void aResponseStreamWhoseClientStopsReadingIsStalled() throws Exception {
    FerryChannel channel = serverAndChannel();
    assertThat(registry.find(FerryMetrics.SERVER_STREAM_STALLS).meters()).as("registered with the first stall")
        .isEmpty();
    try (StreamReader<BytesValue> download = channel.serverStream(DOWNLOAD, Int32Value.of(MESSAGES), TEN_SECONDS)) {
      // Nothing read: the handler fills the client's window, then waits in write.
      await().atMost(Duration.ofSeconds(10)).until(() ->
          registry.find(FerryMetrics.SERVER_STREAMS_STALLED).gauge() != null
              && registry.get(FerryMetrics.SERVER_STREAMS_STALLED).gauge().value() == 1);
      Counter stalls = registry.get(FerryMetrics.SERVER_STREAM_STALLS).tags(tags("Download")).counter();
      assertThat(stalls.count()).isEqualTo(1);
      Gauge stalled = registry.get(FerryMetrics.SERVER_STREAMS_STALLED).tags(tags("Download")).gauge();
      Timer durations = registry.get(FerryMetrics.SERVER_STREAM_STALL_DURATION).tags(tags("Download")).timer();
      assertThat(durations.count()).as("recorded when the stall ends").isZero();
      assertThat(durations.getId().getBaseUnit()).isEqualTo("seconds");
      assertThat(stalls.getId().getTags()).containsExactlyInAnyOrder(Tag.of(FerryMetrics.RPC_SYSTEM, "ferry"),
          Tag.of(FerryMetrics.RPC_SERVICE, SERVICE), Tag.of(FerryMetrics.RPC_METHOD, "Download"));

      int read = 0;
      while (download.hasNext()) {
        download.next();
        read++;
      }
      assertThat(read).isEqualTo(MESSAGES);
      await().atMost(Duration.ofSeconds(10)).until(() -> durations.count() == (long) stalls.count());
      assertThat(stalled.value()).isZero();
      assertThat(durations.totalTime(TimeUnit.NANOSECONDS)).isPositive();
    }
    // The client wrote no stream: it never stalled.
    assertThat(registry.find(FerryMetrics.CLIENT_STREAM_STALLS).meters()).isEmpty();

    // One call per stream, on each side, whatever the number of messages.
    await().atMost(Duration.ofSeconds(10)).until(() -> registry.find(FerryMetrics.SERVER_CALL_DURATION)
        .tag(FerryMetrics.RPC_METHOD, "Download").functionTimer() != null);
    assertThat(registry.get(FerryMetrics.SERVER_CALL_DURATION).tags(tags("Download"))
        .tag(FerryMetrics.STATUS_CODE, "OK").functionTimer().count()).isEqualTo(1);
    assertThat(registry.get(FerryMetrics.SERVER_CALLS_STARTED).tags(tags("Download")).functionCounter().count())
        .isEqualTo(1);
    assertThat(registry.get(FerryMetrics.CLIENT_CALL_DURATION).tags(tags("Download"))
        .tag(FerryMetrics.STATUS_CODE, "OK").functionTimer().count()).isEqualTo(1);
  }

  @Test
  void aRequestStreamWhoseServerStopsReadingIsStalled() throws Exception {
    FerryChannel channel = serverAndChannel();
    ClientStreamingCall<BytesValue, Int32Value> upload = channel.clientStream(UPLOAD, TEN_SECONDS);
    CompletableFuture<Integer> uploaded = CompletableFuture.supplyAsync(() -> {
      for (int i = 0; i < MESSAGES; i++) {
        upload.write(kilobyte()); // waits while the server's handler does not read
      }
      return upload.awaitResponse().getValue();
    });
    await().atMost(Duration.ofSeconds(10)).until(() ->
        registry.find(FerryMetrics.CLIENT_STREAMS_STALLED).gauge() != null
            && registry.get(FerryMetrics.CLIENT_STREAMS_STALLED).gauge().value() == 1);
    Counter stalls = registry.get(FerryMetrics.CLIENT_STREAM_STALLS).tags(tags("Upload")).counter();
    assertThat(stalls.count()).isEqualTo(1);
    assertThat(stalls.getId().getTag(FerryMetrics.SERVER_ADDRESS)).isEqualTo("127.0.0.1");
    assertThat(stalls.getId().getTag(FerryMetrics.SERVER_PORT)).isNotNull();
    Timer durations = registry.get(FerryMetrics.CLIENT_STREAM_STALL_DURATION).tags(tags("Upload")).timer();
    assertThat(durations.count()).isZero();

    startReading.countDown();
    assertThat(uploaded.get(10, TimeUnit.SECONDS)).isEqualTo(MESSAGES);
    await().atMost(Duration.ofSeconds(10)).until(() -> durations.count() == (long) stalls.count());
    assertThat(registry.get(FerryMetrics.CLIENT_STREAMS_STALLED).tags(tags("Upload")).gauge().value()).isZero();
    assertThat(registry.find(FerryMetrics.SERVER_STREAM_STALLS).meters()).as("the server wrote no stream")
        .isEmpty();
    assertThat(registry.get(FerryMetrics.CLIENT_CALL_DURATION).tags(tags("Upload"))
        .tag(FerryMetrics.STATUS_CODE, "OK").functionTimer().count()).isEqualTo(1);
  }
}
