package dev.ferry.internal;

import java.net.SocketAddress;

/**
 * The peer sent nothing for longer than the heartbeat timeout: it is treated as dead (crashed host,
 * pulled cable, dropped NAT entry, half-open TCP) and its connection is closed.
 */
public final class HeartbeatTimeoutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final long silentMillis;

  public HeartbeatTimeoutException(SocketAddress peer, long silentMillis) {
    this(peer, silentMillis, "heartbeat timeout");
  }

  /** As above; {@code note} says which timeout it was (and why it is not the configured one, if so). */
  public HeartbeatTimeoutException(SocketAddress peer, long silentMillis, String note) {
    this("peer " + Addresses.describe(peer) + " sent nothing for " + silentMillis + " ms (" + note + "); connection closed",
        silentMillis);
  }

  private HeartbeatTimeoutException(String message, long silentMillis) {
    super(message);
    this.silentMillis = silentMillis;
  }

  /**
   * The timeout passed while this side had stopped reading because the peer does not read what it is
   * sent (the write buffer stayed over its high-water mark): the peer is stuck or hostile, not silent.
   */
  public static HeartbeatTimeoutException notReading(SocketAddress peer, long millis, long unsentBytes) {
    return notReading(peer, millis, unsentBytes, "heartbeat timeout");
  }

  /** As above, with a note on which timeout it was. */
  public static HeartbeatTimeoutException notReading(SocketAddress peer, long millis, long unsentBytes,
      String note) {
    return new HeartbeatTimeoutException("peer " + Addresses.describe(peer) + " is not reading: " + unsentBytes
        + " bytes have waited to be sent, and reading from it has been paused, for " + millis
        + " ms (" + note + "); connection closed", millis);
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
