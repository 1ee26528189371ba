package dev.ferry.cli;

/**
 * Where a server listens: {@code host:port}, {@code [ipv6]:port}. Parsed from the command line.
 *
 * @param host a host name or IP literal, without brackets
 * @param port 1 to 65535
 */
record Target(String host, int port) {
  static Target parse(String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new CliException("target: \"" + text + "\" (expected: host:port, e.g. localhost:7070)");
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new CliException("target: \"" + text + "\" (expected: an IPv6 address in brackets, e.g. [::1]:7070)");
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw new CliException("target: \"" + text + "\" (expected: a port from 1 to 65535)");
    }
    return new Target(host, port);
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
