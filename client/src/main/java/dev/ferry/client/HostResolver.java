package dev.ferry.client;

import io.netty.util.NetUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Looks up the server's host name before each connect, off the event loops and outside any lock.
 *
 * <p>The JDK's resolver honours {@code /etc/hosts}, the system's name service configuration and the
 * JVM's DNS cache, which is what users expect of a host name; but it blocks, for as long as a slow or
 * unreachable DNS server takes. Netty's default bootstrap resolver makes that same blocking call on
 * the connection's event loop, stalling every other connection on that loop (and, called from the
 * pool, the pool's lock). Here the lookup runs on a small shared pool of daemon threads that exist
 * only while lookups are going on; an IP literal needs no lookup and is parsed on the calling thread.
 *
 * <p>Thread-safe; the returned future completes on a lookup thread (or at once for literals).
 */
@FunctionalInterface
interface HostResolver {
  /** The address to connect to for {@code host:port}; fails with {@link UnknownHostException}. */
  CompletableFuture<InetSocketAddress> resolve(String host, int port);

  /** The JDK's resolver, run on {@link Lookups}' threads. */
  HostResolver SYSTEM = (host, port) -> {
    byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
    if (literal != null) {
      try {
        return CompletableFuture.completedFuture(new InetSocketAddress(InetAddress.getByAddress(host, literal), port));
      } catch (UnknownHostException e) {
        return CompletableFuture.failedFuture(e); // not for a literal of a valid length
      }
    }
    CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
    try {
      Lookups.EXECUTOR.execute(() -> {
        try {
          result.complete(new InetSocketAddress(InetAddress.getByName(host), port));
        } catch (UnknownHostException e) {
          result.completeExceptionally(e);
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(e);
    }
    return result;
  };

  /** The shared lookup threads: at most four, daemon, gone after 30 s without lookups. */
  final class Lookups {
    static final Executor EXECUTOR;

    static {
      ThreadPoolExecutor pool = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
          new DefaultThreadFactory("ferry-dns", true));
      pool.allowCoreThreadTimeOut(true);
      EXECUTOR = pool;
    }

    private Lookups() {}
  }
}
