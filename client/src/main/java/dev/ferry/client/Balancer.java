package dev.ferry.client;

import dev.ferry.StatusCode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spreads a channel's calls over its endpoints: owns one {@link Subchannel} per endpoint the resolver
 * lists, publishes an immutable {@link Picker} of those that can take calls, keeps the calls waiting
 * for a pick ({@link PendingCalls}) and the channel's aggregate state; with an {@link OutlierDetector},
 * learns from each call's outcome which endpoints to avoid.
 *
 * <p>Calls go to connections through its {@link CallDispatcher}; the subchannels are an
 * {@link EndpointSet}; the aggregate state is an {@link AggregateState}, recomputed here whenever an
 * endpoint's changes; every connection opened and not yet closed is in {@link OpenConnections}.
 *
 * <p><b>Endpoints.</b> A resolver update adds subchannels for new endpoints (connecting at once when the
 * channel is in use) and drains those of endpoints no longer listed: their calls in flight finish, calls
 * not yet written move elsewhere, and their connections close.
 *
 * <p>Threads: any. The lock ({@code this}) guards the endpoints, the subchannels' state and the
 * picker's publication; nothing here blocks or waits on a future. Listener events about a subchannel
 * (connection ready, failed, draining, closed) take the lock, change its state, publish a new picker,
 * and then, outside the lock, start waiting calls.
 */
final class Balancer {
  private static final Logger log = LoggerFactory.getLogger(Balancer.class);

  private final String authority;
  private final PoolOptions pool;
  private final BackoffOptions backoff;
  private final BalancerOptions options;
  private final Scheduler scheduler;
  private final DoubleSupplier random;
  private final Function<Endpoint, ClientConnection.Config> configs;
  private final Subchannel.Opener opener;
  private final Runnable onConnectionClosed;
  private final ChannelListener listener;
  /** Null for a channel to one fixed server, where there is nothing to learn or eject. */
  private final OutlierDetector outliers;
  private final PendingCalls pending;
  private final AggregateState aggregate;
  private final CallDispatcher dispatcher;
  final AtomicInteger connectAttempts = new AtomicInteger();
  private final OpenConnections open = new OpenConnections();

  private final EndpointSet endpoints = new EndpointSet(); // guarded
  private boolean shutdown; // guarded
  /** A call came, or the pool is eager: endpoints connect as soon as they appear. Guarded. */
  private boolean active;
  /** The resolver listed endpoints at least once. Guarded. */
  private boolean resolved;
  private volatile Picker picker;
  private volatile Runnable refreshResolver = () -> {};
  private int roundRobinStart; // guarded

  /**
   * @param authority what the channel's messages call its servers: {@code host:port}, or the target's authority
   * @param balanced whether to learn from call outcomes and eject failing endpoints (channels built from a target)
   * @param configs what connections to an endpoint are told
   * @param opener opens one connection of a subchannel
   * @param onConnectionClosed told after any connection closed
   */
  Balancer(String authority, PoolOptions pool, BackoffOptions backoff, BalancerOptions options, boolean balanced,
      Scheduler scheduler, DoubleSupplier random, Function<Endpoint, ClientConnection.Config> configs,
      Subchannel.Opener opener, Runnable onConnectionClosed, ChannelListener listener) {
    this.authority = authority;
    this.pool = pool;
    this.backoff = backoff;
    this.options = options;
    this.scheduler = scheduler;
    this.random = random;
    this.configs = configs;
    this.opener = opener;
    this.onConnectionClosed = onConnectionClosed;
    this.listener = listener;
    this.pending = new PendingCalls(pool.maxPendingCalls());
    this.aggregate = new AggregateState(authority, listener);
    this.dispatcher = new CallDispatcher(this, aggregate, pending, authority);
    this.outliers = balanced ? new OutlierDetector(this, options, scheduler, random, listener) : null;
    this.picker = Picker.empty(false, this);
  }

  /** Who to ask for a fresh resolution when the endpoints seem stale (a connection failed, GOAWAY). */
  void refreshResolverWith(Runnable refresh) {
    this.refreshResolver = refresh;
  }

  ChannelState state() {
    return aggregate.get();
  }

  /** The channel's clock. */
  long nanoTime() {
    return scheduler.nanoTime();
  }

  // ---- endpoints ----

  /** The resolver's endpoints now, in full (never empty: see {@link Resolution}). Any thread. */
  void updateEndpoints(List<Endpoint> endpoints) {
    List<ClientConnection> toClose = new ArrayList<>();
    synchronized (this) {
      if (shutdown) {
        return;
      }
      long now = scheduler.nanoTime();
      double initial = this.endpoints.medianLatency(now);
      EndpointSet.Change change = this.endpoints.update(endpoints, e -> new Subchannel(this, e, configs.apply(e),
          pool.size(), backoff, scheduler, random, opener, listener,
          new EndpointStats(options.consecutiveFailures(), initial, now)));
      for (Subchannel gone : change.removed()) {
        toClose.addAll(gone.shutdown(true, "endpoint " + gone.endpoint().label() + " is no longer listed"));
      }
      boolean first = !resolved;
      resolved = true;
      aggregate.resolved();
      int added = change.added();
      int removed = change.removed().size();
      int size = this.endpoints.size();
      if ((added > 0 || removed > 0) && outliers != null) {
        if (first) {
          log.info("Channel to {}: {} endpoint{} {}", authority, size, size == 1 ? "" : "s", this.endpoints.labels());
        } else {
          log.info("Channel to {}: endpoints now {} ({} added, {} removed)", authority, this.endpoints.labels(),
              added, removed);
        }
      }
      if (active || pool.eager()) {
        requestConnections();
      }
      if (outliers != null) {
        outliers.endpointsChanged(size);
      }
      updateState();
      rebuildPicker();
    }
    for (ClientConnection c : toClose) {
      c.close("endpoint no longer listed by the resolver");
    }
    dispatcher.drainWaiters();
  }

  /**
   * The resolver failed. Ignored once it has listed endpoints (the channel keeps them); before that the
   * channel is in TRANSIENT_FAILURE and calls that are not wait-for-ready fail with {@code why}.
   */
  void resolutionFailed(String why, Throwable cause) {
    ChannelState before;
    ChannelState now;
    synchronized (this) {
      if (shutdown || resolved) {
        return;
      }
      aggregate.resolutionFailed(why, cause);
      before = aggregate.get();
      updateState(false);
      now = aggregate.get();
    }
    if (now == ChannelState.TRANSIENT_FAILURE) {
      int told = dispatcher.failWaiting(why, cause);
      if (before != now && told == 0) {
        aggregate.logFailure(before, now, why, 0);
      }
    }
  }

  /** Opens every connection of every endpoint now (eager pools). */
  void connectAll() {
    synchronized (this) {
      active = true;
      if (requestConnections()) {
        updateState();
        rebuildPicker();
      }
    }
  }

  /** A picker found an endpoint that would connect if asked: ask it (and its like). */
  void connectWhereWanted() {
    synchronized (this) {
      if (shutdown) {
        return;
      }
      active = true;
      if (requestConnections()) {
        updateState();
        rebuildPicker();
      }
    }
  }

  /** Asks endpoints to connect, as the policy wants; returns whether an attempt started. Guarded. */
  private boolean requestConnections() {
    int before = connectAttempts.get();
    endpoints.requestConnections(options.policy());
    return connectAttempts.get() != before;
  }

  // ---- dispatch ----

  /** Starts {@code call} on a ready connection, or queues or fails it. Any thread. */
  void dispatch(ClientCall<?, ?> call) {
    dispatcher.dispatch(call, null);
  }

  /**
   * Starts again {@code call}, which {@code from}'s server never processed (or never received): on
   * another endpoint if one can take it. A connection's event loop.
   */
  void redispatch(ClientCall<?, ?> call, Subchannel from) {
    dispatcher.dispatch(call, from);
  }

  /**
   * A call found no connection with room: the channel is in use now, so idle endpoints are asked to
   * connect. Returns whether some endpoint is ready and the channel's state, or null if it is shut down.
   */
  synchronized CallDispatcher.Room callFoundNoRoom() {
    if (shutdown) {
      return null;
    }
    boolean wasActive = active;
    active = true;
    if (requestConnections() || !wasActive) {
      updateState();
      rebuildPicker();
    }
    return new CallDispatcher.Room(picker.hasReady(), aggregate.get());
  }

  /** Whether calls' latencies are recorded (outlier detection): then a call needs its start time. */
  boolean recordsLatency() {
    return outliers != null;
  }

  /**
   * A call completed: it leaves the queue if it was waiting; its endpoint learns its latency and
   * outcome; a waiting call may take the room it freed. Any thread.
   */
  void callDone(ClientCall<?, ?> call) {
    dispatcher.callDone(call);
    if (outliers != null) {
      CallProgress progress = call.progressAtDone();
      ClientConnection c = call.connectionAtDone();
      // Only a call that may have reached its server says something about it.
      if (c != null && progress != null && progress.mayHaveReachedServer() && c.subchannel() != null) {
        long now = scheduler.nanoTime();
        record(c.subchannel(), now, now - call.startNanos(), call.outcome(), call.statusFromServer());
      }
    }
    dispatcher.drainIfWaiting();
  }

  /** {@code s} served a call: its latency estimate and failure counts learn, and ejection may follow. */
  void record(Subchannel s, long now, long rttNanos, StatusCode status, boolean statusFromServer) {
    EndpointStats.Verdict v = s.stats.record(now, rttNanos, status, statusFromServer);

    if (v != EndpointStats.Verdict.NONE && outliers != null) {
      outliers.verdict(s, v, status);
    }
  }

  // ---- subchannel events ----

  void connectionBound(Subchannel s, Subchannel.Slot slot, ClientConnection c) {
    synchronized (this) {
      slot.connection = c;
      open.add(c);
    }
  }

  void connectionReady(Subchannel s, Subchannel.Slot slot, ClientConnection c) {
    synchronized (this) {
      if (!s.onReady(slot, c)) {
        return;
      }
      updateState();
      rebuildPicker();
    }
    dispatcher.drainWaiters();
  }

  void connectFailed(Subchannel s, Subchannel.Slot slot, ClientConnection c, String reason, Throwable cause) {
    ChannelState before;
    ChannelState now;
    synchronized (this) {
      if (!s.onConnectFailed(slot, c, reason, cause)) {
        return;
      }
      aggregate.failed(reason, cause);
      before = aggregate.get();
      updateState(false);
      now = aggregate.get();
      rebuildPicker();
    }
    if (now == ChannelState.TRANSIENT_FAILURE) {
      int told = dispatcher.failWaiting(reason, cause);
      if (before != now) {
        // Said once: to the calls that fail with the reason, or, when none is there to hear it, here.
        aggregate.logFailure(before, now, reason, told);
      }
    }
    refreshResolver.run();
  }

  void retryDue(Subchannel s, Subchannel.Slot slot) {
    synchronized (this) {
      if (s.isShutdown() || shutdown) {
        return;
      }
      s.retryDue(slot);
      updateState();
      rebuildPicker();
    }
  }

  void connectionDraining(Subchannel s, Subchannel.Slot slot, ClientConnection c) {
    synchronized (this) {
      // Replaced at once if calls are waiting or the pool is kept open; otherwise when a call asks.
      if (!s.onDraining(slot, c, pool.eager() || !pending.isEmpty())) {
        return;
      }
      updateState();
      rebuildPicker();
    }
    dispatcher.drainWaiters();
    refreshResolver.run();
  }

  void heartbeatDeath(Subchannel s) {
    synchronized (this) {
      if (s.isShutdown()) {
        return;
      }
      s.onHeartbeatDeath();
      rebuildPicker();
    }
    refreshResolver.run();
  }

  void connectionClosed(Subchannel s, Subchannel.Slot slot, ClientConnection c) {
    open.remove(c);
    synchronized (this) {
      if (!s.isShutdown() && s.onClosed(slot, c, pool.eager() || !pending.isEmpty())) {
        updateState();
        rebuildPicker();
      }
    }
    dispatcher.drainWaiters();
    onConnectionClosed.run();
  }

  // ---- state and picker (guarded) ----

  private void updateState() {
    updateState(true);
  }

  /** See {@link AggregateState#update}. Guarded. */
  private void updateState(boolean logTransientFailure) {
    aggregate.update(endpoints.all(), shutdown, active, logTransientFailure);
  }

  /** Publishes a picker of the endpoints as they are now. Guarded. */
  void rebuildPicker() {
    picker = shutdown ? Picker.empty(false, this)
        : Picker.of(options.policy(), endpoints.all(), this, random, scheduler::nanoTime, roundRobinStart++);
  }

  /** The endpoints now, in the resolver's order. Guarded. */
  List<Subchannel> subchannels() {
    return new ArrayList<>(endpoints.all());
  }

  // ---- shutdown ----

  /** No more connections or retries; returns the connections still open, for the caller to close. */
  List<ClientConnection> shutdown() {
    synchronized (this) {
      shutdown = true;
      for (Subchannel s : endpoints.all()) {
        s.shutdown(false, "channel shut down");
      }
      if (outliers != null) {
        outliers.shutdown();
      }
      updateState();
      rebuildPicker();
    }
    dispatcher.shutdown();
    return open.list();
  }

  // ---- for stats and tests ----

  /** For {@link ChannelStats}: the open connections that are connecting, ready and draining, in that order. */
  int[] connectionsByState() {
    return open.byState();
  }

  /** Whether every connection has closed. */
  boolean allClosed() {
    return open.isEmpty();
  }

  /** For tests: connection attempts started so far. */
  int connectAttempts() {
    return connectAttempts.get();
  }

  /** Calls waiting for a pick, as counted against {@link PoolOptions#maxPendingCalls()}. */
  int waitingCalls() {
    return pending.waiting();
  }

  /** For tests: entries in the queue of waiting calls (live or finished). */
  int queuedCalls() {
    return pending.size();
  }

  /** For tests: the connections new calls may go to. */
  synchronized List<ClientConnection> readyConnections() {
    List<ClientConnection> all = new ArrayList<>();
    for (Subchannel s : endpoints.all()) {
      all.addAll(s.readyConnections());
    }
    return all;
  }

  /** For tests: every connection not yet closed, including draining ones. */
  Set<ClientConnection> openConnections() {
    return open.set();
  }

  /** For tests: the outlier detector (null for a channel to one fixed server). */
  OutlierDetector outliers() {
    return outliers;
  }

  /** The picker now: where the dispatcher takes connections from, without a lock. */
  Picker picker() {
    return picker;
  }
}
