package dev.ferry.client;

import java.net.URI;

/**
 * Makes the {@link NameResolver}s of one URI scheme. A provider in a jar is found with
 * {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/dev.ferry.client.NameResolverProvider} (and, in a named module, in
 * {@code provides}). It can also be given to a channel with
 * {@link FerryChannelBuilder#resolverProvider}. Ferry has {@code static} and {@code dns} built in;
 * {@code ferry-discovery-zookeeper} adds {@code zk}.
 *
 * <p>Providers are stateless and thread-safe; they need a public no-argument constructor to be found.
 */
public abstract class NameResolverProvider {
  /** For subclasses; a provider found by {@link java.util.ServiceLoader} needs a public no-argument one. */
  protected NameResolverProvider() {}

  /** The URI scheme this provider resolves, in lower case: {@code "zk"} for {@code zk://...}. */
  public abstract String scheme();

  /**
   * A resolver for {@code target}, not started yet.
   *
   * @throws IllegalArgumentException if {@code target} is malformed for this scheme; its message says
   *     what was expected, as {@code "target: \"zk://\" (expected: zk://host:port[,host:port...]/service)"}
   */
  public abstract NameResolver newResolver(URI target, NameResolver.Args args);

  @Override
  public String toString() {
    return getClass().getName() + "{" + scheme() + "}";
  }
}
