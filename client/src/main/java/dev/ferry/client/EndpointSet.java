package dev.ferry.client;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The balancer's subchannels, one per endpoint, in the resolver's order. Merges each resolver update:
 * an endpoint still listed keeps its subchannel (and what it learned), a new one gets a fresh
 * subchannel, and those no longer listed are handed back for the balancer to drain. Also what the
 * balancer asks of all of them at once: connect as the policy wants, the median latency a newcomer
 * starts from.
 *
 * <p>Threads: guarded by the {@link Balancer}'s lock.
 */
final class EndpointSet {
  private Map<InetSocketAddress, Subchannel> subchannels = new LinkedHashMap<>();

  /** What one update changed: how many endpoints are new, and the subchannels of those that left. */
  record Change(int added, List<Subchannel> removed) {}

  /**
   * Takes {@code endpoints} (duplicates of an address count once) as the endpoints now.
   *
   * @param create makes the subchannel of a new endpoint
   */
  Change update(List<Endpoint> endpoints, Function<Endpoint, Subchannel> create) {
    Map<InetSocketAddress, Subchannel> next = new LinkedHashMap<>();
    int added = 0;
    for (Endpoint e : endpoints) {
      if (next.containsKey(e.address())) {
        continue;
      }
      Subchannel s = subchannels.remove(e.address());
      if (s == null) {
        s = create.apply(e);
        added++;
      } else {
        s.endpoint(e);
      }
      next.put(e.address(), s);
    }
    List<Subchannel> removed = new ArrayList<>(subchannels.values());
    subchannels = next;
    return new Change(added, removed);
  }

  Collection<Subchannel> all() {
    return subchannels.values();
  }

  boolean isEmpty() {
    return subchannels.isEmpty();
  }

  int size() {
    return subchannels.size();
  }

  /**
   * Asks endpoints to connect, as {@code policy} wants: every one, or for pick-first the first that is
   * not failing.
   */
  void requestConnections(BalancerOptions.Policy policy) {
    if (policy == BalancerOptions.Policy.PICK_FIRST) {
      for (Subchannel s : subchannels.values()) {
        if (s.state() == ChannelState.TRANSIENT_FAILURE) {
          continue; // its retries go on in the background; try the next one meanwhile
        }
        s.requestConnection();
        if (s.state() == ChannelState.READY || s.state() == ChannelState.CONNECTING) {
          break;
        }
      }
    } else {
      for (Subchannel s : subchannels.values()) {
        s.requestConnection();
      }
    }
  }

  /**
   * The median latency estimate of the endpoints that get calls (not ejected); 0 without any. Where a
   * new endpoint starts, so that it is neither stampeded (at zero) nor starved.
   */
  double medianLatency(long now) {
    double[] latencies = new double[subchannels.size()];
    int n = 0;
    for (Subchannel s : subchannels.values()) {
      if (s.stats.ejection() == EndpointStats.Ejection.ACTIVE) {
        latencies[n++] = s.stats.latency(now);
      }
    }
    if (n == 0) {
      return 0;
    }
    Arrays.sort(latencies, 0, n);
    return n % 2 == 1 ? latencies[n / 2] : (latencies[n / 2 - 1] + latencies[n / 2]) / 2;
  }

  /** The endpoints' labels, for log lines: {@code [a:1, b:2]}. */
  String labels() {
    StringBuilder b = new StringBuilder("[");
    for (Subchannel s : subchannels.values()) {
      b.append(b.length() > 1 ? ", " : "").append(s.endpoint().label());
    }
    return b.append(']').toString();
  }
}
