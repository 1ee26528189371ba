package dev.ferry.server;

import java.util.concurrent.RejectedExecutionException;

/**
 * Test-only view of a {@link FerryServer}'s internals, for tests outside this package (it lives in the
 * integration tests' sources, in the server's package, so the public API stays as it is).
 */
public final class ServerInternals {
  private ServerInternals() {}

  /** Makes {@code server.start()} run {@code hook} right before it binds its port. */
  public static void beforeBind(FerryServer server, Runnable hook) {
    server.beforeBindForTests(hook);
  }

  /** Bytes of the server's memory budget in use now. */
  public static long memoryInUse(FerryServer server) {
    return server.memoryInUseForTests();
  }

  /** Connections the server has open now. */
  public static int openConnections(FerryServer server) {
    return server.connectionsForTests().size();
  }

  /**
   * Calls admitted and not yet answered or cancelled, summed over the open connections (each read on
   * its event loop, so this waits briefly for them).
   */
  public static int callsInFlight(FerryServer server) {
    int total = 0;
    for (ServerConnectionHandler c : server.connectionsForTests()) {
      try {
        total += c.channel().eventLoop().submit(c::callCount).syncUninterruptibly().getNow();
      } catch (RejectedExecutionException e) {
        // its event loop is gone, and the connection with it
      }
    }
    return total;
  }
}
