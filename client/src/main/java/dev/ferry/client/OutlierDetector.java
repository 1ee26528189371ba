package dev.ferry.client;

import dev.ferry.StatusCode;
import dev.ferry.internal.LogAggregator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Outlier ejection (see {@link BalancerOptions}): takes an endpoint out of the balancer's picks when its
 * calls fail {@code consecutiveFailures} times in a row or its success rate over an interval is too
 * low; lets it back in through one probe call once its ejection time (growing with each ejection,
 * jittered) is over; and never ejects more than {@code maxEjectedPercent} of the endpoints.
 *
 * <pre>
 *   ACTIVE ──(failures)──▶ EJECTED ──(time over)──▶ PROBE_READY ──(a call picks it)──▶ PROBING
 *     ▲                       ▲                                                         │
 *     │                       └──────────────────────(probe failed)─────────────────────┤
 *     └─────────────────────────────────────────────(probe succeeded)───────────────────┘
 * </pre>
 *
 * <p>Timers run on the channel's {@link Scheduler}, so tests drive it with a fake clock. An ejection
 * counts for the endpoint's next ejection time until it has spent as many intervals without one.
 *
 * <p>Threads: any; everything runs under the {@link Balancer}'s lock.
 */
final class OutlierDetector {
  private static final Logger log = LoggerFactory.getLogger(OutlierDetector.class);
  /** An ejection's length is spread by up to this share either way, so that clients do not probe in step. */
  static final double JITTER = 0.2;

  private final LogAggregator notEjected = LogAggregator.create(log, Level.WARN, "ejections refused (too many ejected)");
  private final Balancer balancer;
  private final BalancerOptions options;
  private final Scheduler scheduler;
  private final DoubleSupplier random;
  private final ChannelListener listener;
  private Future<?> intervalTimer; // guarded by the balancer
  private boolean shutdown; // guarded by the balancer

  OutlierDetector(Balancer balancer, BalancerOptions options, Scheduler scheduler, DoubleSupplier random,
      ChannelListener listener) {
    this.balancer = balancer;
    this.options = options;
    this.scheduler = scheduler;
    this.random = random;
    this.listener = listener;
  }

  /** The balancer now has {@code count} endpoints: the interval check runs while there are two or more. */
  void endpointsChanged(int count) {
    if (shutdown) {
      return;
    }
    if (count >= 2 && intervalTimer == null) {
      scheduleCheck();
    } else if (count < 2 && intervalTimer != null) {
      intervalTimer.cancel(false);
      intervalTimer = null;
    }
  }

  private void scheduleCheck() {
    try {
      intervalTimer = scheduler.schedule(this::intervalOver, options.interval().toNanos());
    } catch (RejectedExecutionException e) {
      intervalTimer = null; // the channel's loops are shutting down
    }
  }

  /** A call's outcome on {@code s} calls for action. Any thread: takes the balancer's lock. */
  void verdict(Subchannel s, EndpointStats.Verdict verdict, StatusCode status) {
    synchronized (balancer) {
      if (shutdown || s.isShutdown()) {
        return;
      }
      switch (verdict) {
        case EJECT:
          if (s.stats.ejection() == EndpointStats.Ejection.ACTIVE) {
            eject(s, options.consecutiveFailures() + " failures in a row, the last " + status);
          }
          break;
        case PROBE_SUCCEEDED:
          if (s.stats.ejection() == EndpointStats.Ejection.PROBING) {
            s.stats.ejection(EndpointStats.Ejection.ACTIVE);
            s.stats.resetFailures();
            log.info("Endpoint {} is back after a successful probe", s.endpoint().label());
            balancer.rebuildPicker();
          }
          break;
        case PROBE_FAILED:
          if (s.stats.ejection() == EndpointStats.Ejection.PROBING) {
            eject(s, "its probe failed (" + status + ")");
          }
          break;
        default:
          break;
      }
    }
  }

  /**
   * Ejects {@code s} unless that would eject more than the share allowed. Guarded. Returns whether it did.
   */
  boolean eject(Subchannel s, String why) {
    List<Subchannel> all = balancer.subchannels();
    int ejectedOthers = 0;
    for (Subchannel other : all) {
      if (other != s && other.stats.ejection() != EndpointStats.Ejection.ACTIVE) {
        ejectedOthers++;
      }
    }
    int allowed = all.size() * options.maxEjectedPercent() / 100;
    if (ejectedOthers + 1 > allowed) {
      notEjected.log("Not ejecting {} ({}): {} of {} endpoints are ejected already, the most allowed is {} "
          + "(maxEjectedPercent {}); it keeps getting calls", s.endpoint().label(), why, ejectedOthers, all.size(),
          allowed, options.maxEjectedPercent());
      if (s.stats.ejection() != EndpointStats.Ejection.ACTIVE) {
        s.stats.ejection(EndpointStats.Ejection.ACTIVE); // a failed probe: it stays in, as the others are out
        balancer.rebuildPicker();
      }
      return false;
    }
    int n = ++s.stats.ejections;
    long base = options.baseEjectionTime().toNanos();
    long max = options.maxEjectionTime().toNanos();
    double grown = base * Math.pow(2, Math.min(n - 1, 62));
    double jittered = Math.min(grown, max) * (1 + JITTER * (2 * random.getAsDouble() - 1));
    long nanos = (long) Math.max(1, Math.min(jittered, max));
    s.stats.ejection(EndpointStats.Ejection.EJECTED);
    if (s.ejectionTimer != null) {
      s.ejectionTimer.cancel(false);
    }
    try {
      s.ejectionTimer = scheduler.schedule(() -> ejectionOver(s), nanos);
    } catch (RejectedExecutionException e) {
      s.ejectionTimer = null;
    }
    Duration time = Duration.ofNanos(nanos);
    log.warn("Endpoint {} ejected for {} ms: {}", s.endpoint().label(), TimeUnit.NANOSECONDS.toMillis(nanos), why);
    listener.endpointEjected(s.endpoint(), time);
    balancer.rebuildPicker();
    return true;
  }

  private void ejectionOver(Subchannel s) {
    synchronized (balancer) {
      s.ejectionTimer = null;
      if (shutdown || s.isShutdown() || s.stats.ejection() != EndpointStats.Ejection.EJECTED) {
        return;
      }
      s.stats.ejection(EndpointStats.Ejection.PROBE_READY);
      log.debug("Endpoint {}: ejection over, the next call probes it", s.endpoint().label());
      balancer.rebuildPicker();
    }
  }

  /** Every interval: success rates, and the slow forgetting of past ejections. */
  private void intervalOver() {
    synchronized (balancer) {
      intervalTimer = null;
      if (shutdown) {
        return;
      }
      List<Subchannel> all = balancer.subchannels();
      for (Subchannel s : all) {
        double rate = s.stats.takeSuccessRate(options.minCallsForSuccessRate());
        if (s.stats.ejection() != EndpointStats.Ejection.ACTIVE) {
          continue;
        }
        if (rate >= 0 && rate < options.minSuccessRate()) {
          eject(s, String.format("success rate %.1f%% over the last %d s (the least allowed is %.1f%%)", rate * 100,
              options.interval().toSeconds(), options.minSuccessRate() * 100));
        } else if (s.stats.ejections > 0) {
          s.stats.ejections--;
        }
      }
      if (all.size() >= 2) {
        scheduleCheck();
      }
    }
  }

  /** The channel shuts down: no more timers. Guarded. */
  void shutdown() {
    shutdown = true;
    if (intervalTimer != null) {
      intervalTimer.cancel(false);
      intervalTimer = null;
    }
  }
}
