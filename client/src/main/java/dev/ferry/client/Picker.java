package dev.ferry.client;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * Chooses the connection for one call: an immutable snapshot of the endpoints the balancer offers, and
 * a policy. The balancer publishes a new picker whenever an endpoint's readiness, suspicion or ejection
 * changes; picking itself takes no lock.
 *
 * <p>Endpoints come in three groups: <em>primary</em> (ready, neither suspect nor ejected), which the
 * policy chooses among; <em>fallback</em> (ready but suspect or ejected), used only when no primary one
 * has room, since a suspect endpoint may still serve and too few endpoints beat none (panic mode); and
 * at most one <em>probe</em>, an ejected endpoint whose ejection is over, which gets exactly one call.
 *
 * <p>A call moved off an endpoint that did not process it (transparent retry) names that endpoint as
 * {@code exclude}: it goes elsewhere if any other endpoint can take it.
 *
 * <p>Threads: any; immutable apart from the one-shot connection request flag.
 */
abstract class Picker {
  private static final Subchannel[] NONE = new Subchannel[0];

  final Subchannel[] primary;
  final Subchannel[] fallback;
  private final Subchannel probe;
  /** Some endpoint would connect if asked: the first pick asks the balancer (once per picker). */
  private final AtomicBoolean connectionWanted;
  private final Balancer balancer;

  Picker(Subchannel[] primary, Subchannel[] fallback, Subchannel probe, boolean needsConnection, Balancer balancer) {
    this.primary = primary;
    this.fallback = fallback;
    this.probe = probe;
    this.connectionWanted = needsConnection ? new AtomicBoolean(true) : null;
    this.balancer = balancer;
  }

  /** The picker of a channel with no endpoint ready. */
  static Picker empty(boolean needsConnection, Balancer balancer) {
    return new PowerOfTwoChoices(NONE, NONE, null, needsConnection, balancer, () -> 0, () -> 0);
  }

  /**
   * A picker of {@code subchannels} as they are now, for {@code policy}: ready endpoints that are
   * neither ejected nor suspect are primary, other ready ones fallback, and the first ejected one whose
   * ejection is over is the probe.
   *
   * @param roundRobinStart where a round-robin picker starts (pickers in turn start at different endpoints)
   */
  static Picker of(BalancerOptions.Policy policy, Iterable<Subchannel> subchannels, Balancer balancer,
      DoubleSupplier random, LongSupplier clock, int roundRobinStart) {
    List<Subchannel> primary = new ArrayList<>();
    List<Subchannel> fallback = new ArrayList<>(0);
    Subchannel probe = null;
    boolean needsConnection = false;
    for (Subchannel s : subchannels) {
      needsConnection |= s.needsConnection();
      if (!s.hasReady()) {
        continue;
      }
      EndpointStats.Ejection e = s.stats.ejection();
      if (e == EndpointStats.Ejection.PROBE_READY && probe == null) {
        probe = s;
      }
      if (e != EndpointStats.Ejection.ACTIVE || s.isSuspect()) {
        fallback.add(s);
      } else {
        primary.add(s);
      }
    }
    Subchannel[] p = primary.toArray(NONE);
    Subchannel[] f = fallback.toArray(NONE);
    switch (policy) {
      case ROUND_ROBIN:
        return new RoundRobin(p, f, probe, needsConnection, balancer, roundRobinStart);
      case PICK_FIRST:
        return new PickFirst(p, f, probe, needsConnection, balancer);
      default:
        return new PowerOfTwoChoices(p, f, probe, needsConnection, balancer, random, clock);
    }
  }

  /** Whether some endpoint is ready (primary or fallback). */
  final boolean hasReady() {
    return primary.length > 0 || fallback.length > 0;
  }

  /**
   * A connection for one call, its in-flight count already raised; null if no ready endpoint has room.
   *
   * @param exclude the endpoint the call was just moved off, or null
   */
  final ClientConnection pick(Subchannel exclude) {
    AtomicBoolean wanted = connectionWanted;
    if (wanted != null && wanted.get() && wanted.compareAndSet(true, false)) {
      balancer.connectWhereWanted();
    }
    Subchannel p = probe;
    if (p != null && p != exclude && p.stats.claimProbe()) {
      ClientConnection c = p.acquire();
      if (c != null) {
        return c;
      }
      p.stats.unclaimProbe();
    }
    ClientConnection c = choose(primary, exclude);
    if (c == null && fallback.length > 0) {
      c = firstWithRoom(fallback, exclude, 0);
    }
    if (c == null && exclude != null) {
      c = exclude.acquire(); // no other endpoint can take it: back where it was, which may now have room
    }
    return c;
  }

  /** The policy's choice among {@code endpoints}, never {@code exclude}; null if none has room. */
  abstract ClientConnection choose(Subchannel[] endpoints, Subchannel exclude);

  /** The first endpoint from {@code start} on (wrapping) that is not {@code exclude} and has room. */
  static ClientConnection firstWithRoom(Subchannel[] endpoints, Subchannel exclude, int start) {
    int n = endpoints.length;
    for (int i = 0; i < n; i++) {
      Subchannel s = endpoints[(start + i) % n];
      if (s != exclude) {
        ClientConnection c = s.acquire();
        if (c != null) {
          return c;
        }
      }
    }
    return null;
  }

  /**
   * Power of two choices: two endpoints drawn at random, the call goes to the one with the lower cost,
   * peak-EWMA latency x (calls in flight + 1) / weight.
   *
   * <p>Costs within {@link #TOLERANCE} of each other count as equal, and then the endpoint with fewer calls
   * in flight wins: on a busy machine the latencies of equal servers wander by tens of percent, and
   * since the cost multiplies latency by load, following every wobble would give the momentarily faster
   * one far more than its share. A server that is really slower (twice, ten times) is outside the band.
   */
  static final class PowerOfTwoChoices extends Picker {
    /** Latencies are floored at 1 µs, so that load decides between endpoints with no samples yet. */
    private static final double MIN_LATENCY_NANOS = 1_000;
    /** How much cheaper an endpoint must be to win on cost rather than on calls in flight. */
    static final double TOLERANCE = 1.25;
    private final DoubleSupplier random;
    private final LongSupplier clock;

    PowerOfTwoChoices(Subchannel[] primary, Subchannel[] fallback, Subchannel probe, boolean needsConnection,
        Balancer balancer, DoubleSupplier random, LongSupplier clock) {
      super(primary, fallback, probe, needsConnection, balancer);
      this.random = random;
      this.clock = clock;
    }

    @Override
    ClientConnection choose(Subchannel[] endpoints, Subchannel exclude) {
      int n = endpoints.length;
      if (n == 0) {
        return null;
      }
      if (n == 1) {
        Subchannel only = endpoints[0];
        return only == exclude ? null : only.acquire();
      }
      int i = index(n);
      int j = index(n - 1);
      if (j >= i) {
        j++;
      }
      Subchannel a = endpoints[i];
      Subchannel b = endpoints[j];
      if (a == exclude || b == exclude) {
        if (n == 2) {
          Subchannel other = a == exclude ? b : a;
          return other.acquire();
        }
        // Draw the excluded one's replacement among the others.
        int k = index(n - 2);
        int lo = Math.min(i, j);
        int hi = Math.max(i, j);
        if (k >= lo) {
          k++;
        }
        if (k >= hi) {
          k++;
        }
        if (a == exclude) {
          a = endpoints[k];
        } else {
          b = endpoints[k];
        }
      }
      long now = clock.getAsLong();
      double costA = cost(a, now);
      double costB = cost(b, now);
      Subchannel first;
      if (costA * TOLERANCE < costB) {
        first = a;
      } else if (costB * TOLERANCE < costA) {
        first = b;
      } else {
        first = b.inFlight() < a.inFlight() ? b : a; // a was drawn at random: ties spread
      }
      Subchannel second = first == a ? b : a;
      ClientConnection c = first.acquire();
      if (c == null) {
        c = second.acquire();
      }
      return c != null ? c : firstWithRoom(endpoints, exclude, i);
    }

    private int index(int n) {
      return Math.min(n - 1, (int) (random.getAsDouble() * n));
    }

    static double cost(Subchannel s, long now) {
      double latency = Math.max(MIN_LATENCY_NANOS, s.stats.latency(now));
      return latency * (s.inFlight() + 1) / s.endpoint().weight();
    }
  }

  /** Each endpoint in turn. */
  static final class RoundRobin extends Picker {
    private final AtomicInteger next;

    RoundRobin(Subchannel[] primary, Subchannel[] fallback, Subchannel probe, boolean needsConnection,
        Balancer balancer, int start) {
      super(primary, fallback, probe, needsConnection, balancer);
      this.next = new AtomicInteger(start);
    }

    @Override
    ClientConnection choose(Subchannel[] endpoints, Subchannel exclude) {
      int n = endpoints.length;
      return n == 0 ? null : firstWithRoom(endpoints, exclude, Math.floorMod(next.getAndIncrement(), n));
    }
  }

  /** The first endpoint, in the resolver's order, that has room. */
  static final class PickFirst extends Picker {
    PickFirst(Subchannel[] primary, Subchannel[] fallback, Subchannel probe, boolean needsConnection,
        Balancer balancer) {
      super(primary, fallback, probe, needsConnection, balancer);
    }

    @Override
    ClientConnection choose(Subchannel[] endpoints, Subchannel exclude) {
      return firstWithRoom(endpoints, exclude, 0);
    }
  }
}
