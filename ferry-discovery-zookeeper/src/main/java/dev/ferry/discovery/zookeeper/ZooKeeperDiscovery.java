package dev.ferry.discovery.zookeeper;

import static java.util.Objects.requireNonNull;

import dev.ferry.client.NameResolverProvider;
import org.apache.curator.framework.CuratorFramework;

/**
 * Ferry's servers registered in ZooKeeper, and channels that find them. The layout:
 *
 * <pre>
 *   /ferry/v1/{service}/{host:port}   one ephemeral node per server, its data a ferry.discovery.v1.ServerInstance
 * </pre>
 *
 * <p>A server registers with {@link ZooKeeperRegistration}; a channel built from
 * {@code zk://zk1:2181,zk2:2181/{service}} finds the servers ({@link ZooKeeperNameResolverProvider}).
 */
public final class ZooKeeperDiscovery {
  /** The root of the registrations: {@value}. */
  public static final String ROOT = ZooKeeperPaths.ROOT;

  private ZooKeeperDiscovery() {}

  /**
   * A provider of {@code zk} targets that uses {@code client} (started, and closed by its owner after
   * the channels that use it): give it to {@code FerryChannelBuilder.resolverProvider(...)} and write
   * targets as {@code zk:///service}.
   */
  public static NameResolverProvider resolverProvider(CuratorFramework client) {
    return new ZooKeeperNameResolverProvider(requireNonNull(client, "client"));
  }
}
