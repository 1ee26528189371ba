package dev.ferry.benchmarks;

import dev.ferry.benchmarks.proto.Payload;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * S8's load shape: streams that run as fast as flow control allows, measured over a window. Runs on
 * the calling thread.
 */
final class StreamLoad {
  private StreamLoad() {}

  /**
   * Opens {@code streams} streams of {@code mode} carrying {@code message}, lets them run for
   * {@code warmupNanos}, counts the messages the client receives during {@code measureNanos}, then stops
   * them. The result's {@code calls} are messages received; its latencies are 0 (not measured).
   */
  static Measurement run(StreamSystem system, StreamSystem.Mode mode, int streams, Payload message,
      long warmupNanos, long measureNanos) throws Exception {
    StreamSystem.Counters counters = new StreamSystem.Counters();
    StreamSystem.Streams opened = system.open(mode, streams, message, counters);
    try {
      LockSupport.parkNanos(warmupNanos);
      long cpu0 = ProcessCounters.cpuNanos();
      Map<Long, Long> alloc0 = ProcessCounters.allocationSnapshot();
      Map<Long, Long> threads0 = ProcessCounters.threadCpuSnapshot();
      Profiling.resume();
      long messages0 = counters.messages.sum();
      long errors0 = counters.errors.sum();
      long t0 = System.nanoTime();
      LockSupport.parkNanos(measureNanos);
      long t1 = System.nanoTime();
      long messages1 = counters.messages.sum();
      long errors1 = counters.errors.sum();
      Map<Long, Long> threads1 = ProcessCounters.threadCpuSnapshot();
      Map<Long, Long> alloc1 = ProcessCounters.allocationSnapshot();
      long cpu1 = ProcessCounters.cpuNanos();
      Profiling.pause(messages1 - messages0, (cpu1 - cpu0) / 1e9);
      return new Measurement(messages1 - messages0, errors1 - errors0, (t1 - t0) / 1e9, (cpu1 - cpu0) / 1e9,
          ProcessCounters.allocatedBetween(alloc0, alloc1), 0, 0, 0,
          ProcessCounters.busiestThreadBetween(threads0, threads1) / 1e9);
    } finally {
      opened.stop();
    }
  }
}
