package dev.ferry.client;

/**
 * A live, read-only view of one channel, for gauges: where it connects, its state, and counts of its
 * calls and connections. Given to {@link ChannelListener#channelCreated}. Thread-safe; each read looks
 * at the channel now (counting connections walks them: cheap, not free).
 */
public interface ChannelStats {
  /**
   * The server's host name or address, as configured. For a channel built from a target, what its
   * resolver calls the servers: the DNS name, the service name, or a static target's list as written.
   */
  String host();

  /** The server's port, as configured; for a target, its port if it names one, else 0. */
  int port();

  /** The channel's connectivity state, as {@link FerryChannel#state()}. */
  ChannelState state();

  /** Calls started and not yet completed: waiting for a connection, in flight, or being retried. */
  int activeCalls();

  /** Calls waiting in the pool's queue for a connection (none is ready, or all are at the server's limit). */
  int waitingCalls();

  /** Connections being opened: connecting, or in their TLS or Ferry handshake. */
  int connectingConnections();

  /** Connections that take new calls. */
  int readyConnections();

  /** Connections that take no new calls (GOAWAY) but still finish the calls they have. */
  int drainingConnections();
}
