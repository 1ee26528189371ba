package dev.ferry.server;

import dev.ferry.internal.RequestHead;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The server's methods by full name, looked up from the UTF-8 bytes of a call header's method name
 * without decoding a string per call; and the UNIMPLEMENTED message for names nobody serves. Built once
 * at start-up (methods wrapped in their interceptors then); immutable, thread-safe.
 */
final class MethodRegistry implements RequestHead.MethodLookup<ServerMethod<?, ?>> {
  private final Map<String, ServiceDefinition> services;
  private final MethodEntry[] methodTable;
  private MethodEntry lastFound;

  MethodRegistry(Map<String, ServiceDefinition> services, List<ServerInterceptor> interceptors) {
    this.services = services;
    this.methodTable = methodTable(services, interceptors);
  }

  Set<String> serviceNames() {
    return services.keySet();
  }

  /**
   * The method whose full name's UTF-8 bytes are {@code bytes[offset, offset + length)}, or null.
   * Compares bytes in an open-addressing table built at start-up: no string is decoded per call.
   */
  @Override
  public ServerMethod<?, ?> find(byte[] bytes, int offset, int length) {
    // Calls on a server mostly repeat the method before: compare with it first, no hashing.
    MethodEntry last = lastFound;
    if (last != null && Arrays.equals(last.name, 0, last.name.length, bytes, offset, offset + length)) {
      return last.method;
    }
    int mask = methodTable.length - 1;
    for (int i = hash(bytes, offset, length) & mask; ; i = (i + 1) & mask) {
      MethodEntry e = methodTable[i];
      if (e == null) {
        return null;
      }
      if (Arrays.equals(e.name, 0, e.name.length, bytes, offset, offset + length)) {
        lastFound = e; // a benign race between event loops: entries are immutable
        return e.method;
      }
    }
  }

  @Override
  public RequestHead.Parsed<ServerMethod<?, ?>> plain(ServerMethod<?, ?> method) {
    return method.plainRequest;
  }

  private static int hash(byte[] bytes, int offset, int length) {
    int h = 1;
    for (int i = offset; i < offset + length; i++) {
      h = 31 * h + bytes[i];
    }
    return h ^ (h >>> 16);
  }

  private static MethodEntry[] methodTable(Map<String, ServiceDefinition> services,
      List<ServerInterceptor> interceptors) {
    int count = 0;
    for (ServiceDefinition s : services.values()) {
      count += s.methods().size();
    }
    MethodEntry[] table = new MethodEntry[Integer.highestOneBit(Math.max(4, count * 4))];
    for (ServiceDefinition s : services.values()) {
      for (ServerMethod<?, ?> m : s.methods().values()) {
        byte[] name = m.descriptor.fullName().getBytes(StandardCharsets.UTF_8);
        int mask = table.length - 1;
        int i = hash(name, 0, name.length) & mask;
        while (table[i] != null) {
          i = (i + 1) & mask;
        }
        table[i] = new MethodEntry(name, Interceptors.wrap(m, interceptors));
      }
    }
    return table;
  }

  private record MethodEntry(byte[] name, ServerMethod<?, ?> method) {}

  /** The UNIMPLEMENTED message for a method nobody handles. */
  String describeUnknown(String fullName) {
    int slash = fullName.indexOf('/');
    if (slash < 0) {
      return "malformed method name \"" + fullName + "\" (expected: \"package.Service/Method\")";
    }
    String service = fullName.substring(0, slash);
    return services.containsKey(service)
        ? "unknown method " + fullName.substring(slash + 1) + " of service " + service
        : "unknown service " + service;
  }

}
