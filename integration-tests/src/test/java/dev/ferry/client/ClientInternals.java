package dev.ferry.client;

import java.util.ArrayList;
import java.util.List;

/**
 * Test-only view of a {@link FerryChannel}'s internals, for tests outside this package (it lives in the
 * integration tests' sources, in the client's package, so the public API stays as it is).
 */
public final class ClientInternals {
  private ClientInternals() {}

  /**
   * What a quiet channel should not have: calls still counted as active, calls waiting for a
   * connection, and per open connection, calls in its pending map or counted in flight on it. Empty
   * when all is clean. Waits briefly for each connection's event loop.
   */
  public static List<String> leftovers(FerryChannel channel) {
    List<String> found = new ArrayList<>();
    if (channel.activeCalls() != 0) {
      found.add("activeCalls=" + channel.activeCalls());
    }
    Balancer balancer = channel.balancer();
    if (balancer.waitingCalls() != 0 || balancer.queuedCalls() != 0) {
      found.add("waiting calls: " + balancer.waitingCalls() + " counted, " + balancer.queuedCalls() + " queued");
    }
    for (ClientConnection c : balancer.openConnections()) {
      int pending = c.pendingCount();
      if (pending != 0 || c.inFlight() != 0) {
        found.add(c + ": pending map " + pending + ", counted in flight " + c.inFlight());
      }
    }
    return found;
  }

  /** Calls started on the channel and not yet completed (waiting, in flight, or being retried). */
  public static int activeCalls(FerryChannel channel) {
    return channel.activeCalls();
  }

  /** Connections of the channel not yet closed (connecting, ready or draining). */
  public static int openConnections(FerryChannel channel) {
    return channel.balancer().openConnections().size();
  }

  /** Responses that matched no call in flight (late after a deadline or cancel) and were dropped. */
  public static long droppedResponses(FerryChannel channel) {
    return channel.droppedResponses();
  }

  /**
   * Makes {@code builder}'s {@code dns:///} target resolve host names through {@code addresses} (name to
   * IP literals) instead of the system's resolver.
   */
  public static FerryChannelBuilder dnsLookup(FerryChannelBuilder builder, java.util.Map<String, List<String>> addresses) {
    return builder.dnsLookup(host -> {
      List<String> ips = addresses.get(host);
      if (ips == null) {
        return java.util.concurrent.CompletableFuture.failedFuture(new java.net.UnknownHostException(host));
      }
      List<java.net.InetAddress> out = new ArrayList<>();
      for (String ip : ips) {
        try {
          out.add(java.net.InetAddress.getByAddress(host, java.net.InetAddress.getByName(ip).getAddress()));
        } catch (java.net.UnknownHostException e) {
          return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
      }
      return java.util.concurrent.CompletableFuture.completedFuture(out);
    });
  }

  /** Connection attempts the channel's pool has started. */
  public static int connectAttempts(FerryChannel channel) {
    return channel.balancer().connectAttempts();
  }
}
