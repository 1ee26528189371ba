package dev.ferry.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.ferry.benchmarks.proto.Payload;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** S8's Ferry-only parts: stalled streams beside unary calls, and the cancel probe. */
class FerryStreamsTest {
  private static Payload payload(int size) {
    return Payload.newBuilder().setData(ByteString.copyFrom(new byte[size])).build();
  }

  @Test
  void stalledStreamsFillTheirWindowsAndUnaryCallsStillComplete() throws Exception {
    try (FerryStreams system = FerryStreams.start(FerryStreams.Style.FLOW, 16 * 1024)) {
      // openStalled returns only once the server emitted every window's worth and then nothing more.
      StreamSystem.Streams stalled = system.openStalled(50, payload(1024), 16 * 1024, Duration.ofSeconds(60));
      try {
        Measurement m = Load.closedLoop(system, payload(0), 16, TimeUnit.MILLISECONDS.toNanos(100),
            TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(m.errors()).isZero();
        assertThat(system.unaryRoundTrip(payload(1))).isPositive();
      } finally {
        stalled.stop();
      }
    }
  }

  @Test
  void cancelSampleSeesTheHandlerHearOfTheCancel() throws Exception {
    try (FerryStreams system = FerryStreams.start(FerryStreams.Style.FLOW, 64 * 1024)) {
      for (int i = 0; i < 20; i++) {
        long[] sample = system.cancelSample(payload(1024));
        assertThat(sample[0]).as("to the listener").isPositive();
        assertThat(sample[1]).as("to the publisher's cancel").isPositive();
      }
    }
  }
}
