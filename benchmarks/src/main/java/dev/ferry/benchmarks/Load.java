package dev.ferry.benchmarks;

import dev.ferry.benchmarks.proto.Payload;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/** The two load shapes: closed loop (a fixed number of calls in flight) and open loop (a fixed rate). */
final class Load {
  private Load() {}

  /**
   * Keeps {@code inFlight} calls outstanding: each completion sends the next. Warms up for
   * {@code warmupNanos}, then measures for {@code measureNanos}. Bounded in time; every call sent is
   * waited for (up to 30 s) before it returns.
   */
  static Measurement closedLoop(BenchSystem system, Payload payload, int inFlight, long warmupNanos,
      long measureNanos) throws InterruptedException {
    Recorder recorder = new Recorder(3);
    AtomicLong completed = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    CountDownLatch drained = new CountDownLatch(inFlight);
    ClosedLoopState state = new ClosedLoopState(system, payload, recorder, completed, errors, drained);
    for (int i = 0; i < inFlight; i++) {
      state.send();
    }
    LockSupport.parkNanos(warmupNanos);
    recorder.reset();
    long cpu0 = ProcessCounters.cpuNanos();
    java.util.Map<Long, Long> alloc0 = ProcessCounters.allocationSnapshot();
    java.util.Map<Long, Long> threads0 = ProcessCounters.threadCpuSnapshot();
    Profiling.resume();
    long calls0 = completed.get();
    long errors0 = errors.get();
    long t0 = System.nanoTime();
    LockSupport.parkNanos(measureNanos);
    long t1 = System.nanoTime();
    long calls1 = completed.get();
    long errors1 = errors.get();
    java.util.Map<Long, Long> threads1 = ProcessCounters.threadCpuSnapshot();
    java.util.Map<Long, Long> alloc1 = ProcessCounters.allocationSnapshot();
    long cpu1 = ProcessCounters.cpuNanos();
    Profiling.pause(calls1 - calls0, (cpu1 - cpu0) / 1e9);
    Histogram h = recorder.getIntervalHistogram();
    state.stop = true;
    if (!drained.await(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(system.name() + ": calls still outstanding 30 s after the load stopped");
    }
    return new Measurement(calls1 - calls0, errors1 - errors0, (t1 - t0) / 1e9, (cpu1 - cpu0) / 1e9,
        ProcessCounters.allocatedBetween(alloc0, alloc1), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
        h.getValueAtPercentile(99.9) / 1e3, ProcessCounters.busiestThreadBetween(threads0, threads1) / 1e9);
  }

  private static final class ClosedLoopState {
    final BenchSystem system;
    final Payload payload;
    final Recorder recorder;
    final AtomicLong completed;
    final AtomicLong errors;
    final CountDownLatch drained;
    volatile boolean stop;

    ClosedLoopState(BenchSystem system, Payload payload, Recorder recorder, AtomicLong completed,
        AtomicLong errors, CountDownLatch drained) {
      this.system = system;
      this.payload = payload;
      this.recorder = recorder;
      this.completed = completed;
      this.errors = errors;
      this.drained = drained;
    }

    void send() {
      long start = System.nanoTime();
      system.call(payload, error -> {
        recorder.recordValue(Math.max(1, System.nanoTime() - start));
        if (error != null) {
          errors.incrementAndGet();
        }
        completed.incrementAndGet();
        if (stop) {
          drained.countDown();
        } else {
          send();
        }
      });
    }
  }

  /**
   * Sends calls at {@code rate} per second from one pacing thread for {@code measureNanos} (after a
   * warm-up at the same rate), and measures each call's latency from its intended send time, so a
   * stall is charged to every call it delayed (no coordinated omission).
   */
  static Measurement openLoop(BenchSystem system, Payload payload, double rate, long warmupNanos,
      long measureNanos) throws InterruptedException {
    Recorder recorder = new Recorder(3);
    AtomicLong completed = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong outstanding = new AtomicLong();
    long interval = (long) (1e9 / rate);
    long start = System.nanoTime();
    long warmupEnd = start + warmupNanos;
    long end = warmupEnd + measureNanos;
    long cpu0 = 0;
    java.util.Map<Long, Long> alloc0 = java.util.Map.of();
    boolean measuring = false;
    long sent = 0;
    for (long intended = start; intended < end; intended += interval) {
      long now;
      while ((now = System.nanoTime()) < intended) {
        long gap = intended - now;
        if (gap > 50_000) {
          LockSupport.parkNanos(gap - 20_000);
        } else {
          Thread.onSpinWait();
        }
      }
      if (!measuring && intended >= warmupEnd) {
        measuring = true;
        recorder.reset();
        completed.set(0);
        errors.set(0);
        cpu0 = ProcessCounters.cpuNanos();
        alloc0 = ProcessCounters.allocationSnapshot();
      }
      long sendTime = intended;
      boolean counted = measuring;
      outstanding.incrementAndGet();
      system.call(payload, error -> {
        if (counted) {
          recorder.recordValue(Math.max(1, System.nanoTime() - sendTime));
          completed.incrementAndGet();
          if (error != null) {
            errors.incrementAndGet();
          }
        }
        outstanding.decrementAndGet();
      });
      sent++;
    }
    long cpu1 = ProcessCounters.cpuNanos();
    java.util.Map<Long, Long> alloc1 = ProcessCounters.allocationSnapshot();
    long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (outstanding.get() > 0 && System.nanoTime() < waitUntil) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    if (outstanding.get() > 0) {
      throw new IllegalStateException(system.name() + ": " + outstanding.get() + " of " + sent
          + " calls still outstanding 30 s after the load stopped");
    }
    Histogram h = recorder.getIntervalHistogram();
    return new Measurement(completed.get(), errors.get(), measureNanos / 1e9, (cpu1 - cpu0) / 1e9,
        ProcessCounters.allocatedBetween(alloc0, alloc1), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
        h.getValueAtPercentile(99.9) / 1e3, 0);
  }
}
