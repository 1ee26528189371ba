package dev.ferry.server;

import dev.ferry.internal.Frame;
import dev.ferry.internal.RequestHead;
import java.util.Arrays;
import java.nio.charset.StandardCharsets;
import io.netty.util.Timer;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * What a connection needs from its server: the method registry, the handler executor, the shared
 * deadline timer, limits, and whether the server is shutting down. Immutable apart from that flag.
 */
final class ServerRuntime implements RequestHead.MethodLookup<ServerMethod<?, ?>> {
  private final Map<String, ServiceDefinition> services;
  private final MethodEntry[] methodTable;
  private MethodEntry lastFound;
  private final Executor executor; // null = run handlers on the event loop
  private final Executor cancelListeners; // null with executor
  private final Timer timer;
  private final int maxConcurrentCalls;
  final long maxConnectionIdleNanos; // 0 = off
  final long maxConnectionAgeNanos; // 0 = off
  final long maxConnectionAgeGraceNanos;
  private final long minPingIntervalMillis;
  /** Told about calls, connections, GOAWAYs and shutdown; {@link ServerListeners#NONE} if none was added. */
  final ServerListener listener;
  private volatile boolean shuttingDown;

  ServerRuntime(Map<String, ServiceDefinition> services, java.util.List<ServerInterceptor> interceptors,
      Executor executor, Executor cancelListeners, Timer timer, int maxConcurrentCalls,
      long maxConnectionIdleNanos, long maxConnectionAgeNanos, long maxConnectionAgeGraceNanos,
      long minPingIntervalMillis, ServerListener listener) {
    this.minPingIntervalMillis = minPingIntervalMillis;
    this.listener = listener;
    this.services = services;
    this.methodTable = methodTable(services, interceptors);
    this.executor = executor;
    this.cancelListeners = cancelListeners;
    this.timer = timer;
    this.maxConcurrentCalls = maxConcurrentCalls;
    this.maxConnectionIdleNanos = maxConnectionIdleNanos;
    this.maxConnectionAgeNanos = maxConnectionAgeNanos;
    this.maxConnectionAgeGraceNanos = maxConnectionAgeGraceNanos;
  }

  java.util.Set<String> serviceNames() {
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

  private static int hash(byte[] bytes, int offset, int length) {
    int h = 1;
    for (int i = offset; i < offset + length; i++) {
      h = 31 * h + bytes[i];
    }
    return h ^ (h >>> 16);
  }

  private static MethodEntry[] methodTable(Map<String, ServiceDefinition> services,
      java.util.List<ServerInterceptor> interceptors) {
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

  /** Runs the call's handler on the executor, or right here on the event loop in direct mode. */
  void dispatch(ServerCall<?, ?> call, Frame frame) {
    if (executor == null) {
      call.handle(frame);
    } else {
      executor.execute(() -> call.handle(frame));
    }
  }

  Timer timer() {
    return timer;
  }

  /**
   * Runs a call's {@code onCancel} listeners, handed over from the event loop that noticed the
   * cancellation (CANCEL, connection loss, or the deadline, which the shared timer hands to it). They run
   * on the server's own small pool of listener threads: not on the timer, where one that blocks would
   * hold up every deadline of the server; not on the event loop, where it would stall the connections
   * of that loop; and not on the handler executor, where a handler that waits for its own cancellation
   * (a common pattern) could occupy the very thread its listener needs. A listener that blocks holds up
   * only later listeners, once every listener thread is taken. In direct mode (handlers that never
   * block) they run right here, on the event loop; and here too if the pool refuses them (shut down).
   */
  void runCancelListeners(Runnable listeners) {
    if (cancelListeners == null) {
      listeners.run();
      return;
    }
    try {
      cancelListeners.execute(listeners);
    } catch (RejectedExecutionException e) {
      listeners.run();
    }
  }

  long minPingIntervalMillis() {
    return minPingIntervalMillis;
  }

  int maxConcurrentCalls() {
    return maxConcurrentCalls;
  }

  boolean isShuttingDown() {
    return shuttingDown;
  }

  /** Any thread; the first call tells the listener, before anything is refused or sent GOAWAY. */
  synchronized void startShutdown() {
    if (!shuttingDown) {
      listener.shutdownStarted();
      shuttingDown = true;
    }
  }
}
