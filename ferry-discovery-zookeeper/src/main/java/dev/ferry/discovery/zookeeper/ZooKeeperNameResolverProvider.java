package dev.ferry.discovery.zookeeper;

import dev.ferry.client.NameResolver;
import dev.ferry.client.NameResolverProvider;
import java.net.URI;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Resolves {@code zk://host:port[,host:port...]/service}: the servers registered under
 * {@code /ferry/v1/service} in that ZooKeeper ensemble (see {@link ZooKeeperRegistration}). Found by
 * {@link java.util.ServiceLoader} when this module is on the class path, so
 * {@code FerryChannel.builder("zk://zk1:2181,zk2:2181/ferry.examples.kvstore.KvStore")} just works; each
 * such channel has its own ZooKeeper session, closed with the channel.
 *
 * <p>To share an application's {@link CuratorFramework} (and its session, ACLs and chroot) instead, give
 * the channel {@link ZooKeeperDiscovery#resolverProvider(CuratorFramework)}, and write the target
 * without hosts: {@code zk:///ferry.examples.kvstore.KvStore}.
 */
public final class ZooKeeperNameResolverProvider extends NameResolverProvider {
  /** The session timeout of the ZooKeeper sessions this provider opens: 30 seconds. */
  public static final int SESSION_TIMEOUT_MILLIS = 30_000;

  private final CuratorFramework client; // null: one per channel, from the target's hosts

  /** The provider {@link java.util.ServiceLoader} finds: a ZooKeeper session per channel. */
  public ZooKeeperNameResolverProvider() {
    this(null);
  }

  ZooKeeperNameResolverProvider(CuratorFramework client) {
    this.client = client;
  }

  @Override
  public String scheme() {
    return "zk";
  }

  @Override
  public NameResolver newResolver(URI target, NameResolver.Args args) {
    String service = target.getPath() == null || target.getPath().length() < 2 ? "" : target.getPath().substring(1);
    if (service.isEmpty() || target.getQuery() != null || target.getFragment() != null) {
      throw new IllegalArgumentException("target: \"" + target + "\" (expected: zk://host:port[,host:port...]/service)");
    }
    ZooKeeperPaths.checkService(service);
    String hosts = target.getRawAuthority();
    if (client != null) {
      return new ZooKeeperNameResolver(client, false, service, target.toString());
    }
    if (hosts == null || hosts.isEmpty()) {
      throw new IllegalArgumentException("target: \"" + target + "\" names no ZooKeeper server (expected: "
          + "zk://host:port[,host:port...]/service, or a channel given ZooKeeperDiscovery.resolverProvider(client))");
    }
    CuratorFramework own = CuratorFrameworkFactory.builder()
        .connectString(hosts)
        .sessionTimeoutMs(SESSION_TIMEOUT_MILLIS)
        .connectionTimeoutMs(10_000)
        .retryPolicy(new ExponentialBackoffRetry(500, 10, 10_000))
        .build();
    return new ZooKeeperNameResolver(own, true, service, target.toString());
  }
}
