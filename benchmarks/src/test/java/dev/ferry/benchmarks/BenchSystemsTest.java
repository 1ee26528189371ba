package dev.ferry.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.ferry.benchmarks.proto.Payload;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each system the load benchmark drives really echoes, under both load shapes, without errors. */
class BenchSystemsTest {
  @ParameterizedTest
  @EnumSource(BenchSystem.Kind.class)
  void systemEchoesUnderClosedAndOpenLoad(BenchSystem.Kind kind) throws Exception {
    Payload payload = Payload.newBuilder().setData(ByteString.copyFrom(new byte[100])).build();
    try (BenchSystem system = kind.start(new BenchSystem.Config(2, true, false))) {
      Measurement closed = Load.closedLoop(system, payload, 16, TimeUnit.MILLISECONDS.toNanos(100),
          TimeUnit.MILLISECONDS.toNanos(300));
      assertThat(closed.calls()).isGreaterThan(100);
      assertThat(closed.errors()).isZero();
      assertThat(closed.p50Micros()).isPositive();
      Measurement open = Load.openLoop(system, payload, 2_000, TimeUnit.MILLISECONDS.toNanos(100),
          TimeUnit.MILLISECONDS.toNanos(300));
      assertThat(open.calls()).isBetween(300L, 900L);
      assertThat(open.errors()).isZero();
    }
  }
}
