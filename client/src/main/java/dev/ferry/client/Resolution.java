package dev.ferry.client;

import dev.ferry.internal.LogAggregator;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Between a channel's {@link NameResolver} and its {@link Balancer}: keeps the last good set of
 * endpoints through errors and empty lists (each logged), and coalesces updates that come in bursts.
 *
 * <p>The first list of endpoints goes to the balancer at once. A later one starts a window of
 * {@link ResolverOptions#updateDelay()}; whatever the resolver says during it replaces the pending list,
 * and the last one goes to the balancer when the window closes. A fleet that restarts in a minute then
 * changes each client's endpoints about once a second, not once per server event.
 *
 * <p>Threads: the resolver's callbacks come from any thread; the window closes on the channel's
 * {@link Scheduler}. Lists reach the balancer one at a time, in order, outside this object's lock.
 */
final class Resolution implements NameResolver.Listener {
  private static final Logger log = LoggerFactory.getLogger(Resolution.class);

  private final NameResolver resolver;
  private final Balancer balancer;
  private final Scheduler scheduler;
  private final long delayNanos;
  private final String target;
  private final LogAggregator errors = LogAggregator.create(log, Level.WARN, "resolver errors");
  private final Object applying = new Object();

  private List<Endpoint> pendingList; // guarded by this
  private Future<?> window; // guarded by this
  private boolean hasGood; // guarded by this
  private boolean shutdown; // guarded by this

  Resolution(NameResolver resolver, Balancer balancer, Scheduler scheduler, ResolverOptions options, String target) {
    this.resolver = resolver;
    this.balancer = balancer;
    this.scheduler = scheduler;
    this.delayNanos = options.updateDelay().toNanos();
    this.target = target;
  }

  void start() {
    balancer.refreshResolverWith(this::refresh);
    try {
      resolver.start(this);
    } catch (RuntimeException e) {
      onError("resolver " + resolver.getClass().getName() + " failed to start: " + Failures.describe(e), e);
    }
  }

  /** Asks the resolver to look again (it decides how often it does). Never under the balancer's lock. */
  void refresh() {
    try {
      resolver.refresh();
    } catch (RuntimeException e) {
      errors.log("Resolver of {} threw on refresh; ignored", target, e);
    }
  }

  @Override
  public void onEndpoints(List<Endpoint> endpoints) {
    List<Endpoint> list = List.copyOf(endpoints);
    boolean applyNow = false;
    synchronized (this) {
      if (shutdown) {
        return;
      }
      if (list.isEmpty()) {
        if (hasGood) {
          errors.log("Resolver of {} found no endpoints; keeping the last ones it found", target);
        } else {
          balancer.resolutionFailed("the resolver of " + target + " found no endpoints", null);
        }
        return;
      }
      pendingList = list;
      if (!hasGood || delayNanos == 0) {
        hasGood = true;
        applyNow = true;
      } else if (window == null) {
        try {
          window = scheduler.schedule(this::windowClosed, delayNanos);
        } catch (RejectedExecutionException e) {
          return; // the channel is shutting down
        }
      }
    }
    if (applyNow) {
      apply();
    }
  }

  private void windowClosed() {
    synchronized (this) {
      window = null;
    }
    apply();
  }

  /** Hands the pending list, if any, to the balancer; lists go one at a time, the newest last. */
  private void apply() {
    synchronized (applying) {
      List<Endpoint> list;
      synchronized (this) {
        list = pendingList;
        pendingList = null;
        if (list == null || shutdown) {
          return;
        }
      }
      balancer.updateEndpoints(list);
    }
  }

  @Override
  public void onError(String description, Throwable cause) {
    boolean good;
    synchronized (this) {
      if (shutdown) {
        return;
      }
      good = hasGood;
    }
    if (good) {
      errors.log("Resolving {} failed; keeping the last endpoints found: {}", target, description, cause);
    } else {
      log.warn("Resolving {} failed: {}", target, description, cause);
      balancer.resolutionFailed(description, cause);
    }
  }

  void shutdown() {
    synchronized (this) {
      if (shutdown) {
        return;
      }
      shutdown = true;
      if (window != null) {
        window.cancel(false);
        window = null;
      }
    }
    try {
      resolver.shutdown();
    } catch (RuntimeException e) {
      log.warn("Resolver of {} threw on shutdown; ignored", target, e);
    }
  }
}
