package dev.ferry.discovery.zookeeper;

import dev.ferry.discovery.zookeeper.v1.ServerInstance;
import java.util.regex.Pattern;

/** Where servers register: {@code /ferry/v1/{service}/{host:port}}. Stateless. */
final class ZooKeeperPaths {
  /** The root of Ferry's registrations (version 1 of the layout). */
  static final String ROOT = "/ferry/v1";
  private static final Pattern SERVICE = Pattern.compile("[A-Za-z0-9_.\\-]+");

  private ZooKeeperPaths() {}

  /** Checks {@code service} can be one path segment. */
  static String checkService(String service) {
    if (service == null || !SERVICE.matcher(service).matches() || service.equals(".") || service.equals("..")) {
      throw new IllegalArgumentException("service: \"" + service
          + "\" (expected: a service name such as ferry.examples.kvstore.KvStore: letters, digits, '.', '_', '-')");
    }
    return service;
  }

  static String servicePath(String service) {
    return ROOT + "/" + service;
  }

  /** The node of one server: its address as {@code host:port} ({@code [v6]:port}). */
  static String instancePath(String service, ServerInstance instance) {
    String host = instance.getHost();
    String hostPort = host.indexOf(':') >= 0 ? "[" + host + "]:" + instance.getPort() : host + ":" + instance.getPort();
    return servicePath(service) + "/" + hostPort;
  }
}
