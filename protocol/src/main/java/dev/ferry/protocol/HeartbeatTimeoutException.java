package dev.ferry.protocol;

import java.net.SocketAddress;

/**
 * The peer sent nothing for longer than the heartbeat timeout: it is treated as dead (crashed host,
 * pulled cable, dropped NAT entry, half-open TCP) and its connection is closed.
 */
public final class HeartbeatTimeoutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final long silentMillis;

  public HeartbeatTimeoutException(SocketAddress peer, long silentMillis) {
    super("peer " + peer + " sent nothing for " + silentMillis + " ms (heartbeat timeout); connection closed");
    this.silentMillis = silentMillis;
  }

  /** How long the peer had been silent when it was declared dead. */
  public long silentMillis() {
    return silentMillis;
  }

  @Override
  public synchronized Throwable fillInStackTrace() {
    return this;
  }
}
