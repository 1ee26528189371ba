package dev.ferry.server;

import dev.ferry.protocol.Frame;
import io.netty.util.Timer;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * What a connection needs from its server: the method registry, the handler executor, the shared
 * deadline timer, limits, and whether the server is shutting down. Immutable apart from that flag.
 */
final class ServerRuntime {
  private final Map<String, ServiceDefinition> services;
  private final Executor executor; // null = run handlers on the event loop
  private final Timer timer;
  private final int maxConcurrentCalls;
  final long maxConnectionIdleNanos; // 0 = off
  final long maxConnectionAgeNanos; // 0 = off
  final long maxConnectionAgeGraceNanos;
  private final long minPingIntervalMillis;
  private volatile boolean shuttingDown;

  ServerRuntime(Map<String, ServiceDefinition> services, Executor executor, Timer timer, int maxConcurrentCalls,
      long maxConnectionIdleNanos, long maxConnectionAgeNanos, long maxConnectionAgeGraceNanos,
      long minPingIntervalMillis) {
    this.minPingIntervalMillis = minPingIntervalMillis;
    this.services = services;
    this.executor = executor;
    this.timer = timer;
    this.maxConcurrentCalls = maxConcurrentCalls;
    this.maxConnectionIdleNanos = maxConnectionIdleNanos;
    this.maxConnectionAgeNanos = maxConnectionAgeNanos;
    this.maxConnectionAgeGraceNanos = maxConnectionAgeGraceNanos;
  }

  java.util.Set<String> serviceNames() {
    return services.keySet();
  }

  ServerMethod<?, ?> lookup(String fullName) {
    int slash = fullName.indexOf('/');
    if (slash < 0) {
      return null;
    }
    ServiceDefinition service = services.get(fullName.substring(0, slash));
    return service == null ? null : service.methods().get(fullName.substring(slash + 1));
  }

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
      call.run(frame);
    } else {
      executor.execute(() -> call.run(frame));
    }
  }

  Timer timer() {
    return timer;
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

  void startShutdown() {
    shuttingDown = true;
  }
}
