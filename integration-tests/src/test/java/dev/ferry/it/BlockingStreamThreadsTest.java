package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import dev.ferry.StreamReader;
import dev.ferry.client.BidiStreamingCall;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Blocking streaming handlers hold a thread for their stream's life, so they run on the server's
 * blocking-stream executor, not the handler executor: streams that stall cannot take the threads unary
 * calls need, and a blocking stream works on a server in direct mode too (on an event loop it would
 * wait for frames only that event loop can read).
 */
class BlockingStreamThreadsTest {
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();
  private final StreamService service = new StreamService();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private FerryChannel start(FerryServerBuilder builder) throws Exception {
    FerryServer server = builder.host("127.0.0.1").port(0).addService(service.definition()).build().start();
    resources.add(() -> {
      server.shutdownNow();
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    });
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).build();
    resources.add(channel::close);
    return channel;
  }

  @Test
  void stalledBlockingStreamsDoNotTakeTheThreadsOfUnaryCalls() throws Exception {
    FerryChannel channel = start(FerryServer.builder());
    // Three times the default handler pool (max(8, 2 x cores) threads), all blocked at once.
    int streams = 3 * Math.max(8, 2 * Runtime.getRuntime().availableProcessors());
    List<StreamReader<Int32Value>> quiet = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      quiet.add(channel.serverStream(StreamService.QUIET, Int32Value.of(0), TEN_SECONDS));
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> service.contexts.size() == streams);
    assertThat(channel.blockingCall(StreamService.SQUARE, Int32Value.of(12), TEN_SECONDS).getValue()).isEqualTo(144);
    quiet.forEach(StreamReader::close);
    await().atMost(Duration.ofSeconds(20)).until(() -> service.handlerEnds.size() == streams);
  }

  @Test
  void aBlockingBidiStreamWorksOnAServerInDirectMode() throws Exception {
    FerryChannel channel = start(FerryServer.builder().directExecutor());
    try (BidiStreamingCall<BytesValue, BytesValue> echo = channel.bidiStream(StreamService.ECHO, TEN_SECONDS)) {
      StreamService.echoBack(echo, 20);
    }
  }

  @Test
  void blockingStreamsRunOnTheExecutorGivenForThem() throws Exception {
    AtomicInteger ran = new AtomicInteger();
    ExecutorService mine = Executors.newCachedThreadPool(r -> new Thread(r, "my-stream-thread"));
    resources.add(mine::shutdownNow);
    FerryChannel channel = start(FerryServer.builder().blockingStreamExecutor(task -> {
      ran.incrementAndGet();
      mine.execute(task);
    }));
    try (BidiStreamingCall<BytesValue, BytesValue> echo = channel.bidiStream(StreamService.ECHO, TEN_SECONDS)) {
      echo.requests().write(BytesValue.of(ByteString.copyFromUtf8("x")));
      assertThat(echo.responses().next().getValue().toStringUtf8()).isEqualTo("x");
      echo.requests().complete();
      assertThat(echo.responses().hasNext()).isFalse();
    }
    assertThat(ran).hasValue(1);
    // A Flow-style stream and a unary call stay on the handler executor.
    assertThat(channel.blockingCall(StreamService.SQUARE, Int32Value.of(3), TEN_SECONDS).getValue()).isEqualTo(9);
    int counted = 0;
    try (StreamReader<Int32Value> count = channel.serverStream(StreamService.COUNT_ASYNC, Int32Value.of(5),
        TEN_SECONDS)) {
      while (count.hasNext()) {
        assertThat(count.next().getValue()).isEqualTo(counted++);
      }
    }
    assertThat(counted).isEqualTo(5);
    assertThat(ran).hasValue(1);
  }
}
