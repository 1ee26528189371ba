package dev.ferry.client;

import dev.ferry.StatusCode;
import io.netty.channel.EventLoopGroup;
import dev.ferry.internal.Settings;
import io.netty.util.concurrent.FutureListener;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The channel's connections to its server: a fixed number of slots, each holding at most one
 * connection, and the queue of calls waiting for one.
 *
 * <p><b>Picking.</b> A call goes to the ready connection with the fewest calls in flight that is still
 * under the server's MAX_CONCURRENT_CALLS. That path reads a snapshot array and one counter per
 * connection; it takes no lock. A connection that is closing, draining (GOAWAY) or dead is never in the
 * snapshot, so no call starts on it.
 *
 * <p><b>Waiting.</b> With no room (all connections at the server's limit) or no ready connection
 * (connecting), calls wait in a bounded queue ({@link PoolOptions#maxPendingCalls()}, then
 * RESOURCE_EXHAUSTED), drained when a connection becomes ready or a call completes. While the channel
 * is in TRANSIENT_FAILURE (the last attempt failed, none is ready) calls fail fast with UNAVAILABLE,
 * unless they are wait-for-ready; their deadline bounds the wait either way.
 *
 * <p><b>Connecting.</b> Slots connect on first use (or at start, when eager), and again on demand once
 * their connection closed or drained. A failed attempt is retried in the background after an
 * exponential backoff with jitter; a slot has at most one attempt in flight; shutdown cancels retries.
 *
 * <p>Threads: any. Slot state is guarded by {@code this}; nothing here blocks or waits on a future.
 */
final class ConnectionPool {
  private static final Logger log = LoggerFactory.getLogger(ConnectionPool.class);
  private static final ClientConnection[] NONE = new ClientConnection[0];

  private final String authority;
  private final PoolOptions options;
  private final BackoffOptions backoff;
  private final EventLoopGroup group;
  /** Random numbers in [0, 1): backoff jitter, tie-breaking; seeded in tests that replay a schedule. */
  private final DoubleSupplier random;
  private final Function<ClientConnection.Listener, ClientConnection> opener;
  private final Slot[] slots;
  private final Set<ClientConnection> open = ConcurrentHashMap.newKeySet();
  private final ConcurrentLinkedDeque<ClientCall<?, ?>> waiters = new ConcurrentLinkedDeque<>();
  private final AtomicInteger waiting = new AtomicInteger();
  /** Calls between the start of acquireSlowly and their place in the queue: they will hear of a failure. */
  private final AtomicInteger arriving = new AtomicInteger();
  private final AtomicInteger connectAttempts = new AtomicInteger();
  private final Runnable onConnectionClosed;
  private final ChannelListener listener;

  private volatile ClientConnection[] ready = NONE;
  private volatile ChannelState state = ChannelState.IDLE;
  private volatile String lastFailure; // guarded by this for writes
  private volatile Throwable lastFailureCause;
  private boolean shutdown; // guarded by this

  /**
   * @param opener opens a connection (without waiting) that reports to the given listener
   * @param onConnectionClosed told after any connection of this pool closed
   * @param listener the channel's listener (state changes, reconnects)
   */
  ConnectionPool(String authority, PoolOptions options, BackoffOptions backoff, EventLoopGroup group,
      DoubleSupplier random,
      Function<ClientConnection.Listener, ClientConnection> opener, Runnable onConnectionClosed,
      ChannelListener listener) {
    this.authority = authority;
    this.options = options;
    this.backoff = backoff;
    this.group = group;
    this.random = random;
    this.opener = opener;
    this.onConnectionClosed = onConnectionClosed;
    this.listener = listener;
    this.slots = new Slot[options.size()];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = new Slot(i);
    }
  }

  ChannelState state() {
    return state;
  }

  /** Opens every slot now (eager pools). */
  void connectAll() {
    synchronized (this) {
      for (Slot s : slots) {
        maybeConnect(s);
      }
      updateState();
    }
  }

  // ---- dispatch ----

  /** Starts {@code call} on a ready connection, or queues or fails it. Any thread. */
  void dispatch(ClientCall<?, ?> call) {
    ClientConnection c = acquire();
    if (c == null) {
      c = acquireSlowly(call);
      if (c == null) {
        return; // queued or failed
      }
    }
    start(call, c);
  }

  private static void start(ClientCall<?, ?> call, ClientConnection c) {
    if (call.bind(c)) {
      c.start(call);
    }
  }

  /** The least-loaded ready connection with room, its in-flight count already raised; null if none. */
  private ClientConnection acquire() {
    ClientConnection[] snapshot = ready;
    int n = snapshot.length;
    if (n == 0) {
      return null;
    }
    if (n == 1) {
      ClientConnection only = snapshot[0];
      return only.isReady() && only.tryAcquire() ? only : null;
    }
    // Least loaded first; start at a random index so that ties spread over the connections.
    int start = Math.min(n - 1, (int) (random.getAsDouble() * n));
    for (int attempt = 0; attempt < n; attempt++) {
      ClientConnection best = null;
      int bestLoad = Integer.MAX_VALUE;
      for (int i = 0; i < n; i++) {
        ClientConnection c = snapshot[(start + i) % n];
        int load = c.inFlight();
        if (load < bestLoad && load < c.maxConcurrentCalls() && c.isReady()) {
          best = c;
          bestLoad = load;
        }
      }
      if (best == null) {
        return null;
      }
      if (best.tryAcquire()) {
        return best;
      }
    }
    return null;
  }

  private ClientConnection acquireSlowly(ClientCall<?, ?> call) {
    arriving.incrementAndGet();
    try {
      return acquireOrQueue(call);
    } finally {
      arriving.decrementAndGet();
    }
  }

  private ClientConnection acquireOrQueue(ClientCall<?, ?> call) {
    boolean anyReady;
    ChannelState now;
    synchronized (this) {
      if (shutdown) {
        call.fail(StatusCode.UNAVAILABLE, "channel shut down", null);
        return null;
      }
      for (Slot s : slots) {
        maybeConnect(s);
      }
      updateState();
      anyReady = ready.length > 0;
      now = state;
    }
    ClientConnection c = acquire();
    if (c != null) {
      return c;
    }
    if (!anyReady && now == ChannelState.TRANSIENT_FAILURE && !call.waitForReady()) {
      call.fail(StatusCode.UNAVAILABLE, noConnection(lastFailure), lastFailureCause);
      return null;
    }
    if (waiting.incrementAndGet() > options.maxPendingCalls()) {
      waiting.decrementAndGet();
      call.fail(StatusCode.RESOURCE_EXHAUSTED, anyReady
          ? "every connection to " + authority + " is at the server's limit of calls in flight, and "
              + options.maxPendingCalls() + " calls are already waiting"
          : options.maxPendingCalls() + " calls are already waiting for a connection to " + authority, null);
      return null;
    }
    if (!call.advance(CallProgress.IDLE, CallProgress.QUEUED)) {
      waiting.decrementAndGet();
      return null; // completed meanwhile (its deadline, a cancel)
    }
    waiters.addLast(call);
    drainWaiters(); // room may have appeared while we queued
    String failure = lastFailure;
    if (state == ChannelState.TRANSIENT_FAILURE && failure != null) {
      // A connection attempt failed while this call was on its way into the queue, after the waiting
      // calls were failed: fail it now rather than at the next attempt.
      failFastWaiters(failure);
    }
    return null;
  }

  /** Starts waiting calls while there is a connection with room for them. Any thread. */
  void drainWaiters() {
    while (!waiters.isEmpty()) {
      ClientConnection c = acquire();
      if (c == null) {
        return;
      }
      ClientCall<?, ?> call = pollLiveWaiter();
      if (call == null) {
        c.release();
        return;
      }
      start(call, c);
    }
  }

  private ClientCall<?, ?> pollLiveWaiter() {
    ClientCall<?, ?> call;
    while ((call = waiters.pollFirst()) != null) {
      waiting.decrementAndGet();
      if (call.advance(CallProgress.QUEUED, CallProgress.IDLE)) {
        return call;
      }
      // Completed while it waited: callDone found it still queued, or it is about to.
    }
    return null;
  }

  /**
   * A call completed: a waiting call that ended (its deadline, a cancel) leaves the queue at once, so
   * that it stops counting against {@link PoolOptions#maxPendingCalls()}; a call that ran may have freed
   * room for a waiting one. Any thread.
   */
  void callDone(ClientCall<?, ?> call) {
    if (call.progressAtDone() == CallProgress.QUEUED && waiters.removeFirstOccurrence(call)) {
      waiting.decrementAndGet();
    }
    if (waiting.get() > 0) {
      drainWaiters();
    }
  }

  /**
   * The channel is in TRANSIENT_FAILURE: waiting calls that are not wait-for-ready fail now, with
   * {@code reason} (which names the server when it is a connection's failure). Returns how many.
   */
  private int failFastWaiters(String reason) {
    String why = noConnection(reason);
    int failed = 0;
    for (Iterator<ClientCall<?, ?>> it = waiters.iterator(); it.hasNext(); ) {
      ClientCall<?, ?> call = it.next();
      if (call.isFinished() || !call.waitForReady()) {
        if (waiters.removeFirstOccurrence(call)) {
          waiting.decrementAndGet();
          failed += call.isFinished() ? 0 : 1;
          call.fail(StatusCode.UNAVAILABLE, why, lastFailureCause);
        }
      }
    }
    return failed;
  }

  /**
   * Why a call cannot have a connection: the last connection failure, which names the server ("could not
   * connect to host:port: connection refused"), so the address is said once; other reasons are framed.
   */
  private String noConnection(String reason) {
    return reason.contains(authority) ? reason : "no connection to " + authority + " is ready (" + reason + ")";
  }

  // ---- slots ----

  /** Starts connecting {@code slot} if it has no connection, no attempt in flight and no pending retry. */
  private void maybeConnect(Slot slot) {
    if (shutdown || slot.connection != null || slot.retry != null) {
      return;
    }
    // The listener puts the connection in the slot (SlotListener.bind) before its handshake listener
    // can run: a connect that fails inline must find it there, or its retry would never be scheduled.
    connectAttempts.incrementAndGet();
    if (slot.attempts++ > 0) {
      listener.reconnecting();
    }
    ClientConnection c = opener.apply(new SlotListener(slot));
    c.closeFuture().whenComplete((v, t) -> {
      open.remove(c);
      onClosed(slot, c);
      onConnectionClosed.run();
    });
  }

  private void onReady(Slot slot, ClientConnection c) {
    synchronized (this) {
      if (slot.connection != c) {
        return;
      }
      slot.failures = 0;
      lastFailure = null;
      lastFailureCause = null;
      rebuildReady();
      updateState();
    }
    drainWaiters();
  }

  private void onConnectFailed(Slot slot, ClientConnection c, String reason, Throwable cause) {
    ChannelState before;
    ChannelState now;
    synchronized (this) {
      if (slot.connection != c) {
        return;
      }
      slot.connection = null;
      slot.failures++;
      lastFailure = reason;
      lastFailureCause = cause;
      rebuildReady();
      scheduleRetry(slot);
      before = state;
      updateState(false);
      now = state;
    }
    if (now == ChannelState.TRANSIENT_FAILURE) {
      int told = failFastWaiters(reason) + arriving.get(); // arriving calls fail on entering the queue
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
  }

  private void scheduleRetry(Slot slot) {
    if (shutdown) {
      return;
    }
    long delay = backoff.delayNanos(slot.failures, random.getAsDouble());
    log.debug("Connection attempt {} of slot {} to {} failed; retrying in {} ms", slot.failures, slot.index,
        authority, TimeUnit.NANOSECONDS.toMillis(delay));
    try {
      slot.retry = group.next().schedule(() -> {
        synchronized (this) {
          slot.retry = null;
          maybeConnect(slot);
          updateState();
        }
      }, delay, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      slot.retry = null; // the group is shutting down with the channel
    }
  }

  /** The connection stops taking new calls (GOAWAY): the slot is free for a replacement. */
  private void onDraining(Slot slot, ClientConnection c) {
    boolean replace;
    synchronized (this) {
      if (slot.connection != c) {
        return;
      }
      slot.connection = null;
      rebuildReady();
      // Replace it at once if calls are waiting or the pool is kept open; otherwise on the next call.
      replace = options.eager() || !waiters.isEmpty();
      if (replace) {
        maybeConnect(slot);
      }
      updateState();
    }
    drainWaiters();
  }

  private void onClosed(Slot slot, ClientConnection c) {
    synchronized (this) {
      if (!c.handshakeFuture().isSuccess()) {
        return; // an attempt that never became ready: its handshake failure reaches onConnectFailed
      }
      if (slot.connection == c) {
        slot.connection = null;
        rebuildReady();
        if (options.eager() || !waiters.isEmpty()) {
          maybeConnect(slot);
        }
        updateState();
      } else {
        rebuildReady();
      }
    }
    drainWaiters();
  }

  private void rebuildReady() {
    List<ClientConnection> list = new ArrayList<>(slots.length);
    for (Slot s : slots) {
      ClientConnection c = s.connection;
      if (c != null && c.isReady()) {
        list.add(c);
      }
    }
    ready = list.isEmpty() ? NONE : list.toArray(NONE);
  }

  private void updateState() {
    updateState(true);
  }

  /**
   * Recomputes the state and logs a change; a change to TRANSIENT_FAILURE only if
   * {@code logTransientFailure} (else the caller logs it, knowing who was told).
   */
  private void updateState(boolean logTransientFailure) {
    ChannelState next;
    if (shutdown) {
      next = ChannelState.SHUTDOWN;
    } else if (ready.length > 0) {
      next = ChannelState.READY;
    } else if (lastFailure != null) {
      next = ChannelState.TRANSIENT_FAILURE;
    } else {
      boolean connecting = false;
      for (Slot s : slots) {
        connecting |= s.connection != null;
      }
      next = connecting ? ChannelState.CONNECTING : ChannelState.IDLE;
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

  // ---- shutdown ----

  /** No more connections or retries; returns the connections still open, for the caller to close. */
  List<ClientConnection> shutdown() {
    synchronized (this) {
      shutdown = true;
      for (Slot s : slots) {
        if (s.retry != null) {
          s.retry.cancel(false);
          s.retry = null;
        }
      }
      ready = NONE;
      updateState();
    }
    failFastWaiters("channel shut down");
    for (ClientCall<?, ?> call; (call = pollLiveWaiter()) != null; ) {
      call.fail(StatusCode.UNAVAILABLE, "channel shut down", null);
    }
    return new ArrayList<>(open);
  }

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

  /** Calls waiting for a connection, as counted against {@link PoolOptions#maxPendingCalls()}. */
  int waitingCalls() {
    return waiting.get();
  }

  /** For tests: entries in the queue of waiting calls (live or finished). */
  int queuedCalls() {
    return waiters.size();
  }

  /** For tests: the connections new calls may go to. */
  List<ClientConnection> readyConnections() {
    return List.of(ready);
  }

  /** For tests: every connection not yet closed, including draining ones. */
  Set<ClientConnection> openConnections() {
    return Set.copyOf(open);
  }

  private static final class Slot {
    final int index;
    ClientConnection connection; // the slot's current connection (connecting or ready), or null
    ScheduledFuture<?> retry; // a pending reconnect after a failure, or null
    int failures;
    int attempts; // connections opened here so far (the first is not a reconnect)

    Slot(int index) {
      this.index = index;
    }
  }

  /** Reports one connection's life to its slot. */
  private final class SlotListener implements ClientConnection.Listener {
    private final Slot slot;
    private ClientConnection connection;

    SlotListener(Slot slot) {
      this.slot = slot;
    }

    @Override
    public void bind(ClientConnection c) {
      this.connection = c;
      synchronized (ConnectionPool.this) {
        slot.connection = c;
        open.add(c);
      }
      c.handshakeFuture().addListener((FutureListener<Settings>) f -> {
        if (f.isSuccess()) {
          onReady(slot, c);
        } else {
          Throwable failure = f.cause();
          onConnectFailed(slot, c, Failures.describe(failure),
              failure instanceof Failures.ConnectFailure ? failure.getCause() : failure);
        }
      });
    }

    @Override
    public void draining() {
      onDraining(slot, connection);
    }
  }
}
