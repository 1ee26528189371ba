package dev.ferry.server;

import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Optional;

/**
 * What a handler knows about the call it is serving. Thread-safe.
 *
 * <p>A call is cancelled when the client cancels it, when its deadline passes, or when its
 * connection is lost; a handler doing long work should check {@link #isCancelled()} or register
 * {@link #onCancel} and stop, since nobody will read its result.
 */
public interface CallContext {
  /** The method being called. */
  MethodDescriptor<?, ?> method();

  /** The request metadata the client sent. */
  Metadata metadata();

  /** The client's address. */
  SocketAddress remoteAddress();

  /**
   * The identity the client proved with a verified TLS certificate (mutual TLS, see
   * {@link ServerTls.ClientAuth}), or empty on plaintext connections and for clients that sent none.
   */
  Optional<PeerIdentity> peerIdentity();

  /** Time left before the call's deadline (possibly negative), or empty if the client set none. */
  Optional<Duration> timeRemaining();

  /** Whether the call has been cancelled (by the client, its deadline, or connection loss). */
  boolean isCancelled();

  /**
   * Runs {@code listener} once when the call is cancelled, or at once (on the calling thread) if it
   * already was. Listeners run on a small pool of the server's own, apart from the handler executor (a
   * handler blocked waiting for its own cancellation never holds up the listener that would wake it),
   * or on the connection's event loop with {@code directExecutor()} (where they must not block). They
   * never run on the deadline timer, so a slow listener delays no call's deadline. Keep them short: one
   * that blocks holds up later listeners once the pool's threads are taken. They do not run for a
   * call that completed normally.
   */
  void onCancel(Runnable listener);

  /** Adds trailing metadata sent back with the call's status, whether it succeeds or fails. */
  void addTrailer(String key, String value);

  /** The value an interceptor stored under {@code key} for this call, or null. */
  <T> T get(Key<T> key);

  /** Stores {@code value} under {@code key} for the rest of this call (interceptors to handlers). */
  <T> void set(Key<T> key, T value);

  /**
   * A typed key for values passed along a call with {@link #set} and {@link #get}, compared by
   * identity: keep it in a constant.
   *
   * @param <T> the value type
   */
  final class Key<T> {
    private final String name;

    private Key(String name) {
      this.name = name;
    }

    /** A new key; {@code name} is only for debugging. */
    public static <T> Key<T> named(String name) {
      return new Key<>(java.util.Objects.requireNonNull(name, "name"));
    }

    @Override
    public String toString() {
      return name;
    }
  }
}
