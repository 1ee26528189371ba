package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How a channel spreads calls over the servers its target resolves to, and when it stops sending calls
 * to one that fails (outlier ejection). Immutable. A channel to one {@code host:port} has one server
 * and nothing to balance; these options matter for channels built from a target
 * ({@link FerryChannel#builder(String)}).
 *
 * <pre>{@code
 * FerryChannel.builder("static://10.0.0.1:7070,10.0.0.2:7070")
 *     .balancer(BalancerOptions.builder().policy(BalancerOptions.Policy.ROUND_ROBIN).build())
 * }</pre>
 *
 * <p><b>Outlier ejection.</b> A server whose calls fail {@link #consecutiveFailures()} times in a row,
 * or whose success rate over an {@link #interval()} falls below {@link #minSuccessRate()}, is ejected:
 * it gets no calls for {@link #baseEjectionTime()}, twice that the next time, and so on up to
 * {@link #maxEjectionTime()} (each jittered by up to 20%). Then it gets one call, a probe: it is back
 * if that succeeds, ejected again if not. Only failures that say something about the server count:
 * {@code UNAVAILABLE} (from the server or a lost connection) and {@code INTERNAL} raised by the client's
 * transport (a response it could not read), never an application's status. At most
 * {@link #maxEjectedPercent()} of the servers are ejected at once; beyond that the channel keeps using
 * them (and logs it), since ejecting most of a fleet would overload the rest.
 */
public final class BalancerOptions {
  /** How calls are spread over the ready servers. */
  public enum Policy {
    /**
     * The default: for each call, two ready servers drawn at random, and the call goes to the cheaper
     * one, cost being its peak-EWMA latency times its calls in flight plus one (divided by its weight).
     * A slow or hung server's cost grows with the calls it holds, so it loses traffic before those calls
     * time out; a new server starts at the median of its peers' latency, so it is not flooded. Costs
     * within 25% of each other count as equal, and the server with fewer calls in flight wins: equal
     * servers keep equal shares through the latency wobbles of a busy machine.
     */
    POWER_OF_TWO_CHOICES,
    /** Each ready server in turn, whatever its latency or load. */
    ROUND_ROBIN,
    /** The first server in the resolver's order that can be reached; the next only when it fails. */
    PICK_FIRST
  }

  /** Default {@link #consecutiveFailures()}: 5. */
  public static final int DEFAULT_CONSECUTIVE_FAILURES = 5;
  /** Default {@link #minSuccessRate()}: 0.5. */
  public static final double DEFAULT_MIN_SUCCESS_RATE = 0.5;
  /** Default {@link #minCallsForSuccessRate()}: 50. */
  public static final int DEFAULT_MIN_CALLS_FOR_SUCCESS_RATE = 50;
  /** Default {@link #interval()}: 10 seconds. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
  /** Default {@link #baseEjectionTime()}: 5 seconds. */
  public static final Duration DEFAULT_BASE_EJECTION_TIME = Duration.ofSeconds(5);
  /** Default {@link #maxEjectionTime()}: 5 minutes. */
  public static final Duration DEFAULT_MAX_EJECTION_TIME = Duration.ofMinutes(5);
  /** Default {@link #maxEjectedPercent()}: 50. */
  public static final int DEFAULT_MAX_EJECTED_PERCENT = 50;
  /** Power of two choices, ejection at the defaults above. */
  public static final BalancerOptions DEFAULT = builder().build();

  private final Policy policy;
  private final int consecutiveFailures;
  private final double minSuccessRate;
  private final int minCallsForSuccessRate;
  private final Duration interval;
  private final Duration baseEjectionTime;
  private final Duration maxEjectionTime;
  private final int maxEjectedPercent;

  private BalancerOptions(Builder b) {
    this.policy = b.policy;
    this.consecutiveFailures = b.consecutiveFailures;
    this.minSuccessRate = b.minSuccessRate;
    this.minCallsForSuccessRate = b.minCallsForSuccessRate;
    this.interval = b.interval;
    this.baseEjectionTime = b.baseEjectionTime;
    this.maxEjectionTime = b.maxEjectionTime;
    this.maxEjectedPercent = b.maxEjectedPercent;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Policy policy() {
    return policy;
  }

  /** Failures in a row that eject a server; 0 if consecutive failures never eject. */
  public int consecutiveFailures() {
    return consecutiveFailures;
  }

  /** A server whose success rate over an interval is below this is ejected; 0 if never. */
  public double minSuccessRate() {
    return minSuccessRate;
  }

  /** Calls a server must have completed in an interval for its success rate to count. */
  public int minCallsForSuccessRate() {
    return minCallsForSuccessRate;
  }

  /** How often success rates are checked (over the calls since the last check). */
  public Duration interval() {
    return interval;
  }

  /** How long a server is ejected the first time. */
  public Duration baseEjectionTime() {
    return baseEjectionTime;
  }

  /** The longest a server is ejected at once, however often it was before. */
  public Duration maxEjectionTime() {
    return maxEjectionTime;
  }

  /** The share of the servers that may be ejected at once, in percent (rounded down). */
  public int maxEjectedPercent() {
    return maxEjectedPercent;
  }

  @Override
  public String toString() {
    return "BalancerOptions{policy=" + policy + ", consecutiveFailures=" + consecutiveFailures
        + ", minSuccessRate=" + minSuccessRate + " over " + minCallsForSuccessRate + " calls, interval=" + interval
        + ", ejection " + baseEjectionTime + " to " + maxEjectionTime + ", maxEjectedPercent=" + maxEjectedPercent
        + '}';
  }

  /** Builds {@link BalancerOptions}. */
  public static final class Builder {
    private Policy policy = Policy.POWER_OF_TWO_CHOICES;
    private int consecutiveFailures = DEFAULT_CONSECUTIVE_FAILURES;
    private double minSuccessRate = DEFAULT_MIN_SUCCESS_RATE;
    private int minCallsForSuccessRate = DEFAULT_MIN_CALLS_FOR_SUCCESS_RATE;
    private Duration interval = DEFAULT_INTERVAL;
    private Duration baseEjectionTime = DEFAULT_BASE_EJECTION_TIME;
    private Duration maxEjectionTime = DEFAULT_MAX_EJECTION_TIME;
    private int maxEjectedPercent = DEFAULT_MAX_EJECTED_PERCENT;

    private Builder() {}

    /** How calls are spread; default {@link Policy#POWER_OF_TWO_CHOICES}. */
    public Builder policy(Policy policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /** Failures in a row that eject a server; default 5; 0 turns this off. */
    public Builder consecutiveFailures(int failures) {
      if (failures < 0) {
        throw new IllegalArgumentException("consecutiveFailures: " + failures + " (expected: >= 0)");
      }
      this.consecutiveFailures = failures;
      return this;
    }

    /**
     * Ejects a server whose success rate, over the calls of one interval, is below {@code rate}, when it
     * had at least {@code minCalls}; default 0.5 over 50 calls; a rate of 0 turns this off.
     */
    public Builder minSuccessRate(double rate, int minCalls) {
      if (!(rate >= 0 && rate <= 1)) {
        throw new IllegalArgumentException("minSuccessRate: " + rate + " (expected: 0 to 1)");
      }
      if (minCalls < 1) {
        throw new IllegalArgumentException("minCalls: " + minCalls + " (expected: >= 1)");
      }
      this.minSuccessRate = rate;
      this.minCallsForSuccessRate = minCalls;
      return this;
    }

    /** How often success rates are checked; default 10 s. */
    public Builder interval(Duration interval) {
      this.interval = positive(interval, "interval");
      return this;
    }

    /** The first ejection's length (then doubled each time, up to the maximum); default 5 s. */
    public Builder baseEjectionTime(Duration time) {
      this.baseEjectionTime = positive(time, "baseEjectionTime");
      return this;
    }

    /** The longest ejection; default 5 min; at least the base ejection time. */
    public Builder maxEjectionTime(Duration time) {
      this.maxEjectionTime = positive(time, "maxEjectionTime");
      return this;
    }

    /** The share of servers that may be ejected at once, 0 to 100 percent; default 50. */
    public Builder maxEjectedPercent(int percent) {
      if (percent < 0 || percent > 100) {
        throw new IllegalArgumentException("maxEjectedPercent: " + percent + " (expected: 0 to 100)");
      }
      this.maxEjectedPercent = percent;
      return this;
    }

    public BalancerOptions build() {
      if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
        throw new IllegalArgumentException("maxEjectionTime: " + maxEjectionTime + " (expected: >= baseEjectionTime "
            + baseEjectionTime + ")");
      }
      return new BalancerOptions(this);
    }

    private static Duration positive(Duration d, String name) {
      requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
      }
      return d;
    }
  }
}
