package dev.ferry.micrometer;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.server.ServerListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server's meters, fed by {@link ServerListener} events. Only methods a server serves get meters of
 * their own (the listener is given their descriptor); every other name is {@value FerryMetrics#OTHER}.
 * Events run on the connections' event loops; each counts on its thread's cell (see {@link Cells}).
 */
final class ServerMetrics implements ServerListener {
  private final FerryMetrics metrics;
  private final Cells cells = new Cells();
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

  /** A served method's meters; {@code cell} remembers them for the next call on this thread. */
  private MethodMeters meters(Cells.Cell cell, MethodDescriptor<?, ?> method) {
    if (cell.lastKey == method) {
      return (MethodMeters) cell.lastMeters;
    }
    MethodMeters m = methods.get(method.fullName());
    if (m == null) {
      m = methods.computeIfAbsent(method.fullName(),
          k -> new MethodMeters(metrics, cells, method.serviceName(), method.methodName()));
    }
    cell.lastKey = method;
    cell.lastMeters = m;
    return m;
  }

  private MethodMeters other() {
    MethodMeters m = other;
    if (m == null) {
      synchronized (this) {
        m = other;
        if (m == null) {
          m = new MethodMeters(metrics, cells, FerryMetrics.OTHER, FerryMetrics.OTHER);
          other = m;
        }
      }
    }
    return m;
  }

  @Override
  public void callStarted(MethodDescriptor<?, ?> method) {
    Cells.Cell cell = cells.cell();
    cell.add(meters(cell, method).base + MethodMeters.ADMITTED, 1);
  }

  @Override
  public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos, long requestBytes,
      long responseBytes) {
    long nanos = System.nanoTime() - startNanos;
    Cells.Cell cell = cells.cell();
    meters(cell, method).completed(cell, status, nanos, requestBytes, responseBytes);
  }

  @Override
  public void callRefused(MethodDescriptor<?, ?> method, StatusCode status) {
    Cells.Cell cell = cells.cell();
    MethodMeters m = method == null ? other() : meters(cell, method);
    cell.add(m.base + MethodMeters.REFUSED, 1);
    m.refused(cell, status);
  }

  @Override
  public void streamStalled(MethodDescriptor<?, ?> method) {
    Cells.Cell cell = cells.cell();
    meters(cell, method).stalls().started();
  }

  @Override
  public void streamStallEnded(MethodDescriptor<?, ?> method, long stalledNanos) {
    Cells.Cell cell = cells.cell();
    meters(cell, method).stalls().ended(stalledNanos);
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

  /**
   * A server method's meters: those of every call, plus calls received (admitted or refused) and running
   * (admitted and not completed).
   */
  private static final class MethodMeters extends CallMeters {
    static final int ADMITTED = SLOTS;
    static final int REFUSED = SLOTS + 1;

    MethodMeters(FerryMetrics metrics, Cells cells, String service, String method) {
      this(metrics, cells, Tags.of(FerryMetrics.RPC_SYSTEM, FerryMetrics.SYSTEM, FerryMetrics.RPC_SERVICE, service,
          FerryMetrics.RPC_METHOD, method));
    }

    private MethodMeters(FerryMetrics metrics, Cells cells, Tags tags) {
      super(metrics, cells, "server", tags, 2);
      FunctionCounter.builder(FerryMetrics.SERVER_CALLS_STARTED, this,
              m -> m.cells.sum(m.base + ADMITTED) + m.cells.sum(m.base + REFUSED))
          .description("Calls received, admitted or refused").tags(tags).register(metrics.registry);
      // Refused calls count as completed the moment they are received.
      Gauge.builder(FerryMetrics.SERVER_CALLS_ACTIVE, this,
              m -> Math.max(0, m.cells.sum(m.base + ADMITTED) + m.cells.sum(m.base + REFUSED) - m.completed()))
          .description("Calls running").tags(tags).register(metrics.registry);
    }
  }
}
