package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server call as its handler and interceptors see it ({@link CallContext}): the method, the request
 * metadata, the time left, the caller's address and identity, values interceptors attach, the trailers
 * the handler adds, and whether the call was cancelled, with the listeners to tell when it is.
 *
 * <p>The call's state machine ({@link ServerCall}) extends this class, so one object serves both
 * without an allocation more per call; this class holds no state of the call's progress.
 *
 * <p>Threads: any. Attributes, trailers and listeners are guarded by {@code this}; {@link #fireCancelled}
 * hands the listeners to the server's listener pool (see {@link ServerRuntime#runCancelListeners}).
 */
abstract class ServerCallContext implements CallContext {
  private static final Logger log = LoggerFactory.getLogger(ServerCallContext.class);

  final ServerConnectionHandler connection;
  private final Metadata metadata;
  private final long deadlineNanos; // 0 = none
  private volatile boolean cancelled;
  /** What few calls use: made on first use, guarded by this. */
  private Extras extras;

  /** A call's cancellation listeners, trailers and attributes: one object, made only if it has any. */
  private static final class Extras {
    List<Runnable> cancelListeners;
    Metadata.Builder trailers;
    Map<Key<?>, Object> attributes;
  }

  private Extras extras() {
    Extras e = extras;
    if (e == null) {
      e = new Extras();
      extras = e;
    }
    return e;
  }

  /**
   * @param deadlineNanos the deadline on the server's clock, or 0 for none
   */
  ServerCallContext(ServerConnectionHandler connection, Metadata metadata, long deadlineNanos) {
    this.connection = connection;
    this.metadata = metadata;
    this.deadlineNanos = deadlineNanos;
  }

  final boolean hasDeadline() {
    return deadlineNanos != 0;
  }

  final long deadlineNanos() {
    return deadlineNanos;
  }

  /** Marks the call cancelled and runs its listeners, off the event loop. Once per call (the caller ensures it). */
  final void fireCancelled() {
    List<Runnable> listeners;
    synchronized (this) {
      cancelled = true;
      listeners = extras == null ? null : extras.cancelListeners;
      if (listeners != null) {
        extras.cancelListeners = null;
      }
    }
    if (listeners != null) {
      connection.runtime().runCancelListeners(() -> {
        for (Runnable r : listeners) {
          try {
            r.run();
          } catch (Throwable t) {
            log.warn("Cancellation listener of {} threw", method(), t);
          }
        }
      });
    }
  }

  /** The trailers the handler added so far. */
  final synchronized Metadata trailers() {
    return extras == null || extras.trailers == null ? Metadata.EMPTY : extras.trailers.build();
  }

  // ---- CallContext ----

  /** The call's method (its server-side method holds it: no field of its own here). */
  @Override
  public abstract MethodDescriptor<?, ?> method();

  @Override
  public final Metadata metadata() {
    return metadata;
  }

  @Override
  public final SocketAddress remoteAddress() {
    return connection.remoteAddress();
  }

  @Override
  public final Optional<PeerIdentity> peerIdentity() {
    return connection.peerIdentity();
  }

  @Override
  public final Optional<Duration> timeRemaining() {
    return hasDeadline()
        ? Optional.of(Duration.ofNanos(deadlineNanos - connection.runtime().ticker.nanoTime()))
        : Optional.empty();
  }

  @Override
  public final boolean isCancelled() {
    return cancelled;
  }

  @Override
  public final void onCancel(Runnable listener) {
    requireNonNull(listener, "listener");
    synchronized (this) {
      if (!cancelled) {
        Extras e = extras();
        if (e.cancelListeners == null) {
          e.cancelListeners = new ArrayList<>(2);
        }
        e.cancelListeners.add(listener);
        return;
      }
    }
    listener.run();
  }

  @Override
  public final synchronized <T> T get(Key<T> key) {
    @SuppressWarnings("unchecked")
    T value = extras == null || extras.attributes == null ? null : (T) extras.attributes.get(key);
    return value;
  }

  @Override
  public final synchronized <T> void set(Key<T> key, T value) {
    requireNonNull(key, "key");
    Extras e = extras();
    if (e.attributes == null) {
      e.attributes = new IdentityHashMap<>(4);
    }
    e.attributes.put(key, value);
  }

  @Override
  public final synchronized void addTrailer(String key, String value) {
    Extras e = extras();
    if (e.trailers == null) {
      e.trailers = Metadata.builder();
    }
    e.trailers.add(key, value);
  }
}
