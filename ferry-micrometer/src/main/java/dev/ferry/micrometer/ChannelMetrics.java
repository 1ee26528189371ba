package dev.ferry.micrometer;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.ChannelState;
import dev.ferry.client.ChannelStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToIntFunction;

/**
 * One channel's meters, fed by {@link ChannelListener} events and tagged with the channel's target once
 * it is built. Call meters are looked up by method name; a channel names at most
 * {@link FerryMetrics#maxClientMethods} methods, and calls answered {@code UNIMPLEMENTED} are
 * {@value FerryMetrics#OTHER}.
 */
final class ChannelMetrics implements ChannelListener {
  private final FerryMetrics metrics;
  private final ConcurrentMap<String, CallMeters> methods = new ConcurrentHashMap<>();
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

  @Override
  public void callStarted(MethodDescriptor<?, ?> method) {
    target.started.increment();
  }

  @Override
  public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos, long requestBytes,
      long responseBytes) {
    Target t = target;
    CallMeters m = status == StatusCode.UNIMPLEMENTED ? t.other() : meters(t, method);
    m.completed(status, System.nanoTime() - startNanos, requestBytes, responseBytes);
  }

  private CallMeters meters(Target t, MethodDescriptor<?, ?> method) {
    CallMeters m = methods.get(method.fullName());
    if (m == null) {
      if (methods.size() >= metrics.maxClientMethods) {
        return t.other();
      }
      m = methods.computeIfAbsent(method.fullName(), k -> new CallMeters(metrics, "client",
          t.tags.and(FerryMetrics.RPC_SERVICE, method.serviceName(), FerryMetrics.RPC_METHOD, method.methodName())));
    }
    return m;
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

  /**
   * The meters of one target ({@code host:port}), shared by the channels to it; its gauges sum over the
   * channels open now.
   */
  static final class Target {
    final String address;
    final Tags tags;
    final List<ChannelStats> channels = new CopyOnWriteArrayList<>();
    final Counter started;
    final Counter retries;
    final Counter reconnects;
    final Counter goAways;
    final Counter heartbeatTimeouts;
    final Map<ChannelState, Counter> stateChanges = new EnumMap<>(ChannelState.class);
    private final FerryMetrics metrics;
    private volatile CallMeters other; // created on the first call tagged _OTHER

    Target(FerryMetrics metrics, String host, int port) {
      this.address = host + ":" + port;
      this.tags = Tags.of(FerryMetrics.RPC_SYSTEM, FerryMetrics.SYSTEM, FerryMetrics.SERVER_ADDRESS, host,
          FerryMetrics.SERVER_PORT, Integer.toString(port));
      this.metrics = metrics;
      started = counter(metrics, FerryMetrics.CLIENT_CALLS_STARTED, "Calls started");
      retries = counter(metrics, FerryMetrics.CLIENT_RETRIES,
          "Calls sent again transparently: the server they were sent to never processed them");
      reconnects = counter(metrics, FerryMetrics.CLIENT_RECONNECTS,
          "Connections opened again after one closed, went away or failed");
      goAways = counter(metrics, FerryMetrics.CLIENT_GOAWAYS_RECEIVED, "GOAWAYs received from the server");
      heartbeatTimeouts = counter(metrics, FerryMetrics.CLIENT_HEARTBEAT_TIMEOUTS,
          "Connections closed because the server sent nothing for the heartbeat timeout");
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

    CallMeters other() {
      CallMeters m = other;
      if (m == null) {
        synchronized (this) {
          m = other;
          if (m == null) {
            m = new CallMeters(metrics, "client",
                tags.and(FerryMetrics.RPC_SERVICE, FerryMetrics.OTHER, FerryMetrics.RPC_METHOD, FerryMetrics.OTHER));
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

    private double sum(ToIntFunction<ChannelStats> read) {
      int total = 0;
      for (ChannelStats c : channels) {
        total += read.applyAsInt(c);
      }
      return total;
    }
  }
}
