package dev.ferry.benchmarks;

/**
 * What one measured block of one system yielded.
 *
 * @param calls calls completed during the block
 * @param errors calls that failed
 * @param seconds the block's length
 * @param cpuSeconds CPU time of the whole process (client and server) during the block
 * @param allocatedBytes bytes allocated by all threads during the block
 * @param p50Micros median latency
 * @param p99Micros 99th percentile latency
 * @param p999Micros 99.9th percentile latency
 * @param busiestThreadCpuSeconds the CPU time of the thread that used most during the block (closed loop only)
 */
record Measurement(long calls, long errors, double seconds, double cpuSeconds, long allocatedBytes,
    double p50Micros, double p99Micros, double p999Micros, double busiestThreadCpuSeconds) {

  /** Cores used by the whole process on average during the block. */
  double cores() {
    return cpuSeconds / seconds;
  }

  /** How busy the busiest thread was: 1.0 = it ran all the time (it is the bottleneck). */
  double busiestThread() {
    return busiestThreadCpuSeconds / seconds;
  }

  double qps() {
    return calls / seconds;
  }

  double qpsPerCpuSecond() {
    return cpuSeconds <= 0 ? 0 : calls / cpuSeconds;
  }

  double bytesPerCall() {
    return calls == 0 ? 0 : (double) allocatedBytes / calls;
  }
}
