package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import dev.ferry.StreamReader;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.internal.Frame;
import dev.ferry.internal.Settings;
import dev.ferry.server.FerryServer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A long server stream through a JVM with little memory (the {@code small-heap} execution: 128 MiB of
 * heap, 64 MiB of direct memory, client and server together): the "10 GiB at 1 MiB/s" case,
 * scaled down. The producer can never be more than one window (plus one message) ahead of what the
 * reader took, checked at every message, and the JVM's limits make any unbounded buffering fail the
 * run; the leak detector (paranoid) checks every buffer.
 */
@Tag("small-heap")
class StreamMemoryTest {
  private static final int MESSAGE = 64 * 1024;
  private static final int WINDOW = 1024 * 1024;
  private StreamService service;
  private FerryServer server;
  private FerryChannel channel;

  @BeforeEach
  void start() throws Exception {
    service = new StreamService();
    server = FerryServer.builder().host("127.0.0.1").port(0).streamWindow(WINDOW).addService(service.definition())
        .build().start();
    channel = FerryChannel.builder("127.0.0.1", server.port()).streamWindow(WINDOW).build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.close();
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  @Test
  void aQuarterGibibyteStreamHoldsTheServerToOneWindowPlusOneMessage() {
    int cost = 16 + BytesValue.of(ByteString.copyFrom(new byte[MESSAGE])).getSerializedSize();
    long bound = (WINDOW + cost - 1) / cost + 1;
    int messages = 4096; // 256 MiB
    try (StreamReader<BytesValue> flood = channel.serverStream(StreamService.FLOOD, Int32Value.of(MESSAGE),
        CallOptions.builder().timeout(Duration.ofSeconds(120)).build())) {
      for (int read = 0; read < messages; read++) {
        long ahead = service.produced.get() - read;
        if (ahead > bound) {
          throw new AssertionError("the server is " + ahead + " messages ahead of the reader after " + read
              + " (expected: at most " + bound + ")");
        }
        assertThat(flood.next().getValue().size()).isEqualTo(MESSAGE);
      }
    }
  }

  /**
   * A client that grants a huge window (2^31-1 bytes) and then reads nothing cannot make the server
   * buffer that window: the server's writer waits once the connection's write buffer passes its
   * high-water mark, as it waits for credit. Without that, the producer runs until this JVM's 64 MiB of
   * direct memory are gone.
   */
  @Test
  void aHugeWindowThatIsNotReadIsNotBufferedByTheServer() throws Exception {
    try (RawPeer peer = new RawPeer(server.port(), 4096)) {
      peer.handshake(Settings.builder().streamInitialWindow(Integer.MAX_VALUE).build());
      peer.send(RawPeer.request(1, StreamService.FLOOD.fullName(), Frame.FLAG_SERVER_STREAM, Int32Value.of(MESSAGE)));
      AtomicLong last = new AtomicLong(-1);
      // Until production has stopped: two looks 200 ms apart see the same count.
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
          .until(() -> {
            long produced = service.produced.get();
            return produced > 0 && produced == last.getAndSet(produced);
          });
      System.out.printf("huge window, nothing read: the server produced %d messages of %d bytes, then waited%n",
          service.produced.get(), MESSAGE);
      assertThat(service.produced.get() * MESSAGE)
          .as("bytes the server produced for a client that reads nothing (its write buffer's high-water mark "
              + "is 256 KiB; the rest is socket buffers)")
          .isLessThan(16L << 20);
    }
  }
}
