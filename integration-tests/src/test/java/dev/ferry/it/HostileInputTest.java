package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import com.google.protobuf.StringValue;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Preface;
import dev.ferry.internal.wire.ResponseHeader;
import dev.ferry.server.FerryServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hostile-input battery: one running server, a healthy client calling it throughout, and for each
 * case a raw peer that misbehaves. Each offending connection is closed (or its call rejected) with a
 * reason the server logs and, where the protocol says so, sends in an ERROR frame; the server stays up,
 * its buffers stay bounded, and the healthy client sees no error at all.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputTest {
  private static final Duration FRAME_READ_TIMEOUT = Duration.ofMillis(500);
  private static final int MAX_HEALTHY_CALLS = 50_000;

  private final TestService service = new TestService();
  private final AtomicLong healthyCalls = new AtomicLong();
  private final AtomicLong healthyOk = new AtomicLong();
  private final List<Throwable> healthyErrors = Collections.synchronizedList(new ArrayList<>());
  private final ExecutorService peerThreads = Executors.newCachedThreadPool();
  private LogCapture logs;
  private FerryServer server;
  private FerryChannel healthy;
  private ScheduledExecutorService healthyLoop;
  private volatile boolean stopping;

  /** A misbehaving peer and what the test expects of the server. */
  @FunctionalInterface
  interface Scenario {
    void run() throws Exception;
  }

  @BeforeAll
  void start() throws Exception {
    logs = new LogCapture();
    server = FerryServer.builder().host("127.0.0.1").addService(service.definition())
        .frameReadTimeout(FRAME_READ_TIMEOUT)
        .handshakeTimeout(Duration.ofSeconds(2))
        .heartbeatInterval(Duration.ofSeconds(1))
        .heartbeatTimeout(Duration.ofSeconds(3))
        .maxConcurrentCallsPerConnection(16)
        .writeBufferHighWaterMark(64 * 1024)
        .build().start();
    healthy = FerryChannel.builder("127.0.0.1", server.port()).build();
    healthyLoop = Executors.newSingleThreadScheduledExecutor();
    healthyLoop.scheduleWithFixedDelay(this::healthyCall, 0, 5, TimeUnit.MILLISECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> healthyOk.get() > 0);
  }

  /** One call of the healthy client: a random body echoed back intact, or an error recorded. */
  private void healthyCall() {
    if (stopping || healthyCalls.incrementAndGet() > MAX_HEALTHY_CALLS) {
      return;
    }
    byte[] body = new byte[64];
    new Random().nextBytes(body);
    try {
      BytesValue reply = healthy.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFrom(body)),
          CallOptions.builder().timeout(Duration.ofSeconds(5)).build());
      if (!Arrays.equals(reply.getValue().toByteArray(), body)) {
        healthyErrors.add(new AssertionError("echo came back changed"));
      } else {
        healthyOk.incrementAndGet();
      }
    } catch (Throwable t) {
      healthyErrors.add(t);
    }
  }

  @AfterAll
  void stop() throws Exception {
    try {
      stopping = true;
      healthyLoop.shutdown();
      assertThat(healthyLoop.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      peerThreads.shutdownNow();
      healthy.close();
      server.shutdownNow();
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
      assertThat(healthyErrors).isEmpty();
      assertThat(logs.linesAt("ERROR")).as("nothing in the battery is a bug worth an ERROR log").isEmpty();
    } finally {
      logs.close();
    }
  }

  Stream<Arguments> cases() {
    return Stream.of(
        arguments("random bytes", (Scenario) this::randomBytes),
        arguments("an HTTP/1.1 request", (Scenario) this::httpRequest),
        arguments("a TLS ClientHello", (Scenario) this::tlsClientHello),
        arguments("wrong magic", (Scenario) this::wrongMagic),
        arguments("unsupported version", (Scenario) this::unsupportedVersion),
        arguments("length over the limit", (Scenario) this::lengthOverTheLimit),
        arguments("length shorter than the header", (Scenario) this::lengthShorterThanTheHeader),
        arguments("truncated frame then close", (Scenario) this::truncatedFrameThenClose),
        arguments("truncated frame then silence", (Scenario) this::truncatedFrameThenSilence),
        arguments("unknown frame type", (Scenario) this::unknownFrameType),
        arguments("a REQUEST reusing an in-flight id", (Scenario) this::requestReusingAnInFlightId),
        arguments("a RESPONSE sent by a client", (Scenario) this::responseSentByAClient),
        arguments("metadata over the limit", (Scenario) this::metadataOverTheLimit),
        arguments("a method name with invalid UTF-8", (Scenario) this::methodNameWithInvalidUtf8),
        arguments("a deeply nested protobuf message", (Scenario) this::deeplyNestedMessage),
        arguments("SETTINGS dripped slowly after the preface", (Scenario) this::slowDripDuringTheHandshake),
        arguments("a REQUEST dripped slowly after the handshake", (Scenario) this::slowDrip),
        arguments("a client that sends requests and never reads", (Scenario) this::neverReads))
        // -Dhostile.only=<part of a name> runs just the matching cases.
        .filter(a -> ((String) a.get()[0]).contains(System.getProperty("hostile.only", "")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void hostilePeerLosesOnlyItsOwnConnection(String name, Scenario scenario) throws Exception {
    long okBefore = healthyOk.get();
    scenario.run();
    // The healthy client kept going through the case and still does after it.
    await().atMost(Duration.ofSeconds(10)).until(() -> healthyOk.get() >= okBefore + 5);
    assertThat(healthyErrors).isEmpty();
  }

  // ---- not Ferry at all: closed without a reply, logged at INFO ----

  private void randomBytes() throws Exception {
    byte[] noise = new byte[512];
    new Random(7).nextBytes(noise);
    noise[0] = 0x3c; // anything but the magic's first byte
    notFerry(noise, "first bytes 3c");
  }

  private void httpRequest() throws Exception {
    notFerry("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
        "look like an HTTP request");
  }

  private void tlsClientHello() throws Exception {
    byte[] hello = new byte[200];
    new Random(3).nextBytes(hello);
    byte[] head = {0x16, 0x03, 0x01, 0x00, (byte) 0xc3, 0x01, 0x00, 0x00, (byte) 0xbf, 0x03, 0x03};
    System.arraycopy(head, 0, hello, 0, head.length);
    notFerry(hello, "look like a TLS handshake");
  }

  private void wrongMagic() throws Exception {
    notFerry(new byte[] {(byte) 0xfe, 0x46, 0x52, 0x00, 0x00, 0x01, 0x00, 0x00}, "not the preface magic");
  }

  private void notFerry(byte[] bytes, String logged) throws Exception {
    try (RawPeer peer = new RawPeer(server.port())) {
      peer.writeBytes(bytes);
      assertThat(framesUntilClosed(peer)).as("no frame after the server's own preface and SETTINGS").isEmpty();
      expectLogged("INFO", peer, "not a Ferry peer", logged);
    }
  }

  // ---- broken Ferry: ERROR with a code and reason, then close, logged at WARN ----

  private void unsupportedVersion() throws Exception {
    try (RawPeer peer = new RawPeer(server.port())) {
      peer.writeBytes(Unpooled.buffer().writeInt(Preface.MAGIC).writeShort(2).writeShort(0));
      expectError(peer, ErrorCode.UNSUPPORTED_VERSION, "version 2");
    }
  }

  private void lengthOverTheLimit() throws Exception {
    long before = allocatorUsedBytes();
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      // Claims almost 2 GiB: rejected from the header, before one byte of it is buffered.
      peer.writeBytes(header(0x7FFF_FFF0L, FrameType.REQUEST.code(), 1, 0));
      expectError(peer, ErrorCode.FRAME_TOO_LARGE, "exceeds the maximum frame size 16777216");
    }
    assertThat(allocatorUsedBytes() - before).isLessThan(8L << 20);
  }

  private void lengthShorterThanTheHeader() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      peer.writeBytes(header(8, FrameType.PING.code(), 0, 0));
      expectError(peer, ErrorCode.PROTOCOL_ERROR, "shorter than the 16-byte header");
    }
  }

  private void truncatedFrameThenClose() throws Exception {
    RawPeer peer = new RawPeer(server.port()).handshake();
    byte[] request = RawPeer.encode(request(1, TestService.ECHO.fullName(), new byte[100]));
    peer.writeBytes(Arrays.copyOf(request, 30));
    peer.close();
    // The connection is gone, so nothing can be sent; a fact about the network, logged at DEBUG.
    expectLogged("DEBUG", peer, "connection closed in the middle of a frame (30 bytes of it received)");
  }

  private void truncatedFrameThenSilence() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      byte[] request = RawPeer.encode(request(1, TestService.ECHO.fullName(), new byte[100]));
      long start = System.nanoTime(); // before the first byte, so the server's timer cannot start earlier
      peer.writeBytes(Arrays.copyOf(request, 30));
      expectError(peer, ErrorCode.FRAME_TIMEOUT, "30 of its " + request.length + " bytes received");
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      // Not before the timeout; how much later depends on the machine, so no upper bound.
      assertThat(tookMillis).isGreaterThanOrEqualTo(FRAME_READ_TIMEOUT.toMillis());
    }
  }

  private void unknownFrameType() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      peer.writeBytes(header(16, 0x09, 0, 0));
      expectError(peer, ErrorCode.PROTOCOL_ERROR, "unknown frame type 0x9");
    }
  }

  private void requestReusingAnInFlightId() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      byte[] hang = StringValue.of("in flight").toByteArray();
      peer.send(request(3, TestService.HANG.fullName(), hang));
      peer.send(request(3, TestService.HANG.fullName(), hang));
      expectError(peer, ErrorCode.PROTOCOL_ERROR, "REQUEST id 3 is already in flight");
    }
  }

  private void responseSentByAClient() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      peer.send(new Frame(FrameType.RESPONSE, 0, 1, 0, Unpooled.EMPTY_BUFFER));
      expectError(peer, ErrorCode.PROTOCOL_ERROR, "RESPONSE frame sent by a client");
    }
  }

  private void metadataOverTheLimit() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      // Only the header: the server rejects the frame from it without waiting for the 70 KB it announces.
      peer.writeBytes(header(16 + 70_000, FrameType.REQUEST.code(), 1, 70_000));
      expectError(peer, ErrorCode.PROTOCOL_ERROR, "exceeds the maximum metadata size 65536");
    }
  }

  private void methodNameWithInvalidUtf8() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      byte[] header = {0x0a, 0x03, (byte) 0xc3, 0x28, (byte) 0xff}; // field 1, 3 bytes that are not UTF-8
      peer.send(new Frame(FrameType.REQUEST, 0, 1, header.length, Unpooled.wrappedBuffer(header)));
      expectError(peer, ErrorCode.PROTOCOL_ERROR, "not valid UTF-8");
    }
  }

  // ---- a bad call, not a bad connection: the call is rejected, the connection carries on ----

  private void deeplyNestedMessage() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      // 20,000 nested groups (field 2, unknown to BytesValue): a stack overflow for a naive parser.
      int depth = 20_000;
      byte[] body = new byte[2 * depth];
      Arrays.fill(body, 0, depth, (byte) (2 << 3 | 3));
      Arrays.fill(body, depth, 2 * depth, (byte) (2 << 3 | 4));
      peer.send(request(1, TestService.ECHO.fullName(), body));
      ResponseHeader rejected = response(peer, 1);
      assertThat(rejected.getStatus()).isEqualTo(StatusCode.INVALID_ARGUMENT.value());
      assertThat(rejected.getMessage()).contains("could not parse the request").contains("nesting");
      expectLogged("DEBUG", peer, "could not parse the request", "nesting");
      // The same connection still serves a good call.
      peer.send(request(2, TestService.ECHO.fullName(), BytesValue.of(ByteString.copyFromUtf8("ok")).toByteArray()));
      assertThat(response(peer, 2).getStatus()).isEqualTo(StatusCode.OK.value());
    }
  }

  // ---- peers that are slow on purpose ----

  private void slowDrip() throws Exception {
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      drip(peer, RawPeer.encode(request(1, TestService.ECHO.fullName(), new byte[100])));
    }
  }

  private void slowDripDuringTheHandshake() throws Exception {
    try (RawPeer peer = new RawPeer(server.port())) {
      peer.writeBytes(Preface.encode(UnpooledByteBufAllocator.DEFAULT));
      // The frame timer (500 ms) ends it before the handshake timeout (2 s) would.
      drip(peer, RawPeer.encode(Frame.settings(UnpooledByteBufAllocator.DEFAULT, dev.ferry.internal.Settings.DEFAULTS)));
    }
  }

  /** Sends {@code frame} a byte at a time and expects ERROR(FRAME_TIMEOUT) before it is done. */
  private void drip(RawPeer peer, byte[] frame) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    // A byte every 100 ms: the server always hears something, so only the frame timer can end it.
    Future<?> dripper = peerThreads.submit(() -> {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      for (int i = 0; i < frame.length && !stop.get() && System.nanoTime() < deadline; i++) {
        peer.writeBytes(new byte[] {frame[i]});
        stop.compareAndSet(false, awaitQuietly(100));
      }
      return null;
    });
    try {
      expectError(peer, ErrorCode.FRAME_TIMEOUT, "frame read timeout 500 ms");
    } finally {
      stop.set(true);
    }
    try {
      dripper.get(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(IOException.class); // the server closed under its feet
    }
  }

  /** Waits about {@code millis} (pacing a deliberately slow writer, not synchronisation); true if interrupted. */
  private static boolean awaitQuietly(long millis) {
    try {
      Thread.sleep(millis);
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    }
  }

  private void neverReads() throws Exception {
    long before = allocatorUsedBytes();
    // A 4 KiB receive window, and the peer never reads. It asks for 1,000 responses of 128 KiB (125 MiB),
    // a few at a time, so that each batch is within the concurrency limit and gets answered: without
    // back-pressure the server would read them all and queue every response.
    try (RawPeer peer = new RawPeer(server.port(), 4096).handshake()) {
      Future<?> writer = peerThreads.submit(() -> {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        for (int id = 1; id <= 1_000 && System.nanoTime() < deadline; id += 4) {
          ByteArrayOutputStream batch = new ByteArrayOutputStream();
          for (int i = id; i < id + 4; i++) {
            batch.write(RawPeer.encode(request(i, TestService.SIZED.fullName(),
                Int32Value.of(128 * 1024).toByteArray())));
          }
          peer.writeBytes(batch.toByteArray());
          if (awaitQuietly(10)) {
            break;
          }
        }
        return null;
      });
      AtomicLong peak = new AtomicLong();
      // A CANCEL for a call that does not exist is ignored by a server that reads it; it only probes
      // whether the connection is still there.
      byte[] probe = RawPeer.encode(new Frame(FrameType.CANCEL, 0, 999_999, 0, Unpooled.EMPTY_BUFFER));
      long start = System.nanoTime();
      // Until the server gives up on it: our writes then fail (it closed with our bytes unread).
      await().atMost(Duration.ofSeconds(25)).pollInterval(Duration.ofMillis(50)).until(() -> {
        peak.accumulateAndGet(allocatorUsedBytes() - before, Math::max);
        if (!writer.isDone()) {
          return false;
        }
        try {
          peer.writeBytes(probe);
          return false;
        } catch (IOException closed) {
          return true;
        }
      });
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      System.out.printf("never-reading client: allocator use grew by at most %d KiB; closed after %d ms%n",
          peak.get() >> 10, tookMillis);
      assertThat(peak.get()).as("server memory while a client reads nothing").isLessThan(32L << 20);
      // Closed by the heartbeat timeout, or (on epoll) the TCP user timeout set to the same value, whichever
      // fires first: either way the log says the client is not reading. (How long that took depends on the
      // machine; it is printed above, not asserted.)
      expectLogged("WARN", peer, "not reading");
    }
  }

  // ---- helpers ----

  private static long allocatorUsedBytes() {
    ByteBufAllocatorMetric m = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
    return m.usedDirectMemory() + m.usedHeapMemory();
  }

  /** A 16-byte frame header with these fields, as bytes. */
  private static ByteBuf header(long length, int type, int requestId, int metaLength) {
    return Unpooled.buffer(16).writeInt((int) length).writeByte(type).writeByte(0).writeShort(0)
        .writeInt(requestId).writeInt(metaLength);
  }

  private static Frame request(int id, String method, byte[] body) {
    return RawPeer.request(id, method, body);
  }

  /** Frames the server sent until it closed, without its heartbeat PINGs. */
  private static List<Frame> framesUntilClosed(RawPeer peer) throws IOException {
    List<Frame> frames = new ArrayList<>();
    for (Frame f : peer.untilClosed()) {
      if (f.type() == FrameType.PING) {
        f.release();
      } else {
        frames.add(f);
      }
    }
    return frames;
  }

  /** The server sends exactly ERROR(code, reason containing {@code reasonPart}), closes, and logs it at WARN. */
  private void expectError(RawPeer peer, ErrorCode code, String reasonPart) throws IOException {
    List<Frame> frames = framesUntilClosed(peer);
    try {
      assertThat(frames).singleElement().satisfies(f -> {
        assertThat(f.type()).isEqualTo(FrameType.ERROR);
        assertThat(f.errorCode()).isEqualTo(code);
        assertThat(f.reason()).contains(reasonPart);
      });
    } finally {
      frames.forEach(Frame::release);
    }
    expectLogged("WARN", peer, reasonPart, "(" + code + ")");
  }

  /** The next RESPONSE's header; it must be for {@code id}. */
  private static ResponseHeader response(RawPeer peer, int id) throws IOException {
    return peer.response(id);
  }

  /**
   * The server logged a line at {@code level} about this peer's connection containing every part; or at
   * DEBUG, which is where such a line goes when another of its kind came less than a second before (the
   * lines a peer can cause are aggregated, see LogFloodTest).
   */
  private void expectLogged(String level, RawPeer peer, String... parts) {
    String[] all = Arrays.copyOf(parts, parts.length + 1);
    all[parts.length] = ":" + peer.localPort();
    await().atMost(Duration.ofSeconds(10))
        .until(() -> logs.find(level, all) != null || logs.find("DEBUG", all) != null);
  }
}
