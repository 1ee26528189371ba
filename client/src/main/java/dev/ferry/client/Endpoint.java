package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * One server a channel may send calls to, as a {@link NameResolver} finds it: an address (a host name
 * looked up before each connect, or an address already resolved), a weight and a zone. Immutable.
 *
 * <p>Two endpoints with the same {@link #address()} are the same server to the channel: a resolver
 * update that only changes an endpoint's weight or zone keeps its connections.
 *
 * <p>The host name of a resolved address (as {@link InetAddress#getAllByName} returns them, or
 * {@code new InetSocketAddress(InetAddress.getByAddress(name, ip), port)}) is what TLS verifies the
 * server's certificate against, unless the channel's {@link ClientTls} names another server.
 */
public final class Endpoint {
  /** The weight of an endpoint whose resolver gives none: 1. */
  public static final int DEFAULT_WEIGHT = 1;
  /** The largest weight: 10,000. */
  public static final int MAX_WEIGHT = 10_000;

  private final InetSocketAddress address;
  private final int weight;
  private final String zone;

  private Endpoint(InetSocketAddress address, int weight, String zone) {
    this.address = address;
    this.weight = weight;
    this.zone = zone;
  }

  /**
   * The server at {@code host:port}: an IP literal is used as it is, a host name is looked up before
   * each connect (off the event loops).
   */
  public static Endpoint of(String host, int port) {
    requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("host: \"\" (expected: a host name or address)");
    }
    checkPort(port);
    byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
    if (literal == null) {
      return new Endpoint(InetSocketAddress.createUnresolved(host, port), DEFAULT_WEIGHT, "");
    }
    try {
      return new Endpoint(new InetSocketAddress(InetAddress.getByAddress(host, literal), port), DEFAULT_WEIGHT, "");
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("host: \"" + host + "\" (expected: a host name or address)", e);
    }
  }

  /**
   * The one server of a channel built from {@code host:port}, or an in-process server's name (port 0):
   * looked up before each connect, never checked here (the builder did).
   */
  static Endpoint fixed(String host, int port) {
    return new Endpoint(InetSocketAddress.createUnresolved(host, port), DEFAULT_WEIGHT, "");
  }

  /** The server at {@code address}, resolved or not (an unresolved one is looked up before each connect). */
  public static Endpoint of(InetSocketAddress address) {
    requireNonNull(address, "address");
    checkPort(address.getPort());
    return new Endpoint(address, DEFAULT_WEIGHT, "");
  }

  private static void checkPort(int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
    }
  }

  /**
   * This endpoint with another weight, 1 to {@value #MAX_WEIGHT}: the default balancer sends an endpoint
   * of weight 2 about twice the calls of one of weight 1 when they are equally fast.
   */
  public Endpoint withWeight(int weight) {
    if (weight < 1 || weight > MAX_WEIGHT) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: 1 to " + MAX_WEIGHT + ")");
    }
    return new Endpoint(address, weight, zone);
  }

  /** This endpoint with a zone (a label for the application, such as a data centre); "" for none. */
  public Endpoint withZone(String zone) {
    return new Endpoint(address, weight, requireNonNull(zone, "zone"));
  }

  /** Where to connect: resolved, or a host name and port to look up before each connect. */
  public InetSocketAddress address() {
    return address;
  }

  /** The host name (or the address literal when there is no name). */
  public String host() {
    return address.getHostString();
  }

  public int port() {
    return address.getPort();
  }

  public int weight() {
    return weight;
  }

  /** The zone, or "" when none was given. */
  public String zone() {
    return zone;
  }

  /** {@code host:port}, with the resolved address when the host is a name: {@code kv.internal:7070 (10.0.0.7)}. */
  String label() {
    String hostPort = dev.ferry.internal.Addresses.hostPort(host(), port());
    InetAddress resolved = address.getAddress();
    if (resolved == null || resolved.getHostAddress().equals(host())) {
      return hostPort;
    }
    return hostPort + " (" + resolved.getHostAddress() + ")";
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Endpoint)) {
      return false;
    }
    Endpoint other = (Endpoint) o;
    return address.equals(other.address) && weight == other.weight && zone.equals(other.zone);
  }

  @Override
  public int hashCode() {
    return address.hashCode() * 31 + weight * 17 + zone.hashCode();
  }

  @Override
  public String toString() {
    return "Endpoint{" + label() + (weight != DEFAULT_WEIGHT ? ", weight " + weight : "")
        + (zone.isEmpty() ? "" : ", zone " + zone) + '}';
  }
}
