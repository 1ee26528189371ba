package dev.ferry.micrometer;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.ChannelState;
import dev.ferry.client.ChannelStats;
import dev.ferry.client.Endpoint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToIntFunction;

/**
 * One channel's listener, feeding the meters of the channel's target (shared by every channel to it),
 * which it learns when the channel is built. Call meters are looked up by method name; a target names
 * at most {@link FerryMetrics#maxClientMethods} methods, and calls answered {@code UNIMPLEMENTED} are
 * {@value FerryMetrics#OTHER}.
 */
final class ChannelMetrics implements ChannelListener {
  private final FerryMetrics metrics;
  private volatile Target target;

  ChannelMetrics(FerryMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void channelCreated(ChannelStats channel) {
    if (target != null) {
      throw new IllegalStateException("a FerryMetrics channel listener serves one channel; it was added to "
          + channel + " after " + target.address + " (expected: a new channelListener() per channel)");
    }
    Target t = metrics.target(channel.host(), channel.port());
    t.channels.add(channel);
    target = t;
  }

  @Override
  public void channelTerminated(ChannelStats channel) {
    target.channels.remove(channel);
  }

  @Override
  public void stateChanged(ChannelState from, ChannelState to) {
    target.stateChanges.get(to).increment();
  }

  // No callStarted: calls started are those completed plus those active, read when published.

  @Override
  public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos, long requestBytes,
      long responseBytes) {
    long nanos = System.nanoTime() - startNanos;
    Target t = target;
    Cells.Cell cell = t.cells.cell();
    CallMeters m = status == StatusCode.UNIMPLEMENTED ? t.other() : t.meters(cell, method);
    m.completed(cell, status, nanos, requestBytes, responseBytes);
  }

  @Override
  public void streamStalled(MethodDescriptor<?, ?> method) {
    Target t = target;
    t.meters(t.cells.cell(), method).stalls().started();
  }

  @Override
  public void streamStallEnded(MethodDescriptor<?, ?> method, long stalledNanos) {
    Target t = target;
    t.meters(t.cells.cell(), method).stalls().ended(stalledNanos);
  }

  @Override
  public void callRetried(MethodDescriptor<?, ?> method) {
    target.retries.increment();
  }

  @Override
  public void reconnecting() {
    target.reconnects.increment();
  }

  @Override
  public void goAwayReceived() {
    target.goAways.increment();
  }

  @Override
  public void heartbeatTimedOut() {
    target.heartbeatTimeouts.increment();
  }

  @Override
  public void endpointEjected(Endpoint endpoint, Duration duration) {
    target.ejections.increment();
  }

  /**
   * The meters of one target ({@code host:port}), shared by the channels to it; its gauges sum over the
   * channels open now.
   */
  static final class Target {
    final String address;
    final Tags tags;
    final List<ChannelStats> channels = new CopyOnWriteArrayList<>();
    final Cells cells = new Cells();
    private final ConcurrentMap<String, CallMeters> methods = new ConcurrentHashMap<>();
    final Counter retries;
    final Counter reconnects;
    final Counter goAways;
    final Counter heartbeatTimeouts;
    final Counter ejections;
    final Map<ChannelState, Counter> stateChanges = new EnumMap<>(ChannelState.class);
    private final FerryMetrics metrics;
    private volatile CallMeters other; // created on the first call tagged _OTHER

    Target(FerryMetrics metrics, String host, int port) {
      this.address = host + ":" + port;
      this.tags = Tags.of(FerryMetrics.RPC_SYSTEM, FerryMetrics.SYSTEM, FerryMetrics.SERVER_ADDRESS, host,
          FerryMetrics.SERVER_PORT, Integer.toString(port));
      this.metrics = metrics;
      FunctionCounter.builder(FerryMetrics.CLIENT_CALLS_STARTED, this, Target::started)
          .description("Calls started").tags(tags).register(metrics.registry);
      retries = counter(metrics, FerryMetrics.CLIENT_RETRIES,
          "Calls sent again transparently: the server they were sent to never processed them");
      reconnects = counter(metrics, FerryMetrics.CLIENT_RECONNECTS,
          "Connections opened again after one closed, went away or failed");
      goAways = counter(metrics, FerryMetrics.CLIENT_GOAWAYS_RECEIVED, "GOAWAYs received from the server");
      heartbeatTimeouts = counter(metrics, FerryMetrics.CLIENT_HEARTBEAT_TIMEOUTS,
          "Connections closed because the server sent nothing for the heartbeat timeout");
      ejections = counter(metrics, FerryMetrics.CLIENT_EJECTIONS,
          "Servers the balancer stopped calling for a while because their calls failed");
      for (ChannelState s : ChannelState.values()) {
        stateChanges.put(s, Counter.builder(FerryMetrics.CLIENT_STATE_CHANGES)
            .description("Channel state transitions, by the state entered")
            .tags(tags).tag(FerryMetrics.STATE, s.name()).register(metrics.registry));
      }
      gauge(metrics, FerryMetrics.CLIENT_CALLS_ACTIVE, "Calls started and not completed", tags,
          ChannelStats::activeCalls);
      gauge(metrics, FerryMetrics.CLIENT_CALLS_WAITING, "Calls waiting in the pool's queue for a connection", tags,
          ChannelStats::waitingCalls);
      String connections = "Open connections, by state";
      gauge(metrics, FerryMetrics.CLIENT_CONNECTIONS, connections, tags.and(FerryMetrics.STATE, "connecting"),
          ChannelStats::connectingConnections);
      gauge(metrics, FerryMetrics.CLIENT_CONNECTIONS, connections, tags.and(FerryMetrics.STATE, "ready"),
          ChannelStats::readyConnections);
      gauge(metrics, FerryMetrics.CLIENT_CONNECTIONS, connections, tags.and(FerryMetrics.STATE, "draining"),
          ChannelStats::drainingConnections);
    }

    /**
     * A method's meters, {@value FerryMetrics#OTHER}'s once the target has named as many as it may;
     * {@code cell} remembers them for the next call on this thread.
     */
    CallMeters meters(Cells.Cell cell, MethodDescriptor<?, ?> method) {
      if (cell.lastKey == method) {
        return (CallMeters) cell.lastMeters;
      }
      CallMeters m = methods.get(method.fullName());
      if (m == null) {
        if (methods.size() >= metrics.maxClientMethods) {
          return other();
        }
        m = methods.computeIfAbsent(method.fullName(), k -> new CallMeters(metrics, cells, "client",
            tags.and(FerryMetrics.RPC_SERVICE, method.serviceName(), FerryMetrics.RPC_METHOD, method.methodName()), 0));
      }
      cell.lastKey = method;
      cell.lastMeters = m;
      return m;
    }

    CallMeters other() {
      CallMeters m = other;
      if (m == null) {
        synchronized (this) {
          m = other;
          if (m == null) {
            m = new CallMeters(metrics, cells, "client",
                tags.and(FerryMetrics.RPC_SERVICE, FerryMetrics.OTHER, FerryMetrics.RPC_METHOD, FerryMetrics.OTHER), 0);
            other = m;
          }
        }
      }
      return m;
    }

    private Counter counter(FerryMetrics metrics, String name, String description) {
      return Counter.builder(name).description(description).tags(tags).register(metrics.registry);
    }

    private void gauge(FerryMetrics metrics, String name, String description, Tags gaugeTags,
        ToIntFunction<ChannelStats> read) {
      // The gauge holds this target weakly; FerryMetrics holds it for as long as it lives.
      Gauge.builder(name, this, t -> t.sum(read)).description(description).tags(gaugeTags)
          .register(metrics.registry);
    }

    /** Calls completed, every method and status, plus those still active. */
    private double started() {
      long n = 0;
      for (CallMeters m : methods.values()) {
        n += m.completed();
      }
      CallMeters o = other;
      if (o != null) {
        n += o.completed();
      }
      return n + sum(ChannelStats::activeCalls);
    }

    private double sum(ToIntFunction<ChannelStats> read) {
      int total = 0;
      for (ChannelStats c : channels) {
        total += read.applyAsInt(c);
      }
      return total;
    }
  }
}
