package dev.ferry.internal;

/**
 * User event fired by {@link HeartbeatHandler} when the peer keeps sending PINGs much more often than
 * this side's MIN_PING_INTERVAL_MS allows. A server answers it with GOAWAY(TOO_MANY_PINGS).
 */
public final class TooManyPingsEvent {
  /** The single instance. */
  public static final TooManyPingsEvent INSTANCE = new TooManyPingsEvent();

  private TooManyPingsEvent() {}
}
