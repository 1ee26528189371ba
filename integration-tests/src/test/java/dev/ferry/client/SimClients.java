package dev.ferry.client;

import dev.ferry.sim.SimConnector;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * For the deterministic simulation (it lives in the integration tests' sources, in the client's
 * package): channels whose connections run over a simulated network, on a fake clock, with seeded
 * random numbers; and what a channel holds that a quiet channel should not.
 */
public final class SimClients {
  private SimClients() {}

  /** A channel builder for {@code host:port} whose connections come from {@code network}. */
  public static FerryChannelBuilder builder(String host, int port, SimConnector network, Ticker ticker,
      DoubleSupplier random) {
    ClientTransport transport = (loop, initializer, config) -> network.connect(initializer, config.host(),
        config.port());
    return FerryChannel.builder(host, port).transport(transport).ticker(ticker).random(random);
  }

  /**
   * A channel builder for {@code target} (several servers, balanced) whose connections come from
   * {@code network}: host names are the network's, never looked up.
   */
  public static FerryChannelBuilder targetBuilder(String target, SimConnector network, Ticker ticker,
      DoubleSupplier random) {
    ClientTransport transport = (loop, initializer, config) -> network.connect(initializer, config.host(),
        config.port());
    return FerryChannel.builder(target).transport(transport).ticker(ticker).random(random);
  }

  /**
   * What a channel that should be quiet still holds: calls counted as active or waiting, and per
   * open connection, calls in its pending map or counted in flight on it. Read on the caller's thread,
   * which in the simulation is every event loop's.
   */
  public static List<String> leftovers(FerryChannel channel) {
    List<String> found = new ArrayList<>();
    if (channel.activeCalls() != 0) {
      found.add("activeCalls=" + channel.activeCalls());
    }
    Balancer pool = channel.balancer();
    if (pool.waitingCalls() != 0 || pool.queuedCalls() != 0) {
      found.add("waiting calls: " + pool.waitingCalls() + " counted, " + pool.queuedCalls() + " queued");
    }
    for (ClientConnection c : pool.openConnections()) {
      if (c.pendingCount() != 0 || c.inFlight() != 0) {
        found.add(c + ": pending map " + c.pendingCount() + ", counted in flight " + c.inFlight());
      }
    }
    return found;
  }
}
