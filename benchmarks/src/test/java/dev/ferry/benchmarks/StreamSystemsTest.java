package dev.ferry.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.ferry.benchmarks.proto.Payload;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each system S8 drives really streams, in both shapes, without errors, and stops when told. How many
 * messages a block counts depends on the machine, so the test only waits (bounded) for some to arrive.
 */
class StreamSystemsTest {
  @ParameterizedTest
  @EnumSource(StreamSystem.Kind.class)
  void systemStreamsInBothShapes(StreamSystem.Kind kind) throws Exception {
    try (StreamSystem system = kind.start()) {
      for (StreamSystem.Mode mode : StreamSystem.Mode.values()) {
        for (int size : new int[] {64, 64 * 1024}) {
          Payload message = Payload.newBuilder().setData(ByteString.copyFrom(new byte[size])).build();
          StreamSystem.Counters counters = new StreamSystem.Counters();
          StreamSystem.Streams streams = system.open(mode, 3, message, counters);
          try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(counters.messages.sum()).as("%s %s %d B", kind, mode, size)
                    .isGreaterThanOrEqualTo(200));
          } finally {
            streams.stop();
          }
          assertThat(counters.errors.sum()).as("%s %s %d B", kind, mode, size).isZero();
        }
      }
    }
  }
}
