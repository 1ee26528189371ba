package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import dev.ferry.StatusCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.wire.ResponseHeader;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServerInternals;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * Hostile and slow clients against a server whose JVM has little direct memory (this class runs in
 * its own surefire execution, with {@code -XX:MaxDirectMemorySize=64m}: see the module's pom), so that
 * the server's memory budget, not luck, is what keeps it up. In each case a healthy client calls the
 * same server throughout, every call must succeed, and nothing may be logged at ERROR (an encoder that
 * runs out of direct memory logs one per call).
 */
@Tag("small-direct-memory")
class ServerMemoryTest {
  private final TestService service = new TestService();
  private final ExecutorService peers = Executors.newCachedThreadPool();
  private final List<AutoCloseable> resources = new ArrayList<>();
  private LogCapture logs;

  @BeforeEach
  void captureLogs() {
    logs = new LogCapture();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      peers.shutdownNow();
      for (int i = resources.size() - 1; i >= 0; i--) {
        resources.get(i).close();
      }
      assertThat(logs.linesAt("ERROR")).isEmpty();
      assertThat(logs.text()).doesNotContain("OutOfMemoryError").doesNotContain("OutOfDirectMemoryError");
    } finally {
      logs.close();
    }
  }

  private FerryServer start(FerryServerBuilder builder) throws IOException {
    FerryServer server = builder.host("127.0.0.1").addService(service.definition()).build().start();
    resources.add(() -> {
      server.shutdownNow();
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    });
    return server;
  }

  private HealthyClient healthy(FerryServer server) {
    HealthyClient client = new HealthyClient(server.port());
    resources.add(() -> {
      client.close();
      assertThat(client.errors()).isEmpty();
    });
    return client;
  }

  @Test
  void aClientThatNeverReadsCannotExhaustTheServersMemory() throws Exception {
    // One event loop: the attacker and the healthy client share it, so a stalled loop would show.
    FerryServer server = start(FerryServer.builder().workerThreads(1)
        .heartbeatInterval(Duration.ofSeconds(1)).heartbeatTimeout(Duration.ofSeconds(3)));
    HealthyClient healthy = healthy(server);
    DirectMemoryPeak peak = new DirectMemoryPeak();
    try (RawPeer attacker = new RawPeer(server.port(), 4096).handshake()) {
      // 100 pipelined calls for 4 MiB each (400 MiB, six times the JVM's direct memory); reads nothing.
      ByteArrayOutputStream requests = new ByteArrayOutputStream();
      for (int id = 1; id <= 100; id++) {
        requests.write(RawPeer.encode(request(id, TestService.SHARED.fullName(),
            Int32Value.of(4 << 20).toByteArray())));
      }
      attacker.writeBytes(requests.toByteArray());
      // Until the server gives up on it as not reading (heartbeat timeout, reads paused).
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> {
        peak.sample();
        return logs.find("WARN", "not reading", ":" + attacker.localPort()) != null;
      });
    }
    healthy.awaitMoreCalls(5);
    System.out.printf("never-reading client: direct memory peak %d MiB; healthy client: %s%n",
        peak.peakBytes >> 20, healthy.latencies());
    assertThat(service.sharedCalls.get()).as("calls that ran").isPositive();
  }

  @Test
  void responsesTheServerHasNoRoomForAreRefusedWithOneLogLine() throws Exception {
    FerryServer server = start(FerryServer.builder().memoryBudget(20 << 20));
    HealthyClient healthy = healthy(server);
    List<RawPeer> stalled = new ArrayList<>();
    try {
      // Two clients that do not read hold a response of 8 MiB each: 16 of the budget's 20 MiB.
      for (int i = 0; i < 2; i++) {
        RawPeer peer = new RawPeer(server.port(), 4096).handshake();
        stalled.add(peer);
        peer.send(request(1, TestService.SHARED.fullName(), Int32Value.of(8 << 20).toByteArray()));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> ServerInternals.memoryInUse(server) >= 16 << 20);
      // A third asks for 8 MiB, 20 times: no room, each refused at once, short and without a stack trace.
      try (RawPeer third = new RawPeer(server.port()).handshake()) {
        for (int id = 101; id <= 120; id++) {
          third.send(request(id, TestService.SHARED.fullName(), Int32Value.of(8 << 20).toByteArray()));
        }
        java.util.Set<Integer> answered = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
          Frame response = third.next();
          assertThat(response).as("the connection stays open").isNotNull();
          assertThat(response.requestId()).isBetween(101, 120);
          answered.add(response.requestId());
          ResponseHeader refused = status(response, response.requestId()); // in any order
          assertThat(refused.getStatus()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED.value());
          assertThat(refused.getMessage()).contains("out of memory").hasSizeLessThan(100);
        }
        assertThat(answered).hasSize(20);
      }
    } finally {
      for (RawPeer p : stalled) {
        p.close();
      }
    }
    healthy.awaitMoreCalls(5);
    List<String> warnings = new ArrayList<>();
    for (String line : logs.linesAt("WARN")) {
      if (line.contains("memory budget exhausted")) {
        warnings.add(line);
      }
    }
    assertThat(warnings).as("20 refusals, aggregated").isNotEmpty().hasSizeLessThan(5);
    assertThat(logs.text()).doesNotContain("\tat ");
  }

  @Test
  void largeFramesFromManyClientsWaitForMemoryInsteadOfExhaustingIt() throws Exception {
    FerryServer server = start(FerryServer.builder());
    HealthyClient healthy = healthy(server);
    // 12 clients send one request of nearly 16 MiB each, at once: 192 MiB, three times the direct memory.
    int size = 16_000_000;
    byte[] frame = RawPeer.encode(request(1, TestService.LENGTH.fullName(),
        BytesValue.of(ByteString.copyFrom(new byte[size])).toByteArray()));
    List<Future<Integer>> answers = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      answers.add(peers.submit(() -> {
        try (RawPeer peer = new RawPeer(server.port()).handshake()) {
          peer.writeBytes(frame);
          Frame response = peer.next();
          try {
            assertThat(response).as("the connection stays open").isNotNull();
            assertThat(response.type()).isEqualTo(FrameType.RESPONSE);
            assertThat(Protobufs.parse(ResponseHeader.parser(), response.callHeader()).getStatus()).isZero();
            return Protobufs.parse(Int32Value.parser(), response.body()).getValue();
          } finally {
            response.release();
          }
        }
      }));
    }
    for (Future<Integer> answer : answers) {
      assertThat(answer.get(60, TimeUnit.SECONDS)).isEqualTo(size);
    }
    healthy.awaitMoreCalls(5);
    System.out.printf("12 clients with 16 MiB frames: healthy client: %s%n", healthy.latencies());
    assertThat(logs.find("WARN", "memory budget exhausted", "paused until there is room")).isNotNull();
  }

  @Test
  void aSlowReaderUnderBackPressureKeepsItsConnection() throws Exception {
    // A frame timeout far shorter than the pauses below: only reading time may count against it.
    FerryServer server = start(FerryServer.builder().frameReadTimeout(Duration.ofMillis(500))
        .writeBufferHighWaterMark(64 * 1024));
    HealthyClient healthy = healthy(server);
    try (RawPeer peer = new RawPeer(server.port(), 16 * 1024).handshake()) {
      for (int round = 0; round < 2; round++) {
        int bigId = 1 + 4 * round;
        int smallId = bigId + 2;
        byte[] small = RawPeer.encode(request(smallId, TestService.LENGTH.fullName(),
            BytesValue.of(ByteString.copyFrom(new byte[250])).toByteArray()));
        // A call for 6 MiB (more than the kernel's socket buffers take, so the rest backs up in the
        // server and it pauses reading), and the first 10 bytes of the next request, half-read when the
        // server pauses.
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        first.write(RawPeer.encode(request(bigId, TestService.SHARED.fullName(), Int32Value.of(6 << 20).toByteArray())));
        first.write(small, 0, 10);
        peer.writeBytes(first.toByteArray());
        long before = peer.bytesRead();
        while (peer.bytesRead() == before || peer.bytesRead() < 100) { // past the server's preface and SETTINGS
          assertThat(peer.readSome()).isTrue();
        }
        // The answer has started. The rest of the request waits in the socket while the server does not
        // read; we read nothing for 1.5 s (a slow client, paced on purpose), then everything.
        peer.writeBytes(java.util.Arrays.copyOfRange(small, 10, small.length));
        pace(1_500);
        for (int id : new int[] {bigId, smallId}) {
          Frame f = peer.next();
          assertThat(f).as("the connection stays open (round %d)", round).isNotNull();
          ResponseHeader header = status(f, id);
          assertThat(header.getStatus()).isEqualTo(StatusCode.OK.value());
        }
      }
    }
    healthy.awaitMoreCalls(5);
    assertThat(logs.find("WARN", "FRAME_TIMEOUT")).isNull();
  }

  /** Waits about {@code millis}: pacing a deliberately slow client, not synchronisation. */
  private static void pace(long millis) throws InterruptedException {
    Thread.sleep(millis);
  }

  private static Frame request(int id, String method, byte[] body) {
    return RawPeer.request(id, method, body);
  }

  /** The header of {@code response} (released), which must be the RESPONSE to {@code id}. */
  private static ResponseHeader status(Frame response, int id) throws IOException {
    try {
      assertThat(response).isNotNull();
      assertThat(response.type()).isEqualTo(FrameType.RESPONSE);
      assertThat(response.requestId()).isEqualTo(id);
      return Protobufs.parse(ResponseHeader.parser(), response.callHeader());
    } finally {
      if (response != null) {
        response.release();
      }
    }
  }

  /** The JVM's direct buffer memory in use, at its highest when sampled. */
  private static final class DirectMemoryPeak {
    private final BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
    private final AtomicLong peakBytes0 = new AtomicLong();
    long peakBytes;

    void sample() {
      peakBytes = peakBytes0.accumulateAndGet(direct.getMemoryUsed(), Math::max);
    }
  }
}
