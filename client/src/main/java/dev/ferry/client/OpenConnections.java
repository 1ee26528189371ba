package dev.ferry.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every connection of a channel from the moment it is opened until it has closed, whatever endpoint it
 * belongs to: what shutdown closes, what termination waits for, and what the gauges count.
 *
 * <p>Threads: any; a concurrent set.
 */
final class OpenConnections {
  private final Set<ClientConnection> open = ConcurrentHashMap.newKeySet();

  void add(ClientConnection c) {
    open.add(c);
  }

  void remove(ClientConnection c) {
    open.remove(c);
  }

  boolean isEmpty() {
    return open.isEmpty();
  }

  /** The connections now, as a list of one's own. */
  List<ClientConnection> list() {
    return new ArrayList<>(open);
  }

  /** The connections now, as a set of one's own. */
  Set<ClientConnection> set() {
    return Set.copyOf(open);
  }

  /** How many are connecting, ready and draining, in that order. */
  int[] byState() {
    int[] counts = new int[3];
    for (ClientConnection c : open) {
      if (!c.handshakeFuture().isDone()) {
        counts[0]++;
      } else if (c.isReady()) {
        counts[1]++;
      } else if (c.handshakeFuture().isSuccess()) {
        counts[2]++; // handshake done, takes no new calls, not closed yet
      }
    }
    return counts;
  }
}
