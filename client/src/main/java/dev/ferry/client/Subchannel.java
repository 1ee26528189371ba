package dev.ferry.client;

import dev.ferry.internal.Settings;
import io.netty.util.concurrent.FutureListener;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The channel's connections to one server (endpoint): a fixed number of slots, each holding at most one
 * connection, their connects and reconnect backoff, and the endpoint's state. What the balancer learned
 * of the server from its calls is in {@link #stats}.
 *
 * <p><b>Acquiring.</b> {@link #acquire()} gives the ready connection with the fewest calls in flight that
 * is still under the server's MAX_CONCURRENT_CALLS, its count already raised. It reads a snapshot array
 * and one counter per connection; it takes no lock. A connection that is closing, draining (GOAWAY) or
 * dead is never in the snapshot.
 *
 * <p><b>Connecting.</b> Slots connect when the balancer asks ({@link #requestConnection}): on a call that
 * found no connection, at once for an eager pool, or when the server is new while the channel is in
 * use. A failed attempt is retried in the background after an exponential backoff with jitter, on the
 * channel's {@link Scheduler}; a slot has at most one attempt in flight.
 *
 * <p><b>Suspect.</b> A GOAWAY or a heartbeat death on one connection usually means the server is going
 * away or gone: the whole endpoint is marked suspect, and the balancer stops picking it (while another
 * endpoint is there to pick) until one of its connections completes a handshake again.
 *
 * <p>Threads: {@link #acquire}, {@link #inFlight} and the read-only accessors run on any thread without a
 * lock. Everything else runs with the {@link Balancer}'s lock held, which guards the fields so marked.
 */
final class Subchannel {
  private static final Logger log = LoggerFactory.getLogger(Subchannel.class);
  private static final ClientConnection[] NONE = new ClientConnection[0];

  /** Opens one connection of a subchannel, reporting to {@code listener}; never waits. */
  interface Opener {
    ClientConnection open(Subchannel subchannel, ClientConnection.Listener listener);
  }

  private final Balancer balancer;
  private final ClientConnection.Config config;
  private final BackoffOptions backoff;
  private final Scheduler scheduler;
  private final DoubleSupplier random;
  private final Opener opener;
  private final ChannelListener listener;
  private final Slot[] slots;
  final EndpointStats stats;

  /** The endpoint as the resolver last described it (its weight and zone may change). */
  private volatile Endpoint endpoint;
  private volatile ClientConnection[] ready = NONE;
  private ChannelState state = ChannelState.IDLE; // guarded
  private String lastFailure; // guarded
  private Throwable lastFailureCause; // guarded
  private boolean suspect; // guarded
  private boolean shutdown; // guarded
  /** The outlier detector's timer that ends this endpoint's ejection; guarded. */
  Future<?> ejectionTimer;

  Subchannel(Balancer balancer, Endpoint endpoint, ClientConnection.Config config, int poolSize,
      BackoffOptions backoff, Scheduler scheduler, DoubleSupplier random, Opener opener, ChannelListener listener,
      EndpointStats stats) {
    this.balancer = balancer;
    this.endpoint = endpoint;
    this.config = config;
    this.backoff = backoff;
    this.scheduler = scheduler;
    this.random = random;
    this.opener = opener;
    this.listener = listener;
    this.stats = stats;
    this.slots = new Slot[poolSize];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = new Slot(i);
    }
  }

  Endpoint endpoint() {
    return endpoint;
  }

  /** The resolver described the same server again, perhaps with another weight or zone. */
  void endpoint(Endpoint e) {
    endpoint = e;
  }

  /** What connections to this endpoint are told at their creation. */
  ClientConnection.Config config() {
    return config;
  }

  /** {@code host:port} for messages. */
  String authority() {
    return config.authority();
  }

  // ---- lock-free ----

  /** The least-loaded ready connection with room, its in-flight count already raised; null if none. */
  ClientConnection acquire() {
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

  /** Calls in flight on the ready connections (the balancer's measure of load). */
  int inFlight() {
    int sum = 0;
    for (ClientConnection c : ready) {
      sum += c.inFlight();
    }
    return sum;
  }

  /** Whether a connection is ready now. */
  boolean hasReady() {
    return ready.length > 0;
  }

  /** For tests: the connections new calls may go to. */
  List<ClientConnection> readyConnections() {
    return List.of(ready);
  }

  // ---- under the balancer's lock ----

  ChannelState state() {
    return state;
  }

  boolean isSuspect() {
    return suspect;
  }

  boolean isShutdown() {
    return shutdown;
  }

  String lastFailure() {
    return lastFailure;
  }

  Throwable lastFailureCause() {
    return lastFailureCause;
  }

  /**
   * Whether a call would make this endpoint connect: it is idle, or suspect with a free slot, and has no
   * attempt or retry going.
   */
  boolean needsConnection() {
    if (shutdown || !(state == ChannelState.IDLE || suspect)) {
      return false;
    }
    for (Slot s : slots) {
      if (s.connection == null && s.retry == null) {
        return true;
      }
    }
    return false;
  }

  /** Starts connecting every slot that has no connection, no attempt in flight and no pending retry. */
  void requestConnection() {
    for (Slot s : slots) {
      maybeConnect(s);
    }
    updateState();
  }

  private void maybeConnect(Slot slot) {
    if (shutdown || slot.connection != null || slot.retry != null) {
      return;
    }
    // The listener puts the connection in the slot (SlotListener.bind) before its handshake listener
    // can run: a connect that fails inline must find it there, or its retry would never be scheduled.
    balancer.connectAttempts.incrementAndGet();
    if (slot.attempts++ > 0) {
      listener.reconnecting();
    }
    ClientConnection c = opener.open(this, new SlotListener(slot));
    c.closeFuture().whenComplete((v, t) -> balancer.connectionClosed(this, slot, c));
  }

  /** A connection's handshake succeeded. Returns whether it is still this slot's. */
  boolean onReady(Slot slot, ClientConnection c) {
    if (slot.connection != c) {
      return false;
    }
    slot.failures = 0;
    lastFailure = null;
    lastFailureCause = null;
    suspect = false;
    rebuildReady();
    updateState();
    return true;
  }

  /** A connect or handshake failed. Returns whether it was this slot's current attempt. */
  boolean onConnectFailed(Slot slot, ClientConnection c, String reason, Throwable cause) {
    if (slot.connection != c) {
      return false;
    }
    slot.connection = null;
    slot.failures++;
    lastFailure = reason;
    lastFailureCause = cause;
    rebuildReady();
    scheduleRetry(slot);
    updateState();
    return true;
  }

  private void scheduleRetry(Slot slot) {
    if (shutdown) {
      return;
    }
    long delay = backoff.delayNanos(slot.failures, random.getAsDouble());
    log.debug("Connection attempt {} of slot {} to {} failed; retrying in {} ms", slot.failures, slot.index,
        authority(), TimeUnit.NANOSECONDS.toMillis(delay));
    try {
      slot.retry = scheduler.schedule(() -> balancer.retryDue(this, slot), delay);
    } catch (RejectedExecutionException e) {
      slot.retry = null; // the loops are shutting down with the channel
    }
  }

  /** The backoff of {@code slot} is over: connect it again. */
  void retryDue(Slot slot) {
    slot.retry = null;
    maybeConnect(slot);
    updateState();
  }

  /**
   * The connection stops taking new calls (GOAWAY, or ids ran out): the slot is free for a replacement,
   * opened at once if {@code replaceNow}. Returns whether it was this slot's.
   */
  boolean onDraining(Slot slot, ClientConnection c, boolean replaceNow) {
    if (slot.connection != c) {
      return false;
    }
    slot.connection = null;
    suspect = true;
    rebuildReady();
    if (replaceNow) {
      maybeConnect(slot);
    }
    updateState();
    return true;
  }

  /** A connection died of its heartbeat: the server may be gone, so are the others perhaps. */
  void onHeartbeatDeath() {
    suspect = true;
  }

  /**
   * A connection closed; if it was the slot's, the slot is free (replaced at once if {@code replaceNow}).
   * Returns whether anything changed.
   */
  boolean onClosed(Slot slot, ClientConnection c, boolean replaceNow) {
    if (!c.handshakeFuture().isSuccess()) {
      return false; // an attempt that never became ready: its handshake failure reaches onConnectFailed
    }
    if (slot.connection == c) {
      slot.connection = null;
      rebuildReady();
      if (replaceNow) {
        maybeConnect(slot);
      }
    } else {
      rebuildReady();
    }
    updateState();
    return true;
  }

  /**
   * The endpoint is gone (the resolver no longer lists it) or the channel shuts down: no new connection
   * and no retry; with {@code drain}, ready connections finish their calls and then close (calls not yet
   * written move elsewhere), connections still connecting are closed. Returns the connections that the
   * caller must close itself (all of them without {@code drain}).
   */
  List<ClientConnection> shutdown(boolean drain, String reason) {
    shutdown = true;
    List<ClientConnection> toClose = new ArrayList<>();
    for (Slot s : slots) {
      if (s.retry != null) {
        s.retry.cancel(false);
        s.retry = null;
      }
      ClientConnection c = s.connection;
      s.connection = null;
      if (c != null) {
        if (drain && c.handshakeFuture().isSuccess()) {
          c.drain(reason);
        } else {
          toClose.add(c);
        }
      }
    }
    if (ejectionTimer != null) {
      ejectionTimer.cancel(false);
      ejectionTimer = null;
    }
    ready = NONE;
    updateState();
    return toClose;
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
    if (next != state) {
      log.debug("Endpoint {}: {} -> {}", authority(), state, next);
      state = next;
    }
  }

  @Override
  public String toString() {
    return "Subchannel{" + endpoint.label() + ", " + state + (suspect ? ", suspect" : "") + '}';
  }

  /** One place for a connection. */
  static final class Slot {
    final int index;
    ClientConnection connection; // the slot's current connection (connecting or ready), or null
    Future<?> retry; // a pending reconnect after a failure, or null
    int failures;
    int attempts; // connections opened here so far (the first is not a reconnect)

    Slot(int index) {
      this.index = index;
    }
  }

  /** Reports one connection's life to the balancer, which holds this subchannel's state. */
  private final class SlotListener implements ClientConnection.Listener {
    private final Slot slot;
    private ClientConnection connection;

    SlotListener(Slot slot) {
      this.slot = slot;
    }

    @Override
    public void bind(ClientConnection c) {
      this.connection = c;
      c.subchannel(Subchannel.this);
      balancer.connectionBound(Subchannel.this, slot, c);
      c.handshakeFuture().addListener((FutureListener<Settings>) f -> {
        if (f.isSuccess()) {
          balancer.connectionReady(Subchannel.this, slot, c);
        } else {
          Throwable failure = f.cause();
          balancer.connectFailed(Subchannel.this, slot, c, Failures.describe(failure),
              failure instanceof Failures.ConnectFailure ? failure.getCause() : failure);
        }
      });
    }

    @Override
    public void draining() {
      balancer.connectionDraining(Subchannel.this, slot, connection);
    }

    @Override
    public void heartbeatTimedOut() {
      balancer.heartbeatDeath(Subchannel.this);
    }
  }
}
