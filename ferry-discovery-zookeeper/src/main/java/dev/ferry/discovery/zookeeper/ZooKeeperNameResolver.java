package dev.ferry.discovery.zookeeper;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.ferry.client.Endpoint;
import dev.ferry.client.NameResolver;
import dev.ferry.discovery.zookeeper.v1.ServerInstance;
import java.util.ArrayList;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The servers registered under {@code /ferry/v1/{service}}, watched with Curator's {@link CuratorCache}:
 * every change in the tree sends the full list to the channel, which coalesces bursts and keeps the
 * last good list through errors and empty lists.
 *
 * <p>While ZooKeeper is unreachable the cache keeps what it knew and sends nothing, so the channel goes
 * on calling the servers it had; when the connection is back (with a new session if the old one
 * expired), the cache reads the tree again and the channel catches up.
 *
 * <p>Threads: the cache's listener runs on Curator's event thread; {@link #start} and {@link #shutdown}
 * on the channel's threads (they do not block).
 */
final class ZooKeeperNameResolver implements NameResolver {
  private static final Logger log = LoggerFactory.getLogger(ZooKeeperNameResolver.class);

  private final CuratorFramework client;
  private final boolean ownsClient;
  private final String service;
  private final String path;
  private final String target;
  private final ConnectionStateListener connectionLog = this::connectionChanged;
  private CuratorCache cache; // guarded by this
  private volatile Listener listener;
  private volatile boolean initialized;
  private volatile boolean shutdown;

  ZooKeeperNameResolver(CuratorFramework client, boolean ownsClient, String service, String target) {
    this.client = client;
    this.ownsClient = ownsClient;
    this.service = ZooKeeperPaths.checkService(service);
    this.path = ZooKeeperPaths.servicePath(service);
    this.target = target;
  }

  @Override
  public String authority() {
    return service;
  }

  @Override
  public synchronized void start(Listener listener) {
    this.listener = listener;
    if (ownsClient) {
      client.start();
    }
    client.getConnectionStateListenable().addListener(connectionLog);
    cache = CuratorCache.build(client, path);
    cache.listenable().addListener(CuratorCacheListener.builder()
        .forAll((type, oldData, data) -> publish())
        .forInitialized(() -> {
          initialized = true;
          publish();
        })
        .build());
    cache.start();
  }

  private void connectionChanged(CuratorFramework c, ConnectionState state) {
    if (state == ConnectionState.SUSPENDED || state == ConnectionState.LOST) {
      log.warn("{}: ZooKeeper connection {}; calls go on to the servers known so far", target, state);
    } else if (state == ConnectionState.RECONNECTED) {
      log.info("{}: ZooKeeper connection back; reading the registrations again", target);
    }
  }

  /** Sends the channel every server registered now. Curator's event thread. */
  private void publish() {
    Listener l = listener;
    CuratorCache c;
    synchronized (this) {
      c = cache;
    }
    if (!initialized || shutdown || l == null || c == null) {
      return;
    }
    List<Endpoint> endpoints = new ArrayList<>();
    c.stream().filter(this::isServerNode).forEach(data -> {
      Endpoint e = endpoint(data);
      if (e != null) {
        endpoints.add(e);
      }
    });
    if (endpoints.isEmpty()) {
      l.onError("no server is registered under " + path, null);
    } else {
      l.onEndpoints(endpoints);
    }
  }

  private boolean isServerNode(ChildData data) {
    String p = data.getPath();
    return p.startsWith(path + "/") && p.indexOf('/', path.length() + 1) < 0;
  }

  /** The endpoint a node describes; null (logged) if its data is not a {@link ServerInstance}. */
  private Endpoint endpoint(ChildData data) {
    byte[] bytes = data.getData();
    try {
      ServerInstance instance = ServerInstance.parseFrom(bytes == null ? new byte[0] : bytes);
      if (instance.getHost().isEmpty() || instance.getPort() < 1 || instance.getPort() > 65535) {
        log.warn("{}: skipping {}: its record has no usable address ({})", target, data.getPath(), instance);
        return null;
      }
      Endpoint e = Endpoint.of(instance.getHost(), instance.getPort());
      if (instance.getWeight() > 0) {
        e = e.withWeight(Math.min(Endpoint.MAX_WEIGHT, instance.getWeight()));
      }
      return instance.getZone().isEmpty() ? e : e.withZone(instance.getZone());
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      log.warn("{}: skipping {}: its data is not a ferry.discovery.v1.ServerInstance ({})", target, data.getPath(),
          e.getMessage());
      return null;
    }
  }

  @Override
  public void shutdown() {
    shutdown = true;
    CuratorCache c;
    synchronized (this) {
      c = cache;
      cache = null;
    }
    if (c != null) {
      c.close();
    }
    client.getConnectionStateListenable().removeListener(connectionLog);
    if (ownsClient) {
      client.close();
    }
  }

  @Override
  public String toString() {
    return "ZooKeeperNameResolver{" + target + '}';
  }
}
