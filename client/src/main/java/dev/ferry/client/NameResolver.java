package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Finds the servers behind a channel's target and tells the channel whenever they change. One resolver
 * serves one channel, from {@link #start} to {@link #shutdown}. Made by a {@link NameResolverProvider}
 * for its URI scheme.
 *
 * <p>The channel keeps the last good set of endpoints: an error, or an empty list, does not take the
 * servers it knows away (it is logged); and updates that come in bursts (a fleet restarting) are
 * coalesced ({@link ResolverOptions#updateDelay()}) before the channel acts on them. A resolver
 * therefore reports what it sees, each time, in full, and need not debounce anything itself.
 *
 * <p><b>Threads.</b> {@link #start}, {@link #refresh} and {@link #shutdown} are called from Ferry's
 * threads, possibly an event loop: they must not block. The listener may be called from any thread,
 * at any time between {@code start} and {@code shutdown}.
 */
public interface NameResolver {
  /**
   * What the servers are called, for messages and metrics: {@code kv.internal:7070} for a DNS name, the
   * service name for a registry. Never an individual server's address.
   */
  String authority();

  /** Starts resolving; results go to {@code listener}, the first as soon as there is one. Once. */
  void start(Listener listener);

  /**
   * A hint that the channel's view may be stale (a connection failed, a server sent GOAWAY): resolve
   * again soon if that means anything for this kind of target. Called often in bad times: a resolver
   * bounds how often it acts on it. Default: nothing (a resolver that is told of changes, such as a
   * registry watch, does not need it).
   */
  default void refresh() {}

  /** Stops resolving and releases what {@link #start} took; the listener is not called afterwards. Once. */
  void shutdown();

  /** Hears a resolver's results. Thread-safe. */
  interface Listener {
    /** The servers now, in full (not a change since the last call), in the resolver's order. */
    void onEndpoints(List<Endpoint> endpoints);

    /**
     * Resolution failed; the channel keeps the endpoints it had and logs {@code description}. A
     * channel that never had any fails its calls with UNAVAILABLE saying why.
     */
    void onError(String description, Throwable cause);
  }

  /** What the channel gives its resolver. Immutable. */
  final class Args {
    private final ScheduledExecutorService scheduler;
    private final ResolverOptions options;

    Args(ScheduledExecutorService scheduler, ResolverOptions options) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      this.options = requireNonNull(options, "options");
    }

    /**
     * An executor for the resolver's timers (one of the channel's event loops): tasks run there must
     * not block.
     */
    public ScheduledExecutorService scheduler() {
      return scheduler;
    }

    /**
     * How often a resolver that polls (DNS) looks again, even when nothing seems wrong
     * ({@link ResolverOptions#refreshInterval()}).
     */
    public Duration refreshInterval() {
      return options.refreshInterval();
    }

    ResolverOptions options() {
      return options;
    }
  }
}
