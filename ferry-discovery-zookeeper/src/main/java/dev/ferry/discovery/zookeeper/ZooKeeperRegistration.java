package dev.ferry.discovery.zookeeper;

import static java.util.Objects.requireNonNull;

import dev.ferry.discovery.zookeeper.v1.ServerInstance;
import dev.ferry.server.FerryServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server's registration in ZooKeeper: one ephemeral node per service it serves, at
 * {@code /ferry/v1/{service}/{host:port}}, holding a {@link ServerInstance} (address, weight, zone, TLS).
 * Channels built from {@code zk://.../{service}} find it there.
 *
 * <pre>{@code
 * FerryServer server = FerryServer.builder().port(7070).addService(...).build().start();
 * ZooKeeperRegistration registration = ZooKeeperRegistration.builder(curator)
 *     .service(KvStoreFerry.SERVICE_NAME)
 *     .address("10.0.0.7", server.port())   // what clients connect to
 *     .register();
 * ...
 * registration.shutdown(server, Duration.ofSeconds(10)).join(); // deregister, wait, then GOAWAY and grace
 * }</pre>
 *
 * <p><b>Session expiry.</b> The nodes are Curator {@link PersistentNode}s: when the ZooKeeper session
 * expires (a long pause, a partition), they are created again in the new session as soon as it exists,
 * even while the old session's node is still being removed; a registration is never lost for good.
 *
 * <p><b>Shutdown order.</b> {@link #shutdown(FerryServer, Duration)} first deregisters, then waits
 * {@link Builder#deregistrationDelay} (default 2 s) so that clients see the server leave (they gather
 * registry changes for up to a second) and stop picking it, and only then shuts the server down
 * gracefully (GOAWAY, calls in flight finish within the grace). Shutting the server down directly works
 * too, without the wait: its GOAWAY moves clients' unprocessed calls elsewhere; but then
 * {@link #close()} the registration as well, or its nodes stay until the session ends.
 *
 * <p>Thread-safe.
 */
public final class ZooKeeperRegistration implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ZooKeeperRegistration.class);
  /** Default {@link Builder#deregistrationDelay}: 2 seconds. */
  public static final Duration DEFAULT_DEREGISTRATION_DELAY = Duration.ofSeconds(2);

  private final CuratorFramework client;
  private final boolean ownsClient;
  private final ServerInstance instance;
  private final List<String> paths;
  private final List<PersistentNode> nodes;
  private final Duration deregistrationDelay;
  private boolean deregistered; // guarded by this

  private ZooKeeperRegistration(Builder b, CuratorFramework client) {
    this.client = client;
    this.ownsClient = b.client == null;
    this.deregistrationDelay = b.deregistrationDelay;
    this.instance = ServerInstance.newBuilder()
        .setHost(b.host)
        .setPort(b.port)
        .setWeight(b.weight)
        .setZone(b.zone)
        .setTls(b.tls)
        .build();
    byte[] data = instance.toByteArray();
    List<String> p = new ArrayList<>();
    List<PersistentNode> n = new ArrayList<>();
    for (String service : b.services) {
      String path = ZooKeeperPaths.instancePath(service, instance);
      p.add(path);
      n.add(new PersistentNode(client, CreateMode.EPHEMERAL, false, path, data));
    }
    this.paths = List.copyOf(p);
    this.nodes = List.copyOf(n);
  }

  /** A registration through {@code client}, which the application started and closes after it. */
  public static Builder builder(CuratorFramework client) {
    return new Builder(requireNonNull(client, "client"), null);
  }

  /**
   * A registration through a ZooKeeper session of its own to {@code connectString}
   * ({@code zk1:2181,zk2:2181}), closed with the registration.
   */
  public static Builder builder(String connectString) {
    requireNonNull(connectString, "connectString");
    if (connectString.isEmpty()) {
      throw new IllegalArgumentException("connectString: \"\" (expected: host:port[,host:port...])");
    }
    return new Builder(null, connectString);
  }

  private void start() {
    for (PersistentNode node : nodes) {
      node.start();
    }
    log.info("Registering {} in ZooKeeper at {}", instance.getHost() + ":" + instance.getPort(), paths);
  }

  /** The nodes this registration keeps, one per service. */
  public List<String> paths() {
    return paths;
  }

  /** What the nodes hold. */
  public ServerInstance instance() {
    return instance;
  }

  /**
   * Waits until every node exists (ZooKeeper may be unreachable at first: the nodes are created once it
   * is back). Returns false if {@code timeout} passed first.
   */
  public boolean awaitRegistered(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (PersistentNode node : nodes) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !node.waitForInitialCreate(left, TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
    return true;
  }

  /** Removes the nodes now (idempotent): clients stop seeing this server. */
  public void deregister() {
    synchronized (this) {
      if (deregistered) {
        return;
      }
      deregistered = true;
    }
    for (PersistentNode node : nodes) {
      try {
        node.close();
      } catch (IOException | RuntimeException e) {
        log.warn("Could not remove {} from ZooKeeper; it goes when the session ends", node.getActualPath(), e);
      }
    }
    log.info("Deregistered {} from ZooKeeper", paths);
  }

  /**
   * The graceful way out: deregisters now, waits the deregistration delay, then starts
   * {@code server.shutdown(grace)}. The future completes once the server's shutdown has started (it does
   * not wait for the server to terminate: {@code server.awaitTermination} does).
   */
  public CompletableFuture<Void> shutdown(FerryServer server, Duration grace) {
    requireNonNull(server, "server");
    requireNonNull(grace, "grace");
    deregister();
    CompletableFuture<Void> done = new CompletableFuture<>();
    Runnable stop = () -> {
      try {
        server.shutdown(grace);
        done.complete(null);
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
      }
    };
    long delay = deregistrationDelay.toNanos();
    if (delay == 0) {
      stop.run();
    } else {
      Delays.EXECUTOR.schedule(stop, delay, TimeUnit.NANOSECONDS);
    }
    return done;
  }

  /** Deregisters, and closes the ZooKeeper session if the registration opened it. */
  @Override
  public void close() {
    deregister();
    if (ownsClient) {
      client.close();
    }
  }

  @Override
  public String toString() {
    return "ZooKeeperRegistration{" + paths + '}';
  }

  /** The one timer thread of every registration's deregistration delay: a daemon. */
  private static final class Delays {
    static final ScheduledExecutorService EXECUTOR = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "ferry-zk-deregistration");
      t.setDaemon(true);
      return t;
    });
  }

  /** Builds a {@link ZooKeeperRegistration}. Not thread-safe. */
  public static final class Builder {
    private final CuratorFramework client;
    private final String connectString;
    private final Set<String> services = new LinkedHashSet<>();
    private String host;
    private int port;
    private int weight = 1;
    private String zone = "";
    private boolean tls;
    private Duration deregistrationDelay = DEFAULT_DEREGISTRATION_DELAY;

    private Builder(CuratorFramework client, String connectString) {
      this.client = client;
      this.connectString = connectString;
    }

    /** A service the server serves ({@code ferry.examples.kvstore.KvStore}); at least one. */
    public Builder service(String service) {
      services.add(ZooKeeperPaths.checkService(service));
      return this;
    }

    /** Where clients connect: the address the server is reachable at (not 0.0.0.0), and its port. */
    public Builder address(String host, int port) {
      requireNonNull(host, "host");
      if (host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) {
        throw new IllegalArgumentException("host: \"" + host + "\" (expected: an address clients can connect to)");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
      }
      this.host = host;
      this.port = port;
      return this;
    }

    /** Relative share of calls, 1 to 10,000; default 1. */
    public Builder weight(int weight) {
      if (weight < 1 || weight > 10_000) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: 1 to 10000)");
      }
      this.weight = weight;
      return this;
    }

    /** A label such as an availability zone; default none. */
    public Builder zone(String zone) {
      this.zone = requireNonNull(zone, "zone");
      return this;
    }

    /** Whether the server serves TLS (recorded for clients); default false. */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** How long {@link ZooKeeperRegistration#shutdown} waits between deregistering and GOAWAY; default 2 s. */
    public Builder deregistrationDelay(Duration delay) {
      requireNonNull(delay, "delay");
      if (delay.isNegative()) {
        throw new IllegalArgumentException("deregistrationDelay: " + delay + " (expected: >= 0)");
      }
      this.deregistrationDelay = delay;
      return this;
    }

    /** Creates the nodes (now, or as soon as ZooKeeper is reachable) and keeps them. */
    public ZooKeeperRegistration register() {
      if (services.isEmpty()) {
        throw new IllegalStateException("no service (expected: service(name) at least once)");
      }
      if (host == null) {
        throw new IllegalStateException("no address (expected: address(host, server.port()))");
      }
      CuratorFramework c = client;
      if (c == null) {
        c = CuratorFrameworkFactory.builder()
            .connectString(connectString)
            .sessionTimeoutMs(ZooKeeperNameResolverProvider.SESSION_TIMEOUT_MILLIS)
            .connectionTimeoutMs(10_000)
            .retryPolicy(new ExponentialBackoffRetry(500, 10, 10_000))
            .build();
        c.start();
      }
      ZooKeeperRegistration r = new ZooKeeperRegistration(this, c);
      r.start();
      return r;
    }
  }
}
