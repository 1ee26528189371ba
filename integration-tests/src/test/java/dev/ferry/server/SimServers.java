package dev.ferry.server;

import dev.ferry.sim.SimListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.DoubleSupplier;

/**
 * For the deterministic simulation (it lives in the integration tests' sources, in the server's
 * package): servers that listen on a simulated network, on a fake clock, with seeded random numbers,
 * their cancellation listeners run when the simulation says; and what a server holds that a quiet one
 * should not.
 */
public final class SimServers {
  private SimServers() {}

  /** A server builder listening through {@code network} as {@code name}; its timers run on {@code timers}. */
  public static FerryServerBuilder builder(String name, SimListener network, EventExecutor timers, Ticker ticker,
      DoubleSupplier random, Executor cancelListeners) {
    ServerTransport transport = new ServerTransport() {
      @Override
      public Channel bind(ChannelHandler childInitializer, WriteBufferWaterMark waterMark) {
        return network.listen(childInitializer);
      }

      @Override
      public EventExecutor timers() {
        return timers;
      }

      @Override
      public String describe(Channel bound) {
        return "sim:" + name;
      }

      @Override
      public int port(Channel bound) {
        return 7070;
      }

      @Override
      public void release() {}
    };
    return FerryServer.builder().transport(transport).ticker(ticker).random(random)
        .cancelListenerExecutor(cancelListeners);
  }

  /** Calls the server's open connections still hold (admitted, not answered or cancelled). */
  public static List<String> leftovers(FerryServer server) {
    List<String> found = new ArrayList<>();
    for (ServerConnectionHandler c : server.connectionsForTests()) {
      if (c.callCount() != 0) {
        found.add(c.channel() + ": " + c.callCount() + " calls in flight");
      }
    }
    return found;
  }
}
