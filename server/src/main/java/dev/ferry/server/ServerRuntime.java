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
  private volatile boolean shuttingDown;

  ServerRuntime(Map<String, ServiceDefinition> services, Executor executor, Timer timer, int maxConcurrentCalls) {
    this.services = services;
    this.executor = executor;
    this.timer = timer;
    this.maxConcurrentCalls = maxConcurrentCalls;
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
