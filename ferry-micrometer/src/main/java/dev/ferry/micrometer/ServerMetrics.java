package dev.ferry.micrometer;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.server.ServerListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server's meters, fed by {@link ServerListener} events. Only methods a server serves get meters
 * of their own (the listener is given their descriptor); every other name is {@value FerryMetrics#OTHER}.
 */
final class ServerMetrics implements ServerListener {
  private final FerryMetrics metrics;
  private final ConcurrentMap<String, MethodMeters> methods = new ConcurrentHashMap<>();
  private volatile MethodMeters other; // created on the first call to an unknown method
  private final AtomicInteger connections = new AtomicInteger();
  private final Counter goAwaysSent;
  private final Counter goAwaysReceived;
  private final Counter heartbeatTimeouts;

  ServerMetrics(FerryMetrics metrics) {
    this.metrics = metrics;
    Tags system = Tags.of(FerryMetrics.RPC_SYSTEM, FerryMetrics.SYSTEM);
    Gauge.builder(FerryMetrics.SERVER_CONNECTIONS, connections, AtomicInteger::get)
        .description("Open connections").tags(system).register(metrics.registry);
    goAwaysSent = Counter.builder(FerryMetrics.SERVER_GOAWAYS_SENT)
        .description("GOAWAYs sent to clients").tags(system).register(metrics.registry);
    goAwaysReceived = Counter.builder(FerryMetrics.SERVER_GOAWAYS_RECEIVED)
        .description("GOAWAYs received from clients").tags(system).register(metrics.registry);
    heartbeatTimeouts = Counter.builder(FerryMetrics.SERVER_HEARTBEAT_TIMEOUTS)
        .description("Connections closed because the client sent nothing for the heartbeat timeout")
        .tags(system).register(metrics.registry);
  }

  /** A served method's meters. */
  private MethodMeters meters(MethodDescriptor<?, ?> method) {
    MethodMeters m = methods.get(method.fullName());
    if (m == null) {
      m = methods.computeIfAbsent(method.fullName(),
          k -> new MethodMeters(metrics, method.serviceName(), method.methodName()));
    }
    return m;
  }

  private MethodMeters other() {
    MethodMeters m = other;
    if (m == null) {
      synchronized (this) {
        m = other;
        if (m == null) {
          m = new MethodMeters(metrics, FerryMetrics.OTHER, FerryMetrics.OTHER);
          other = m;
        }
      }
    }
    return m;
  }

  @Override
  public void callStarted(MethodDescriptor<?, ?> method) {
    MethodMeters m = meters(method);
    m.started.increment();
    m.active.incrementAndGet();
  }

  @Override
  public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos, long requestBytes,
      long responseBytes) {
    MethodMeters m = meters(method);
    m.active.decrementAndGet();
    m.completed(status, System.nanoTime() - startNanos, requestBytes, responseBytes);
  }

  @Override
  public void callRefused(MethodDescriptor<?, ?> method, StatusCode status) {
    MethodMeters m = method == null ? other() : meters(method);
    m.started.increment();
    m.refused(status);
  }

  @Override
  public void connectionOpened() {
    connections.incrementAndGet();
  }

  @Override
  public void connectionClosed() {
    connections.decrementAndGet();
  }

  @Override
  public void goAwaySent() {
    goAwaysSent.increment();
  }

  @Override
  public void goAwayReceived() {
    goAwaysReceived.increment();
  }

  @Override
  public void heartbeatTimedOut() {
    heartbeatTimeouts.increment();
  }

  /** A server method's meters: those of every call, plus calls started and running. */
  private static final class MethodMeters extends CallMeters {
    final Counter started;
    final AtomicInteger active = new AtomicInteger();

    MethodMeters(FerryMetrics metrics, String service, String method) {
      this(metrics, Tags.of(FerryMetrics.RPC_SYSTEM, FerryMetrics.SYSTEM, FerryMetrics.RPC_SERVICE, service,
          FerryMetrics.RPC_METHOD, method));
    }

    private MethodMeters(FerryMetrics metrics, Tags tags) {
      super(metrics, "server", tags);
      started = Counter.builder(FerryMetrics.SERVER_CALLS_STARTED)
          .description("Calls received, admitted or refused").tags(tags).register(metrics.registry);
      Gauge.builder(FerryMetrics.SERVER_CALLS_ACTIVE, active, AtomicInteger::get)
          .description("Calls running").tags(tags).register(metrics.registry);
    }
  }
}
