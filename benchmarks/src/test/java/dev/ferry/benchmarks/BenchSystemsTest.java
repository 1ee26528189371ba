package dev.ferry.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.ferry.benchmarks.proto.Payload;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each system the load benchmark drives really echoes, under both load shapes, without errors. How
 * many calls a closed loop completes in its window depends on the machine, so only the open loop's
 * count is checked: it sends on schedule however late it runs, and every call it sends must complete.
 */
class BenchSystemsTest {
  @ParameterizedTest
  @EnumSource(BenchSystem.Kind.class)
  void systemEchoesUnderClosedAndOpenLoad(BenchSystem.Kind kind) throws Exception {
    Payload payload = Payload.newBuilder().setData(ByteString.copyFrom(new byte[100])).build();
    try (BenchSystem system = kind.start(new BenchSystem.Config(2, true, false))) {
      Measurement closed = Load.closedLoop(system, payload, 16, TimeUnit.MILLISECONDS.toNanos(100),
          TimeUnit.MILLISECONDS.toNanos(300));
      assertThat(closed.errors()).isZero();
      if (closed.calls() > 0) {
        assertThat(closed.p50Micros()).isPositive();
      }
      // 2,000 calls a second for 300 ms after a 100 ms warm-up: exactly the 600 calls sent in the window.
      Measurement open = Load.openLoop(system, payload, 2_000, TimeUnit.MILLISECONDS.toNanos(100),
          TimeUnit.MILLISECONDS.toNanos(300));
      assertThat(open.calls()).isEqualTo(600);
      assertThat(open.errors()).isZero();
      assertThat(open.p50Micros()).isPositive();
    }
  }
}
