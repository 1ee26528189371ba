package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.BytesValue;
import com.google.protobuf.ByteString;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.server.FerryServer;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Server-wide limits: a server at its connection limit refuses more with a reason that both its log and
 * the client show; a handler executor that is full refuses calls rather than queue them without bound.
 */
class ServerLimitsTest {
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  private LogCapture logs;
  private FerryServer server;

  @BeforeEach
  void start() throws Exception {
    logs = new LogCapture();
    server = FerryServer.builder().host("127.0.0.1").addService(new TestService().definition())
        .maxConnections(2).build().start();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      server.shutdownNow();
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    } finally {
      logs.close();
    }
  }

  /** The peer's connection is admitted and served: a PING is answered. */
  private static void assertServed(RawPeer peer) throws Exception {
    peer.send(Frame.ping(UnpooledByteBufAllocator.DEFAULT, 42));
    Frame pong = peer.next();
    try {
      assertThat(pong.type()).isEqualTo(FrameType.PONG);
    } finally {
      pong.release();
    }
  }

  @Test
  void connectionsOverTheLimitAreRefusedAndCallersSeeWhy() throws Exception {
    try (RawPeer first = new RawPeer(server.port()).handshake();
        RawPeer second = new RawPeer(server.port()).handshake()) {
      assertServed(first);
      assertServed(second);

      try (RawPeer third = new RawPeer(server.port()).handshake()) {
        List<Frame> frames = third.untilClosed();
        try {
          assertThat(frames).singleElement().satisfies(f -> {
            assertThat(f.type()).isEqualTo(FrameType.ERROR);
            assertThat(f.errorCode()).isEqualTo(ErrorCode.REFUSED);
            assertThat(f.reason()).contains("limit of 2 connections");
          });
        } finally {
          frames.forEach(Frame::release);
        }
        String line = await().atMost(Duration.ofSeconds(10))
            .until(() -> logs.find("WARN", "Refused connection from", ":" + third.localPort()), l -> l != null);
        assertThat(line).contains("maxConnections");
      }

      // A Ferry client is told why (REFUSED), not left to its deadline.
      try (FerryChannel refused = FerryChannel.builder("127.0.0.1", server.port()).build()) {
        assertThatThrownBy(() -> refused.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(), TEN_SECONDS))
            .isInstanceOfSatisfying(FerryException.class, e -> {
              assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
              assertThat(e.description()).contains("REFUSED").contains("limit of 2 connections");
            });
      }
      assertServed(first); // the admitted connections never noticed
    }

    // Closed connections free their places.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      try (FerryChannel later = FerryChannel.builder("127.0.0.1", server.port()).build()) {
        BytesValue reply = later.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFromUtf8("in")),
            TEN_SECONDS);
        assertThat(reply.getValue().toStringUtf8()).isEqualTo("in");
      }
    });
  }

  @Test
  void callsTheHandlerExecutorCannotTakeAreResourceExhausted() throws Exception {
    // One thread and room for one waiting call: the third concurrent call cannot be queued.
    java.util.concurrent.ThreadPoolExecutor executor = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
        TimeUnit.SECONDS, new java.util.concurrent.ArrayBlockingQueue<>(1));
    TestService service = new TestService();
    FerryServer small = FerryServer.builder().host("127.0.0.1").addService(service.definition())
        .executor(executor).build().start();
    try (FerryChannel channel = FerryChannel.builder("127.0.0.1", small.port()).build()) {
      CallOptions options = CallOptions.builder().timeout(Duration.ofSeconds(30)).build();
      java.util.concurrent.CompletableFuture<com.google.protobuf.Int64Value> running =
          channel.call(TestService.SLEEP, com.google.protobuf.Int64Value.of(30_000), options);
      await().atMost(Duration.ofSeconds(10)).until(() -> service.sleeping.get() == 1);
      java.util.concurrent.CompletableFuture<com.google.protobuf.Int64Value> queued =
          channel.call(TestService.SLEEP, com.google.protobuf.Int64Value.of(30_000), options);
      await().atMost(Duration.ofSeconds(10)).until(() -> executor.getQueue().size() == 1);
      assertThatThrownBy(() -> channel.blockingCall(TestService.SLEEP, com.google.protobuf.Int64Value.of(1), options))
          .isInstanceOfSatisfying(FerryException.class, e -> {
            assertThat(e.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED);
            assertThat(e.description()).contains("overloaded");
          });
      assertThat(running).isNotDone();
      assertThat(queued).isNotDone();
      running.cancel(true);
      queued.cancel(true);
    } finally {
      small.shutdownNow();
      assertThat(small.awaitTermination(Duration.ofSeconds(10))).isTrue();
      // Not shutdownNow: a queued call's task holds its request frame, released only when the task runs
      // (it finds the call cancelled and returns). Dropping it leaked that buffer when the machine was
      // busy enough for the task to still be queued here.
      executor.shutdown();
      assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void aClientThatReadsSlowlyIsNotMistakenForOneThatNeverReads() throws Exception {
    // The server pauses reading this client for as long as its responses back up, far longer than the
    // heartbeat timeout; since they keep draining, the client is alive and must not be cut off.
    FerryServer strict = FerryServer.builder().host("127.0.0.1").addService(new TestService().definition())
        .heartbeatInterval(Duration.ofMillis(500)).heartbeatTimeout(Duration.ofMillis(1_500))
        .minClientPingInterval(Duration.ZERO).writeBufferHighWaterMark(64 * 1024).build().start();
    java.util.concurrent.ExecutorService pinger = java.util.concurrent.Executors.newSingleThreadExecutor();
    try (RawPeer peer = new RawPeer(strict.port()).handshake()) {
      // 32 MiB: far more than the kernel's socket buffers take (about 3 MiB on loopback), so that the rest
      // backs up in the server and keeps its reads paused for longer than the heartbeat timeout.
      int calls = 32;
      int size = 1024 * 1024;
      for (int id = 1; id <= calls; id++) {
        peer.send(new Frame(FrameType.REQUEST, 0, id, SIZED_HEADER.length, io.netty.buffer.Unpooled.buffer()
            .writeBytes(SIZED_HEADER).writeBytes(com.google.protobuf.Int32Value.of(size).toByteArray())));
      }
      // Like a live client, it pings now and then; the server only sees those PINGs once it reads again.
      java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
      pinger.submit(() -> {
        for (int i = 0; i < 300 && !done.get(); i++) {
          peer.send(Frame.ping(UnpooledByteBufAllocator.DEFAULT, i));
          Thread.sleep(100);
        }
        return null;
      });
      peer.readSlowly(128 * 1024, 20); // at most about 6 MiB/s: 32 MiB of responses take 5 s or more
      long start = System.nanoTime();
      int answered = 0;
      try {
        while (answered < calls) {
          Frame f = peer.next();
          assertThat(f).as("connection closed after %d of %d responses", answered, calls).isNotNull();
          try {
            assertThat(f.type()).isNotEqualTo(FrameType.ERROR);
            if (f.type() == FrameType.RESPONSE) {
              assertThat(f.body().readableBytes()).isGreaterThan(size);
              answered++;
            }
          } finally {
            f.release();
          }
        }
      } finally {
        done.set(true);
      }
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
          .as("the reads took far longer than the heartbeat timeout").isGreaterThan(3_000);
      assertThat(logs.find("WARN", "not reading")).isNull();
    } finally {
      pinger.shutdownNow();
      strict.shutdownNow();
      assertThat(strict.awaitTermination(Duration.ofSeconds(10))).isTrue();
    }
  }

  private static final byte[] SIZED_HEADER = dev.ferry.internal.wire.RequestHeader.newBuilder()
      .setMethod(TestService.SIZED.fullName()).build().toByteArray();

  @Test
  void maxConnectionsMustBePositive() {
    assertThatThrownBy(() -> FerryServer.builder().maxConnections(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConnections: 0 (expected: > 0)");
  }
}
