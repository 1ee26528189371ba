package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Where the server runs {@code onCancel} listeners: never on the deadline timer, so one listener that
 * blocks cannot hold up the expiry of every other call on the server.
 */
class CancelListenerTest {
  private static final MethodDescriptor<StringValue, StringValue> WAIT =
      MethodDescriptor.of("ferry.test.Listeners/Wait", StringValue.parser(), StringValue.parser());

  private final CountDownLatch blockingListenerRunning = new CountDownLatch(1);
  private final CountDownLatch releaseBlockingListener = new CountDownLatch(1);
  private final CountDownLatch secondListenerRan = new CountDownLatch(1);
  private final ConcurrentHashMap<String, String> listenerThreads = new ConcurrentHashMap<>();
  private FerryServer server;

  @BeforeEach
  void start() throws Exception {
    // Handlers that never answer; their listeners record their thread, and the "block" one blocks.
    ServiceDefinition service = ServiceDefinition.builder("ferry.test.Listeners")
        .unaryAsync(WAIT, (request, context) -> {
          context.onCancel(() -> {
            listenerThreads.put(request.getValue(), Thread.currentThread().getName());
            if (request.getValue().equals("block")) {
              blockingListenerRunning.countDown();
              try {
                releaseBlockingListener.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            } else {
              secondListenerRan.countDown();
            }
          });
          return new CompletableFuture<>();
        })
        .build();
    server = FerryServer.builder().host("127.0.0.1").addService(service).build().start();
  }

  @AfterEach
  void stop() throws Exception {
    releaseBlockingListener.countDown();
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  @Test
  void aBlockingCancelListenerDoesNotHoldUpOtherDeadlines() throws Exception {
    // A raw client: it sends the deadlines and nothing else (no CANCEL when they pass), so that only the
    // server's own deadline handling can cancel these calls. The deadlines (1 s) leave the handlers time
    // to start and register their listeners on a busy machine.
    try (RawPeer peer = new RawPeer(server.port()).handshake()) {
      peer.send(request(1, "block", 1_000_000));
      assertThat(blockingListenerRunning.await(10, TimeUnit.SECONDS)).as("first call's deadline passed").isTrue();
      assertThat(status(peer.next(), 1)).isEqualTo(StatusCode.DEADLINE_EXCEEDED);

      // The first listener is still blocked; the second call's deadline must still be noticed.
      peer.send(request(3, "second", 1_000_000));
      assertThat(secondListenerRan.await(10, TimeUnit.SECONDS))
          .as("second call's deadline expired on the server while the first listener blocks").isTrue();
      assertThat(status(peer.next(), 3)).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
      assertThat(listenerThreads.values()).hasSize(2)
          .allSatisfy(t -> assertThat(t).startsWith("ferry-cancel-listener"));
    }
  }

  @Test
  void aHandlerWaitingForItsOwnCancellationIsWokenThoughItsExecutorIsFull() throws Exception {
    // One handler thread, busy with a handler that waits for its cancellation: the listener that wakes
    // it must not wait for that thread.
    MethodDescriptor<StringValue, StringValue> waitForCancel =
        MethodDescriptor.of("ferry.test.Listeners/WaitForCancel", StringValue.parser(), StringValue.parser());
    CountDownLatch listening = new CountDownLatch(1);
    CountDownLatch woken = new CountDownLatch(1);
    ServiceDefinition service = ServiceDefinition.builder("ferry.test.Listeners")
        .unary(waitForCancel, (request, context) -> {
          CountDownLatch cancelled = new CountDownLatch(1);
          context.onCancel(cancelled::countDown);
          listening.countDown();
          if (cancelled.await(30, TimeUnit.SECONDS)) {
            woken.countDown();
          }
          return request;
        })
        .build();
    java.util.concurrent.ExecutorService oneThread = java.util.concurrent.Executors.newSingleThreadExecutor();
    FerryServer small = FerryServer.builder().host("127.0.0.1").addService(service).executor(oneThread).build().start();
    try (RawPeer peer = new RawPeer(small.port()).handshake()) {
      byte[] header = RequestHeader.newBuilder().setMethod(waitForCancel.fullName()).build().toByteArray();
      for (int id : new int[] {1, 3}) { // the second waits in the executor's queue behind the first
        peer.send(new Frame(FrameType.REQUEST, 0, id, header.length,
            Unpooled.buffer().writeBytes(header).writeBytes(StringValue.of("x").toByteArray())));
      }
      assertThat(listening.await(10, TimeUnit.SECONDS)).as("the first handler runs").isTrue();
      peer.send(Frame.cancel(1));
      assertThat(woken.await(10, TimeUnit.SECONDS)).as("the first handler woken by its cancellation").isTrue();
      peer.send(Frame.cancel(3));
    } finally {
      small.shutdownNow();
      assertThat(small.awaitTermination(Duration.ofSeconds(10))).isTrue();
      oneThread.shutdown();
      assertThat(oneThread.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  private static Frame request(int id, String value, long timeoutMicros) {
    byte[] header = RequestHeader.newBuilder().setMethod(WAIT.fullName()).setTimeoutMicros(timeoutMicros).build()
        .toByteArray();
    return new Frame(FrameType.REQUEST, 0, id, header.length,
        Unpooled.buffer().writeBytes(header).writeBytes(StringValue.of(value).toByteArray()));
  }

  private static StatusCode status(Frame response, int id) throws Exception {
    try {
      assertThat(response.type()).isEqualTo(FrameType.RESPONSE);
      assertThat(response.requestId()).isEqualTo(id);
      return StatusCode.fromValue(Protobufs.parse(ResponseHeader.parser(), response.callHeader()).getStatus());
    } finally {
      response.release();
    }
  }
}
