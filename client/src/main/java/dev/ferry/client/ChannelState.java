package dev.ferry.client;

/** The connectivity state of a {@link FerryChannel}, as a whole (see {@link FerryChannel#state()}). */
public enum ChannelState {
  /** No connection is open or being opened; the next call opens them. */
  IDLE,
  /** Connections are being opened and none has failed since the channel was last ready. */
  CONNECTING,
  /** At least one connection is ready for calls. */
  READY,
  /**
   * No connection is ready and the last attempt failed; attempts go on in the background with
   * backoff. Calls fail fast with {@code UNAVAILABLE} unless they are wait-for-ready.
   */
  TRANSIENT_FAILURE,
  /** The channel was shut down. */
  SHUTDOWN
}
