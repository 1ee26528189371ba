package dev.ferry.client;

import java.util.Collection;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The channel's connectivity state as its endpoints make it, and the last failure that explains it:
 * READY if any endpoint is ready; else CONNECTING if any is connecting (or the first resolution is
 * awaited); else TRANSIENT_FAILURE if any failed (or the resolver failed before finding anything); else
 * IDLE. A channel to one server therefore has that server's state. Each transition is logged once and
 * told to the channel's listener.
 *
 * <p>Threads: changed only under the {@link Balancer}'s lock; the state and the last failure are read
 * from any thread.
 */
final class AggregateState {
  // The channel's state changes are what a user filters for: logged under the channel's name.
  private static final Logger log = LoggerFactory.getLogger(FerryChannel.class);

  private final String authority;
  private final ChannelListener listener;
  private volatile ChannelState state = ChannelState.IDLE;
  /**
   * Calls that found the channel in TRANSIENT_FAILURE and failed with its reason at once, since the
   * channel last went there: they heard the reason although no queue held them.
   */
  private final AtomicInteger failedOnSight = new AtomicInteger();
  private volatile String lastFailure;
  private volatile Throwable lastFailureCause;
  /** The resolver failed before listing any endpoint. Guarded. */
  private String resolutionFailure;

  AggregateState(String authority, ChannelListener listener) {
    this.authority = authority;
    this.listener = listener;
  }

  ChannelState get() {
    return state;
  }

  /** The last failure to connect (or to resolve), which names the server; null if none yet. */
  String lastFailure() {
    return lastFailure;
  }

  Throwable lastFailureCause() {
    return lastFailureCause;
  }

  /** An endpoint failed to connect. Guarded. */
  void failed(String why, Throwable cause) {
    lastFailure = why;
    lastFailureCause = cause;
  }

  /** The resolver failed before it listed any endpoint. Guarded. */
  void resolutionFailed(String why, Throwable cause) {
    resolutionFailure = why;
    failed(why, cause);
  }

  /** The resolver listed endpoints. Guarded. */
  void resolved() {
    resolutionFailure = null;
  }

  /**
   * Recomputes the state from the endpoints' and logs a change; a change to TRANSIENT_FAILURE only if
   * {@code logTransientFailure} (else the caller logs it, knowing who was told). Guarded.
   *
   * @param active whether a call came (or the pool is eager): without endpoints, CONNECTING rather than IDLE
   */
  void update(Collection<Subchannel> subchannels, boolean shutdown, boolean active, boolean logTransientFailure) {
    ChannelState next;
    if (shutdown) {
      next = ChannelState.SHUTDOWN;
    } else if (subchannels.isEmpty()) {
      next = resolutionFailure != null ? ChannelState.TRANSIENT_FAILURE
          : active ? ChannelState.CONNECTING : ChannelState.IDLE;
    } else {
      next = of(subchannels);
    }
    ChannelState previous = state;
    if (next != previous) {
      if (next == ChannelState.TRANSIENT_FAILURE) {
        failedOnSight.set(0); // before the state is published: whoever sees it counts from here
      }
      state = next;
      listener.stateChanged(previous, next);
      if (next == ChannelState.TRANSIENT_FAILURE) {
        if (logTransientFailure) {
          log.warn("Channel to {}: {} -> {} ({})", authority, previous, next, lastFailure);
        }
      } else {
        log.info("Channel to {}: {} -> {}", authority, previous, next);
      }
    }
  }

  /** The best of the endpoints' states: READY, then CONNECTING, then TRANSIENT_FAILURE, then IDLE. */
  private static ChannelState of(Collection<Subchannel> subchannels) {
    boolean connecting = false;
    boolean failing = false;
    for (Subchannel s : subchannels) {
      ChannelState st = s.state();
      if (st == ChannelState.READY) {
        return ChannelState.READY;
      }
      connecting |= st == ChannelState.CONNECTING;
      failing |= st == ChannelState.TRANSIENT_FAILURE;
    }
    return connecting ? ChannelState.CONNECTING : failing ? ChannelState.TRANSIENT_FAILURE : ChannelState.IDLE;
  }

  /** A call found the channel in TRANSIENT_FAILURE and fails with its reason now, before it is queued. Any thread. */
  void failedOnSight() {
    failedOnSight.incrementAndGet();
  }

  /** How many calls failed on sight of TRANSIENT_FAILURE since the channel last went there. */
  int failedOnSightCount() {
    return failedOnSight.get();
  }

  /** A transition to TRANSIENT_FAILURE its caller logs itself: said once, to whoever heard it. */
  void logFailure(ChannelState before, ChannelState now, String reason, int told) {
    if (told == 0) {
      log.warn("Channel to {}: {} -> {} ({})", authority, before, now, reason);
    } else {
      log.info("Channel to {}: {} -> {} (the reason went to {} waiting call{})", authority, before, now, told,
          told == 1 ? "" : "s");
    }
  }

  /**
   * Why a call cannot have a connection: the last failure, which names the server ("could not connect
   * to host:port: connection refused"), so that the address is said once; other reasons are framed.
   */
  String noConnection(String reason) {
    if (reason == null) {
      reason = "no endpoint is ready";
    }
    return reason.contains(authority) ? reason : "no connection to " + authority + " is ready (" + reason + ")";
  }
}
