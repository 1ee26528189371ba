package dev.ferry.client;

import dev.ferry.StatusCode;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
 * <p><b>Dispatch.</b> A call takes a connection from the current picker, without a lock. If none has
 * room, the slow path (under the lock) asks idle endpoints to connect and looks again; then the call
 * waits in the queue, or fails at once with UNAVAILABLE when the channel is in TRANSIENT_FAILURE and
 * the call is not wait-for-ready. A call a server did not process moves to another endpoint.
 *
 * <p><b>State.</b> READY if any endpoint is ready; else CONNECTING if any is connecting (or the first
 * resolution is awaited); else TRANSIENT_FAILURE if any failed (or the resolver failed before finding
 * anything); else IDLE. A channel to one server therefore has that server's state.
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
  private static final Subchannel[] NO_SUBCHANNELS = new Subchannel[0];

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
  final PendingCalls pending;
  final AtomicInteger connectAttempts = new AtomicInteger();
  private final Set<ClientConnection> open = ConcurrentHashMap.newKeySet();

  private Map<InetSocketAddress, Subchannel> subchannels = new LinkedHashMap<>(); // guarded
  private boolean shutdown; // guarded
  /** A call came, or the pool is eager: endpoints connect as soon as they appear. Guarded. */
  private boolean active;
  /** The resolver listed endpoints at least once. Guarded. */
  private boolean resolved;
  private String resolutionFailure; // guarded
  private volatile String lastFailure;
  private volatile Throwable lastFailureCause;
  private volatile ChannelState state = ChannelState.IDLE;
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
    this.outliers = balanced ? new OutlierDetector(this, options, scheduler, random, listener) : null;
    this.picker = Picker.empty(false, this);
  }

  /** Who to ask for a fresh resolution when the endpoints seem stale (a connection failed, GOAWAY). */
  void refreshResolverWith(Runnable refresh) {
    this.refreshResolver = refresh;
  }

  ChannelState state() {
    return state;
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
      Map<InetSocketAddress, Subchannel> next = new LinkedHashMap<>();
      double initial = medianLatency();
      int added = 0;
      for (Endpoint e : endpoints) {
        if (next.containsKey(e.address())) {
          continue;
        }
        Subchannel s = subchannels.remove(e.address());
        if (s == null) {
          s = new Subchannel(this, e, configs.apply(e), pool.size(), backoff, scheduler, random, opener, listener,
              new EndpointStats(options.consecutiveFailures(), initial, scheduler.nanoTime()));
          added++;
        } else {
          s.endpoint(e);
        }
        next.put(e.address(), s);
      }
      int removed = subchannels.size();
      for (Subchannel gone : subchannels.values()) {
        toClose.addAll(gone.shutdown(true, "endpoint " + gone.endpoint().label() + " is no longer listed"));
      }
      boolean first = !resolved;
      subchannels = next;
      resolved = true;
      resolutionFailure = null;
      if ((added > 0 || removed > 0) && outliers != null) {
        if (first) {
          log.info("Channel to {}: {} endpoint{} {}", authority, next.size(), next.size() == 1 ? "" : "s",
              labels(next.values()));
        } else {
          log.info("Channel to {}: endpoints now {} ({} added, {} removed)", authority, labels(next.values()), added,
              removed);
        }
      }
      if (active || pool.eager()) {
        requestConnections();
      }
      if (outliers != null) {
        outliers.endpointsChanged(next.size());
      }
      updateState();
      rebuildPicker();
    }
    for (ClientConnection c : toClose) {
      c.close("endpoint no longer listed by the resolver");
    }
    drainWaiters();
  }

  private static String labels(Iterable<Subchannel> subchannels) {
    StringBuilder b = new StringBuilder("[");
    for (Subchannel s : subchannels) {
      b.append(b.length() > 1 ? ", " : "").append(s.endpoint().label());
    }
    return b.append(']').toString();
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
      resolutionFailure = why;
      lastFailure = why;
      lastFailureCause = cause;
      before = state;
      updateState(false);
      now = state;
    }
    if (now == ChannelState.TRANSIENT_FAILURE) {
      int told = pending.failFast(noConnection(why), cause) + pending.arriving.get();
      if (before != now && told == 0) {
        log.warn("Channel to {}: {} -> {} ({})", authority, before, now, why);
      }
    }
  }

  /** The median latency estimate of the endpoints that get calls; 0 without any. Guarded. */
  private double medianLatency() {
    if (subchannels.isEmpty()) {
      return 0;
    }
    long now = scheduler.nanoTime();
    double[] latencies = new double[subchannels.size()];
    int n = 0;
    for (Subchannel s : subchannels.values()) {
      if (s.stats.ejection() == EndpointStats.Ejection.ACTIVE) {
        latencies[n++] = s.stats.latency(now);
      }
    }
    if (n == 0) {
      return 0;
    }
    Arrays.sort(latencies, 0, n);
    return n % 2 == 1 ? latencies[n / 2] : (latencies[n / 2 - 1] + latencies[n / 2]) / 2;
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

  /**
   * Asks endpoints to connect, as the policy wants: every one, or for pick-first the first that is not
   * failing. Returns whether an attempt started. Guarded.
   */
  private boolean requestConnections() {
    int before = connectAttempts.get();
    if (options.policy() == BalancerOptions.Policy.PICK_FIRST) {
      for (Subchannel s : subchannels.values()) {
        ChannelState st = s.state();
        if (st == ChannelState.TRANSIENT_FAILURE) {
          continue; // its retries go on in the background; try the next one meanwhile
        }
        s.requestConnection();
        if (s.state() == ChannelState.READY || s.state() == ChannelState.CONNECTING) {
          break;
        }
      }
    } else {
      for (Subchannel s : subchannels.values()) {
        s.requestConnection();
      }
    }
    return connectAttempts.get() != before;
  }

  // ---- dispatch ----

  /** Starts {@code call} on a ready connection, or queues or fails it. Any thread. */
  void dispatch(ClientCall<?, ?> call) {
    dispatch(call, null);
  }

  /**
   * Starts again {@code call}, which {@code from}'s server never processed (or never received): on
   * another endpoint if one can take it. A connection's event loop.
   */
  void redispatch(ClientCall<?, ?> call, Subchannel from) {
    dispatch(call, from);
  }

  private void dispatch(ClientCall<?, ?> call, Subchannel exclude) {
    ClientConnection c = picker.pick(exclude);
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
    boolean anyReady;
    ChannelState now;
    synchronized (this) {
      if (shutdown) {
        call.fail(StatusCode.UNAVAILABLE, "channel shut down", null);
        return null;
      }
      boolean wasActive = active;
      active = true;
      if (requestConnections() || !wasActive) {
        updateState();
        rebuildPicker();
      }
      anyReady = picker.hasReady();
      now = state;
    }
    ClientConnection c = picker.pick(exclude);
    if (c != null) {
      return c;
    }
    if (!anyReady && now == ChannelState.TRANSIENT_FAILURE && !call.waitForReady()) {
      call.fail(StatusCode.UNAVAILABLE, noConnection(lastFailure), lastFailureCause);
      return null;
    }
    if (!pending.reserve()) {
      call.fail(StatusCode.RESOURCE_EXHAUSTED, anyReady
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
    String failure = lastFailure;
    if (state == ChannelState.TRANSIENT_FAILURE && failure != null) {
      // A connection attempt failed while this call was on its way into the queue, after the waiting
      // calls were failed: fail it now rather than at the next attempt.
      pending.failFast(noConnection(failure), lastFailureCause);
    }
    return null;
  }

  /** Starts waiting calls while some connection has room for them. Any thread. */
  void drainWaiters() {
    while (!pending.isEmpty()) {
      ClientConnection c = picker.pick(null);
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

  /**
   * A call completed: it leaves the queue if it was waiting; its endpoint learns its latency and
   * outcome; a waiting call may take the room it freed. Any thread.
   */
  void callDone(ClientCall<?, ?> call) {
    pending.callDone(call);
    if (outliers != null) {
      CallProgress progress = call.progressAtDone();
      ClientConnection c = call.connectionAtDone();
      // Only a call that may have reached its server says something about it.
      if (c != null && progress != null && progress.mayHaveReachedServer() && c.subchannel() != null) {
        long now = scheduler.nanoTime();
        record(c.subchannel(), now, now - call.startNanos(), call.outcome(), call.statusFromServer());
      }
    }
    if (pending.waiting() > 0) {
      drainWaiters();
    }
  }

  /** {@code s} served a call: its latency estimate and failure counts learn, and ejection may follow. */
  void record(Subchannel s, long now, long rttNanos, StatusCode status, boolean statusFromServer) {
    EndpointStats.Verdict v = s.stats.record(now, rttNanos, status, statusFromServer);

    if (v != EndpointStats.Verdict.NONE && outliers != null) {
      outliers.verdict(s, v, status);
    }
  }

  /**
   * Why a call cannot have a connection: the last failure, which names the server ("could not connect
   * to host:port: connection refused"), so that the address is said once; other reasons are framed.
   */
  private String noConnection(String reason) {
    if (reason == null) {
      reason = "no endpoint is ready";
    }
    return reason.contains(authority) ? reason : "no connection to " + authority + " is ready (" + reason + ")";
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
    drainWaiters();
  }

  void connectFailed(Subchannel s, Subchannel.Slot slot, ClientConnection c, String reason, Throwable cause) {
    ChannelState before;
    ChannelState now;
    synchronized (this) {
      if (!s.onConnectFailed(slot, c, reason, cause)) {
        return;
      }
      lastFailure = reason;
      lastFailureCause = cause;
      before = state;
      updateState(false);
      now = state;
      rebuildPicker();
    }
    if (now == ChannelState.TRANSIENT_FAILURE) {
      int told = pending.failFast(noConnection(reason), cause) + pending.arriving.get();
      if (before != now) {
        // Said once: to the calls that fail with the reason, or, when none is there to hear it, here.
        if (told == 0) {
          log.warn("Channel to {}: {} -> {} ({})", authority, before, now, reason);
        } else {
          log.info("Channel to {}: {} -> {} (the reason went to {} waiting call{})", authority, before, now,
              told, told == 1 ? "" : "s");
        }
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
    drainWaiters();
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
    drainWaiters();
    onConnectionClosed.run();
  }

  // ---- state and picker (guarded) ----

  private void updateState() {
    updateState(true);
  }

  /**
   * Recomputes the aggregate state and logs a change; a change to TRANSIENT_FAILURE only if
   * {@code logTransientFailure} (else the caller logs it, knowing who was told).
   */
  private void updateState(boolean logTransientFailure) {
    ChannelState next;
    if (shutdown) {
      next = ChannelState.SHUTDOWN;
    } else if (subchannels.isEmpty()) {
      next = resolutionFailure != null ? ChannelState.TRANSIENT_FAILURE
          : active ? ChannelState.CONNECTING : ChannelState.IDLE;
    } else {
      boolean connecting = false;
      boolean failing = false;
      next = ChannelState.IDLE;
      for (Subchannel s : subchannels.values()) {
        ChannelState st = s.state();
        if (st == ChannelState.READY) {
          next = ChannelState.READY;
          break;
        }
        connecting |= st == ChannelState.CONNECTING;
        failing |= st == ChannelState.TRANSIENT_FAILURE;
      }
      if (next != ChannelState.READY) {
        next = connecting ? ChannelState.CONNECTING : failing ? ChannelState.TRANSIENT_FAILURE : ChannelState.IDLE;
      }
    }
    ChannelState previous = state;
    if (next != previous) {
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

  /** Publishes a picker of the endpoints as they are now. Guarded. */
  void rebuildPicker() {
    if (shutdown) {
      picker = Picker.empty(false, this);
      return;
    }
    List<Subchannel> primary = new ArrayList<>(subchannels.size());
    List<Subchannel> fallback = new ArrayList<>(0);
    Subchannel probe = null;
    boolean needsConnection = false;
    for (Subchannel s : subchannels.values()) {
      needsConnection |= s.needsConnection();
      if (!s.hasReady()) {
        continue;
      }
      EndpointStats.Ejection e = s.stats.ejection();
      if (e == EndpointStats.Ejection.PROBE_READY && probe == null) {
        probe = s;
      }
      if (e != EndpointStats.Ejection.ACTIVE || s.isSuspect()) {
        fallback.add(s);
      } else {
        primary.add(s);
      }
    }
    Subchannel[] p = primary.toArray(NO_SUBCHANNELS);
    Subchannel[] f = fallback.toArray(NO_SUBCHANNELS);
    switch (options.policy()) {
      case ROUND_ROBIN:
        picker = new Picker.RoundRobin(p, f, probe, needsConnection, this, roundRobinStart++);
        break;
      case PICK_FIRST:
        picker = new Picker.PickFirst(p, f, probe, needsConnection, this);
        break;
      default:
        picker = new Picker.PowerOfTwoChoices(p, f, probe, needsConnection, this, random, scheduler::nanoTime);
    }
  }

  /** The endpoints now, in the resolver's order. Guarded. */
  List<Subchannel> subchannels() {
    return new ArrayList<>(subchannels.values());
  }

  // ---- shutdown ----

  /** No more connections or retries; returns the connections still open, for the caller to close. */
  List<ClientConnection> shutdown() {
    synchronized (this) {
      shutdown = true;
      for (Subchannel s : subchannels.values()) {
        s.shutdown(false, "channel shut down");
      }
      if (outliers != null) {
        outliers.shutdown();
      }
      updateState();
      rebuildPicker();
    }
    pending.failFast("channel shut down", null);
    for (ClientCall<?, ?> call; (call = pending.pollLive()) != null; ) {
      call.fail(StatusCode.UNAVAILABLE, "channel shut down", null);
    }
    return new ArrayList<>(open);
  }

  // ---- for stats and tests ----

  /** For {@link ChannelStats}: the open connections that are connecting, ready and draining, in that order. */
  int[] connectionsByState() {
    int[] counts = new int[3];
    for (ClientConnection c : open) {
      if (!c.handshakeFuture().isDone()) {
        counts[0]++;
      } else if (c.isReady()) {
        counts[1]++;
      } else if (c.handshakeFuture().isSuccess()) {
        counts[2]++; // handshake done, takes no new calls, not closed yet
      }
    }
    return counts;
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
    for (Subchannel s : subchannels.values()) {
      all.addAll(s.readyConnections());
    }
    return all;
  }

  /** For tests: every connection not yet closed, including draining ones. */
  Set<ClientConnection> openConnections() {
    return Set.copyOf(open);
  }

  /** For tests: the outlier detector (null for a channel to one fixed server). */
  OutlierDetector outliers() {
    return outliers;
  }

  /** For tests: the picker now. */
  Picker picker() {
    return picker;
  }
}
