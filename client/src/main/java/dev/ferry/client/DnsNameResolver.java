package dev.ferry.client;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;

/**
 * {@code dns:///host:port}: every A and AAAA record of {@code host}, each an endpoint on {@code port}.
 *
 * <p>Lookups use the JDK's resolver ({@link InetAddress#getAllByName}: {@code /etc/hosts}, the system's
 * name service, the JVM's DNS cache, whose TTL {@code networkaddress.cache.ttl} bounds how fresh an
 * answer can be) on {@link HostResolver}'s lookup threads, never on an event loop. It looks again every
 * {@link ResolverOptions#refreshInterval()}, and when the channel asks ({@link #refresh()}: a connection
 * failed, a server sent GOAWAY), at most once a second; one lookup at a time.
 *
 * <p>Threads: any. State is guarded by {@code this}; the listener is called outside the lock.
 */
final class DnsNameResolver implements NameResolver {
  static final String SCHEME = "dns";
  /** The shortest time between two lookups that {@link #refresh()} asks for. */
  static final long MIN_REFRESH_NANOS = 1_000_000_000L;

  /** Every address of a host name, looked up without blocking the caller. */
  @FunctionalInterface
  interface Lookup {
    CompletableFuture<List<InetAddress>> lookup(String host);

    /** The JDK's resolver on {@link HostResolver.Lookups}' threads; IP literals are parsed in place. */
    Lookup SYSTEM = host -> {
      byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
      if (literal != null) {
        try {
          return CompletableFuture.completedFuture(List.of(InetAddress.getByAddress(host, literal)));
        } catch (UnknownHostException e) {
          return CompletableFuture.failedFuture(e);
        }
      }
      CompletableFuture<List<InetAddress>> result = new CompletableFuture<>();
      try {
        HostResolver.Lookups.EXECUTOR.execute(() -> {
          try {
            result.complete(Arrays.asList(InetAddress.getAllByName(host)));
          } catch (UnknownHostException | RuntimeException e) {
            result.completeExceptionally(e);
          }
        });
      } catch (RejectedExecutionException e) {
        result.completeExceptionally(e);
      }
      return result;
    };
  }

  private final String host;
  private final int port;
  private final Lookup lookup;
  private final Scheduler scheduler;
  private final long refreshNanos;

  private Listener listener; // guarded by this
  private boolean lookingUp; // guarded by this
  private boolean again; // guarded by this: a refresh asked for during a lookup
  private long lastStart; // guarded by this
  private boolean started; // guarded by this
  private Future<?> next; // guarded by this
  private boolean shutdown; // guarded by this

  DnsNameResolver(String host, int port, Lookup lookup, Scheduler scheduler, Duration refreshInterval) {
    this.host = host;
    this.port = port;
    this.lookup = lookup;
    this.scheduler = scheduler;
    this.refreshNanos = refreshInterval.toNanos();
  }

  /** The resolver of {@code target}: {@code dns:///host:port} ({@code dns:host:port} is accepted too). */
  static DnsNameResolver of(String target, Lookup lookup, Scheduler scheduler, Duration refreshInterval) {
    String rest = target.substring(SCHEME.length() + 1);
    String expected = " (expected: dns:///host:port)";
    if (rest.startsWith("//")) {
      int slash = rest.indexOf('/', 2);
      if (slash < 0) {
        throw new IllegalArgumentException("target: \"" + target + "\"" + expected);
      }
      if (slash != 2) {
        throw new IllegalArgumentException("target: \"" + target + "\" names a DNS server (\""
            + rest.substring(2, slash) + "\"): Ferry looks names up with the system's resolver" + expected);
      }
      rest = rest.substring(3);
    } else if (rest.startsWith("/")) {
      rest = rest.substring(1);
    }
    if (rest.isEmpty() || rest.contains("/") || rest.contains(",")) {
      throw new IllegalArgumentException("target: \"" + target + "\"" + expected);
    }
    Endpoint e = Targets.parseHostPort(target, rest);
    return new DnsNameResolver(e.host(), e.port(), lookup, scheduler, refreshInterval);
  }

  @Override
  public String authority() {
    return dev.ferry.internal.Addresses.hostPort(host, port);
  }

  @Override
  public void start(Listener listener) {
    synchronized (this) {
      if (started) {
        throw new IllegalStateException("already started");
      }
      started = true;
      this.listener = listener;
    }
    lookUp();
  }

  @Override
  public void refresh() {
    synchronized (this) {
      if (!started || shutdown) {
        return;
      }
      if (lookingUp) {
        again = true;
        return;
      }
      long wait = lastStart + MIN_REFRESH_NANOS - scheduler.nanoTime();
      if (wait > 0) {
        // Too soon after the last lookup: bring the next one forward to the earliest allowed time.
        if (next == null || next.isDone() || nextDueLater(wait)) {
          schedule(wait);
        }
        return;
      }
    }
    lookUp();
  }

  private long nextDue; // guarded by this: when the scheduled lookup runs, on the scheduler's clock

  private boolean nextDueLater(long wait) {
    return nextDue - (scheduler.nanoTime() + wait) > 0;
  }

  private void schedule(long delayNanos) {
    if (next != null) {
      next.cancel(false);
    }
    try {
      nextDue = scheduler.nanoTime() + delayNanos;
      next = scheduler.schedule(this::lookUp, delayNanos);
    } catch (RejectedExecutionException e) {
      next = null; // the channel's loops are shutting down
    }
  }

  private void lookUp() {
    synchronized (this) {
      if (shutdown || lookingUp) {
        return;
      }
      lookingUp = true;
      again = false;
      lastStart = scheduler.nanoTime();
    }
    CompletableFuture<List<InetAddress>> f;
    try {
      f = lookup.lookup(host);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(this::lookedUp);
  }

  private void lookedUp(List<InetAddress> addresses, Throwable failure) {
    Listener l;
    boolean soon;
    synchronized (this) {
      lookingUp = false;
      if (shutdown) {
        return;
      }
      l = listener;
      soon = again;
      schedule(soon ? Math.max(0, lastStart + MIN_REFRESH_NANOS - scheduler.nanoTime()) : refreshNanos);
    }
    if (failure != null) {
      Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      l.onError("could not resolve " + host + ": " + Failures.describe(cause), cause);
      return;
    }
    List<Endpoint> endpoints = new ArrayList<>(addresses.size());
    for (InetAddress a : addresses) {
      endpoints.add(Endpoint.of(new InetSocketAddress(a, port)));
    }
    l.onEndpoints(endpoints);
  }

  @Override
  public void shutdown() {
    synchronized (this) {
      shutdown = true;
      if (next != null) {
        next.cancel(false);
        next = null;
      }
    }
  }

  @Override
  public String toString() {
    return "DnsNameResolver{" + authority() + '}';
  }
}
