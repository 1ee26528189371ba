package dev.ferry.client;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Reads a channel's target ({@code scheme://...}) and finds the {@link NameResolverProvider} of its
 * scheme: one given to the builder, a built-in one ({@code static}, {@code dns}), or one found with
 * {@link ServiceLoader}. Stateless.
 */
final class Targets {
  private static final String EXPECTED = "expected: a URI such as dns:///host:port, static://host:port,host:port "
      + "or zk://zk-host:2181/service; for one server, FerryChannel.builder(host, port)";

  private Targets() {}

  /** The scheme of {@code target}, in lower case; throws if it has none. */
  static String scheme(String target) {
    int i = target.indexOf(':');
    if (i <= 0 || !target.startsWith("//", i + 1) && !target.startsWith("/", i + 1)) {
      throw new IllegalArgumentException("target: \"" + target + "\" (" + EXPECTED + ")");
    }
    String scheme = target.substring(0, i).toLowerCase(Locale.ROOT);
    for (int k = 0; k < scheme.length(); k++) {
      char c = scheme.charAt(k);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
        throw new IllegalArgumentException("target: \"" + target + "\" (" + EXPECTED + ")");
      }
    }
    return scheme;
  }

  /**
   * The resolver of {@code target}: a provider given to the builder for its scheme, else a built-in
   * one ({@code static}, {@code dns}), else one found with {@link ServiceLoader}.
   */
  static NameResolver resolver(String target, Map<String, NameResolverProvider> given, NameResolver.Args args,
      Scheduler scheduler, DnsNameResolver.Lookup dnsLookup) {
    String scheme = scheme(target);
    NameResolverProvider p = given.get(scheme);
    if (p != null) {
      return created(p, target, args);
    }
    if (scheme.equals(StaticNameResolver.SCHEME)) {
      return StaticNameResolver.of(target);
    }
    if (scheme.equals(DnsNameResolver.SCHEME)) {
      return DnsNameResolver.of(target, dnsLookup, scheduler, args.refreshInterval());
    }
    List<String> found = new ArrayList<>();
    try {
      for (NameResolverProvider candidate : ServiceLoader.load(NameResolverProvider.class,
          Targets.class.getClassLoader())) {
        if (scheme.equals(candidate.scheme())) {
          return created(candidate, target, args);
        }
        found.add(candidate.scheme());
      }
    } catch (ServiceConfigurationError e) {
      throw new IllegalArgumentException("target: \"" + target + "\": a name resolver provider could not be "
          + "loaded: " + e.getMessage(), e);
    }
    throw new IllegalArgumentException("target: \"" + target + "\" (no name resolver for scheme \"" + scheme
        + "\"; known: static, dns" + (found.isEmpty() ? "" : ", " + String.join(", ", found))
        + (scheme.equals("zk") ? "; zk:// needs ferry-discovery-zookeeper on the class path" : "") + ")");
  }

  private static NameResolver created(NameResolverProvider p, String target, NameResolver.Args args) {
    NameResolver r = p.newResolver(uri(target), args);
    if (r == null) {
      throw new IllegalStateException(p + " made no resolver for " + target);
    }
    return r;
  }

  /** {@code target} as a URI, for providers; a clear error if it is not one. */
  static URI uri(String target) {
    try {
      return new URI(target);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("target: \"" + target + "\" is not a valid URI: " + e.getMessage(), e);
    }
  }

  /**
   * Endpoints written as {@code host:port[,host:port...]} ({@code [v6]:port} for IPv6 addresses). Throws
   * with a message naming {@code target} if one is malformed.
   */
  static List<Endpoint> parseHostPorts(String target, String list) {
    List<Endpoint> endpoints = new ArrayList<>();
    for (String part : list.split(",", -1)) {
      String hp = part.trim();
      endpoints.add(parseHostPort(target, hp));
    }
    return endpoints;
  }

  static Endpoint parseHostPort(String target, String hp) {
    String host;
    String port;
    if (hp.startsWith("[")) {
      int close = hp.indexOf(']');
      if (close < 0 || !hp.startsWith(":", close + 1)) {
        throw badHostPort(target, hp);
      }
      host = hp.substring(1, close);
      port = hp.substring(close + 2);
    } else {
      int colon = hp.lastIndexOf(':');
      if (colon <= 0 || hp.indexOf(':') != colon) {
        throw badHostPort(target, hp);
      }
      host = hp.substring(0, colon);
      port = hp.substring(colon + 1);
    }
    int p;
    try {
      p = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      throw badHostPort(target, hp);
    }
    if (host.isEmpty() || p < 1 || p > 65535) {
      throw badHostPort(target, hp);
    }
    return Endpoint.of(host, p);
  }

  private static IllegalArgumentException badHostPort(String target, String hp) {
    return new IllegalArgumentException("target: \"" + target + "\": \"" + hp
        + "\" is not host:port (expected: a host name or address, a colon and a port from 1 to 65535; "
        + "[address]:port for IPv6)");
  }
}
