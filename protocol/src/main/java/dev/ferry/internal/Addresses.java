package dev.ferry.internal;

import io.netty.channel.local.LocalAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Addresses as Ferry writes them in messages and logs: each part once, in the form people type.
 * {@link InetSocketAddress#toString()} gives {@code "localhost/127.0.0.1:7070"}, or
 * {@code "127.0.0.1/127.0.0.1:7070"} for an address made from an IP literal; here they read
 * {@code "localhost:7070 (127.0.0.1)"} and {@code "127.0.0.1:7070"}.
 */
public final class Addresses {
  private Addresses() {}

  /**
   * {@code host:port}, with the IP address in parentheses when the host is a name that was resolved;
   * {@code [v6]:port} for IPv6 literals; {@code in-process:name} for an in-process address.
   */
  public static String describe(SocketAddress address) {
    if (address instanceof LocalAddress) {
      return "in-process:" + ((LocalAddress) address).id();
    }
    if (!(address instanceof InetSocketAddress)) {
      return String.valueOf(address);
    }
    InetSocketAddress a = (InetSocketAddress) address;
    String host = a.getHostString();
    InetAddress resolved = a.getAddress();
    String ip = resolved == null ? null : resolved.getHostAddress();
    return hostPort(host, a.getPort()) + (ip == null || ip.equals(host) ? "" : " (" + ip + ")");
  }

  /** {@code host:port}, or {@code [host]:port} for an IPv6 literal. */
  public static String hostPort(String host, int port) {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
