package dev.ferry.client;

import java.util.List;

/**
 * {@code static://host:port[,host:port...]}: a fixed list of servers, given once. Host names in it are
 * looked up before each connect, as for a channel to one {@code host:port}.
 */
final class StaticNameResolver implements NameResolver {
  static final String SCHEME = "static";
  private final String authority;
  private final List<Endpoint> endpoints;

  private StaticNameResolver(String authority, List<Endpoint> endpoints) {
    this.authority = authority;
    this.endpoints = endpoints;
  }

  /** The resolver of {@code target}, which must be {@code static://host:port[,...]}. */
  static StaticNameResolver of(String target) {
    String prefix = SCHEME + "://";
    if (!target.regionMatches(true, 0, prefix, 0, prefix.length()) || target.length() == prefix.length()) {
      throw new IllegalArgumentException("target: \"" + target + "\" (expected: static://host:port[,host:port...])");
    }
    String list = target.substring(prefix.length());
    if (list.endsWith("/")) {
      list = list.substring(0, list.length() - 1);
    }
    if (list.contains("/")) {
      throw new IllegalArgumentException("target: \"" + target + "\" (expected: static://host:port[,host:port...], "
          + "without a path)");
    }
    return new StaticNameResolver(list, List.copyOf(Targets.parseHostPorts(target, list)));
  }

  @Override
  public String authority() {
    return authority;
  }

  @Override
  public void start(Listener listener) {
    listener.onEndpoints(endpoints);
  }

  @Override
  public void shutdown() {}

  List<Endpoint> endpoints() {
    return endpoints;
  }
}
