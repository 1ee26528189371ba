package dev.ferry.client;

import dev.ferry.StatusCode;

/**
 * Puts calls on connections. A call takes a connection from the balancer's current {@link Picker},
 * without a lock. If none has room, the slow path has the balancer ask idle endpoints to connect and
 * looks again; then the call waits in {@link PendingCalls}, or fails at once with UNAVAILABLE when the
 * channel is in TRANSIENT_FAILURE and the call is not wait-for-ready. Waiting calls start whenever room
 * appears (a connection ready, a new picker, a call done). A call a server did not process moves to
 * another endpoint than the one it left.
 *
 * <p>Threads: any. Nothing here holds a lock while it starts a call.
 */
final class CallDispatcher {
  private final Balancer balancer;
  private final AggregateState state;
  private final PendingCalls pending;
  private final String authority;

  CallDispatcher(Balancer balancer, AggregateState state, PendingCalls pending, String authority) {
    this.balancer = balancer;
    this.state = state;
    this.pending = pending;
    this.authority = authority;
  }

  /** What the slow path saw under the balancer's lock: whether any endpoint was ready, and the channel's state. */
  record Room(boolean anyReady, ChannelState state) {}

  /** Starts {@code call} on a ready connection of an endpoint other than {@code exclude} (may be null), or queues or fails it. */
  void dispatch(ClientCall<?, ?> call, Subchannel exclude) {
    ClientConnection c = balancer.picker().pick(exclude);
    if (c == null) {
      c = acquireSlowly(call, exclude);
      if (c == null) {
        return; // queued or failed
      }
    }
    start(call, c);
  }

  private static void start(ClientCall<?, ?> call, ClientConnection c) {
    if (call.bind(c)) {
      c.start(call);
    } else {
      probeNotSent(c); // finished meanwhile
    }
  }

  /** A connection was picked but no call went: a probe it may have claimed goes back. */
  private static void probeNotSent(ClientConnection c) {
    Subchannel s = c.subchannel();
    if (s != null) {
      s.stats.unclaimProbe();
    }
  }

  private ClientConnection acquireSlowly(ClientCall<?, ?> call, Subchannel exclude) {
    pending.arriving.incrementAndGet();
    try {
      return acquireOrQueue(call, exclude);
    } finally {
      pending.arriving.decrementAndGet();
    }
  }

  private ClientConnection acquireOrQueue(ClientCall<?, ?> call, Subchannel exclude) {
    Room room = balancer.callFoundNoRoom();
    if (room == null) {
      call.fail(StatusCode.UNAVAILABLE, "channel shut down", null);
      return null;
    }
    ClientConnection c = balancer.picker().pick(exclude);
    if (c != null) {
      return c;
    }
    if (!room.anyReady() && room.state() == ChannelState.TRANSIENT_FAILURE && !call.waitForReady()) {
      state.failedOnSight(); // before it stops "arriving": failWaiting counts it either way
      call.fail(StatusCode.UNAVAILABLE, state.noConnection(state.lastFailure()), state.lastFailureCause());
      return null;
    }
    if (!pending.reserve()) {
      call.fail(StatusCode.RESOURCE_EXHAUSTED, room.anyReady()
          ? "every connection to " + authority + " is at the server's limit of calls in flight, and "
              + pending.max() + " calls are already waiting"
          : pending.max() + " calls are already waiting for a connection to " + authority, null);
      return null;
    }
    if (!call.advance(CallProgress.IDLE, CallProgress.QUEUED)) {
      pending.unreserve();
      return null; // completed meanwhile (its deadline, a cancel)
    }
    pending.add(call);
    drainWaiters(); // room may have appeared while we queued
    String failure = state.lastFailure();
    if (state.get() == ChannelState.TRANSIENT_FAILURE && failure != null) {
      // A connection attempt failed while this call was on its way into the queue, after the waiting
      // calls were failed: fail it now rather than at the next attempt.
      pending.failFast(state.noConnection(failure), state.lastFailureCause());
    }
    return null;
  }

  /** Starts waiting calls while some connection has room for them. */
  void drainWaiters() {
    while (!pending.isEmpty()) {
      ClientConnection c = balancer.picker().pick(null);
      if (c == null) {
        return;
      }
      ClientCall<?, ?> call = pending.pollLive();
      if (call == null) {
        c.release();
        probeNotSent(c);
        return;
      }
      start(call, c);
    }
  }

  /** A call completed: it leaves the queue if it was waiting, and a waiting call may take the room it freed. */
  void callDone(ClientCall<?, ?> call) {
    pending.callDone(call);
  }

  /** Starts waiting calls if there are any. */
  void drainIfWaiting() {
    if (pending.waiting() > 0) {
      drainWaiters();
    }
  }

  /**
   * The channel went to TRANSIENT_FAILURE because of {@code reason}: fails the waiting calls that are
   * not wait-for-ready. Returns how many calls heard the reason (or are about to, on entering the queue).
   */
  int failWaiting(String reason, Throwable cause) {
    // A call on its way into the queue hears the reason either way: failed here if it is in the queue
    // by now, or by itself, finding TRANSIENT_FAILURE, once it is. One that entered the queue just after
    // the queue was failed, and left "arriving" just before it was read, is in neither count: the count
    // taken before failing covers it, so that the reason is not logged again as if nobody had heard it.
    // A call that saw the new state before it was counted here, and failed on sight of it at once, is
    // in neither count either: it counted itself first (AggregateState.failedOnSight).
    int arrivingBefore = pending.arriving.get();
    int told = pending.failFast(state.noConnection(reason), cause) + pending.arriving.get();
    if (told == 0) {
      told = state.failedOnSightCount();
    }
    return told > 0 ? told : arrivingBefore;
  }

  /** The channel shut down: every waiting call fails. */
  void shutdown() {
    pending.failFast("channel shut down", null);
    for (ClientCall<?, ?> call; (call = pending.pollLive()) != null; ) {
      call.fail(StatusCode.UNAVAILABLE, "channel shut down", null);
    }
  }
}
