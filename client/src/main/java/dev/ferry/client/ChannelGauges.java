package dev.ferry.client;

/**
 * The {@link ChannelStats} of one channel: where it connects, fixed when the channel is built, and its
 * state and counts, read live from the channel and its balancer.
 *
 * <p>Threads: any; each read looks at the channel now.
 */
final class ChannelGauges implements ChannelStats {
  private final FerryChannel channel;
  private final Balancer balancer;
  private final String host;
  private final int port;

  private ChannelGauges(FerryChannel channel, Balancer balancer, String host, int port) {
    this.channel = channel;
    this.balancer = balancer;
    this.host = host;
    this.port = port;
  }

  /** The gauges of a channel to one server, at {@code host:port} as configured. */
  static ChannelGauges forServer(FerryChannel channel, Balancer balancer, String host, int port) {
    return new ChannelGauges(channel, balancer, host, port);
  }

  /**
   * The gauges of a channel built from a target whose resolver calls its servers {@code authority}: a
   * single {@code host:port} is split (the brackets of an IPv6 address dropped); anything else (a list,
   * a service name) is the host, with port 0.
   */
  static ChannelGauges forTarget(FerryChannel channel, Balancer balancer, String authority) {
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(',') < 0 && isPort(authority.substring(colon + 1))) {
      return new ChannelGauges(channel, balancer, stripBrackets(authority.substring(0, colon)),
          Integer.parseInt(authority.substring(colon + 1)));
    }
    return new ChannelGauges(channel, balancer, authority, 0);
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public ChannelState state() {
    return channel.state();
  }

  @Override
  public int activeCalls() {
    return channel.activeCalls();
  }

  @Override
  public int waitingCalls() {
    return balancer.waitingCalls();
  }

  @Override
  public int connectingConnections() {
    return balancer.connectionsByState()[0];
  }

  @Override
  public int readyConnections() {
    return balancer.connectionsByState()[1];
  }

  @Override
  public int drainingConnections() {
    return balancer.connectionsByState()[2];
  }

  @Override
  public String toString() {
    return channel.toString();
  }

  private static boolean isPort(String s) {
    if (s.isEmpty() || s.length() > 5) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  private static String stripBrackets(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }
}
