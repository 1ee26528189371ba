package dev.ferry.benchmarks;

import java.lang.management.ManagementFactory;

/** Process CPU time and bytes allocated by all live threads, read before and after a measurement. */
final class ProcessCounters {
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  static {
    if (THREADS.isThreadAllocatedMemorySupported()) {
      THREADS.setThreadAllocatedMemoryEnabled(true);
    }
  }

  private ProcessCounters() {}

  /** CPU time of the whole process so far, in nanoseconds. */
  static long cpuNanos() {
    return OS.getProcessCpuTime();
  }

  /** Bytes allocated so far, per live thread id. */
  static java.util.Map<Long, Long> allocationSnapshot() {
    long[] ids = THREADS.getAllThreadIds();
    return byThread(ids, THREADS.getThreadAllocatedBytes(ids));
  }

  /** {@code values[i]} by {@code ids[i]}, leaving out the threads whose value could not be read (-1). */
  private static java.util.Map<Long, Long> byThread(long[] ids, long[] values) {
    java.util.Map<Long, Long> out = new java.util.HashMap<>(ids.length * 2);
    for (int i = 0; i < ids.length; i++) {
      if (values[i] >= 0) {
        out.put(ids[i], values[i]);
      }
    }
    return out;
  }

  /**
   * Bytes allocated between two snapshots by the threads in the later one (a thread born in between
   * counts from zero; one that died in between is missed, so measure while the same threads run).
   */
  static long allocatedBetween(java.util.Map<Long, Long> before, java.util.Map<Long, Long> after) {
    long total = 0;
    for (java.util.Map.Entry<Long, Long> e : after.entrySet()) {
      total += e.getValue() - before.getOrDefault(e.getKey(), 0L);
    }
    return total;
  }

  /** CPU time so far, per live thread id (threads whose time cannot be read are left out). */
  static java.util.Map<Long, Long> threadCpuSnapshot() {
    long[] ids = THREADS.getAllThreadIds();
    return byThread(ids, THREADS.getThreadCpuTime(ids));
  }

  /**
   * The most CPU time one thread used between two snapshots: with one connection, the event loop that
   * limits throughput shows up here near 1 second per second while the process total stays lower.
   */
  static long busiestThreadBetween(java.util.Map<Long, Long> before, java.util.Map<Long, Long> after) {
    long max = 0;
    for (java.util.Map.Entry<Long, Long> e : after.entrySet()) {
      max = Math.max(max, e.getValue() - before.getOrDefault(e.getKey(), 0L));
    }
    return max;
  }

  /** Heap in use after a full collection, in bytes. */
  static long usedHeapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }
}
