package dev.ferry.client;

import dev.ferry.StatusCode;

/**
 * What the balancer knows of one server from the calls it sent there: a latency estimate (peak EWMA),
 * its failures in a row and over the current interval, and where it stands with outlier ejection.
 *
 * <p><b>Peak EWMA</b> (as Finagle's and Linkerd's balancers): a call slower than the estimate raises it
 * to that call's latency at once; a faster one pulls it down by a weight that grows with the time since
 * the last sample ({@code 1 - exp(-elapsed / DECAY)}). Read without new samples, the estimate decays
 * towards zero with the same time constant, so that a server nobody has called for a while (it was
 * slow, or new) is tried again instead of being avoided for good. A new server starts at a value the
 * balancer gives (its peers' median), not at zero, which would send it every call until its first
 * answers came back.
 *
 * <p>Threads: any. Each method takes this object's lock briefly; completions of one server's calls come
 * from its connections' event loops.
 */
final class EndpointStats {
  /** The time constant of the latency estimate's decay. */
  static final long DECAY_NANOS = 250_000_000L;

  /** Where a server stands with outlier ejection. Changed under the balancer's lock (read anywhere). */
  enum Ejection {
    /** Gets calls. */
    ACTIVE,
    /** Gets no calls until its ejection time is over. */
    EJECTED,
    /** Its ejection time is over: the next call may go to it, as a probe. */
    PROBE_READY,
    /** A probe is on its way: its outcome decides. */
    PROBING
  }

  /** What the balancer must do after a call's outcome was recorded. */
  enum Verdict { NONE, EJECT, PROBE_SUCCEEDED, PROBE_FAILED }

  private final int consecutiveFailureLimit;
  private double estimateNanos; // guarded by this
  private long stampNanos; // guarded by this
  private int failuresInARow; // guarded by this
  private int intervalCalls; // guarded by this
  private int intervalFailures; // guarded by this

  private volatile Ejection ejection = Ejection.ACTIVE;
  /** Times this server was ejected, less one per interval it spent without failing; guarded by the balancer. */
  int ejections;

  /**
   * @param consecutiveFailureLimit failures in a row that call for an ejection (0: never)
   * @param initialEstimateNanos the latency estimate before any sample
   */
  EndpointStats(int consecutiveFailureLimit, double initialEstimateNanos, long nowNanos) {
    this.consecutiveFailureLimit = consecutiveFailureLimit;
    this.estimateNanos = initialEstimateNanos;
    this.stampNanos = nowNanos;
  }

  /** The latency estimate now, in nanoseconds. */
  synchronized double latency(long nowNanos) {
    long elapsed = nowNanos - stampNanos;
    return elapsed <= 0 ? estimateNanos : estimateNanos * Math.exp(-(double) elapsed / DECAY_NANOS);
  }

  /**
   * Whether a call that completed with {@code status} counts against the server: it was unreachable or
   * lost the call ({@code UNAVAILABLE}, from the server or the transport), or its response could not be
   * read ({@code INTERNAL} raised here, not sent by the server's application).
   */
  static boolean isFailure(StatusCode status, boolean statusFromServer) {
    return status == StatusCode.UNAVAILABLE || status == StatusCode.INTERNAL && !statusFromServer;
  }

  /**
   * Records one call's outcome: its latency {@code rttNanos} and, unless {@code status} is
   * {@code CANCELLED} (which says nothing about the server), whether it failed.
   */
  Verdict record(long nowNanos, long rttNanos, StatusCode status, boolean statusFromServer) {
    if (status == StatusCode.CANCELLED) {
      unclaimProbe(); // a cancelled probe says nothing: the next call probes instead
      return Verdict.NONE;
    }
    boolean failed = isFailure(status, statusFromServer);
    boolean limitReached;
    synchronized (this) {
      observe(nowNanos, Math.max(0, rttNanos));
      if (status == StatusCode.DEADLINE_EXCEEDED) {
        // Its latency counts (above), but the deadline may be the caller's: no verdict on the server.
        return ejection == Ejection.PROBING ? Verdict.PROBE_FAILED : Verdict.NONE;
      }
      intervalCalls++;
      if (failed) {
        intervalFailures++;
        failuresInARow++;
      } else {
        failuresInARow = 0;
      }
      limitReached = failed && failuresInARow == consecutiveFailureLimit;
    }
    Ejection e = ejection;
    if (e == Ejection.PROBING) {
      return failed ? Verdict.PROBE_FAILED : Verdict.PROBE_SUCCEEDED;
    }
    return limitReached && e == Ejection.ACTIVE ? Verdict.EJECT : Verdict.NONE;
  }

  private void observe(long nowNanos, double rtt) {
    long elapsed = Math.max(0, nowNanos - stampNanos);
    double w = Math.exp(-(double) elapsed / DECAY_NANOS);
    estimateNanos = rtt > estimateNanos ? rtt : estimateNanos * w + rtt * (1 - w);
    stampNanos = Math.max(stampNanos, nowNanos);
  }

  /** Failures in a row so far. */
  synchronized int failuresInARow() {
    return failuresInARow;
  }

  /**
   * The success rate over the interval that ends now, or -1 if it had fewer than {@code minCalls}
   * calls; starts the next interval.
   */
  synchronized double takeSuccessRate(int minCalls) {
    int calls = intervalCalls;
    int failures = intervalFailures;
    intervalCalls = 0;
    intervalFailures = 0;
    return calls < minCalls ? -1 : (calls - failures) / (double) calls;
  }

  /** Where the server stands with outlier ejection. */
  Ejection ejection() {
    return ejection;
  }

  /** Balancer's lock. */
  void ejection(Ejection e) {
    ejection = e;
  }

  /** Claims the probe: true for the one caller that moves PROBE_READY to PROBING. */
  synchronized boolean claimProbe() {
    if (ejection != Ejection.PROBE_READY) {
      return false;
    }
    ejection = Ejection.PROBING;
    return true;
  }

  /** A claimed probe could not be sent (no room on the server's connections): another call may try. */
  synchronized void unclaimProbe() {
    if (ejection == Ejection.PROBING) {
      ejection = Ejection.PROBE_READY;
    }
  }

  /** Starts counting failures in a row afresh (a server back from ejection). */
  synchronized void resetFailures() {
    failuresInARow = 0;
  }
}
