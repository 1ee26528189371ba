package dev.ferry.micrometer;

import static java.util.Objects.requireNonNull;

import dev.ferry.client.ChannelListener;
import dev.ferry.server.ServerListener;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Micrometer meters for Ferry servers and channels. Install its listeners:
 *
 * <pre>{@code
 * FerryMetrics metrics = FerryMetrics.create(registry);
 * FerryServer server = FerryServer.builder()
 *     .addService(...)
 *     .addListener(metrics.serverListener())
 *     .build().start();
 * FerryChannel channel = FerryChannel.builder("kv.internal", 7070)
 *     .addListener(metrics.channelListener()) // a new one for each channel
 *     .build();
 * }</pre>
 *
 * <p><b>Names and tags</b> follow OpenTelemetry's RPC semantic conventions where they define a meter:
 * {@value #SERVER_CALL_DURATION} and {@value #CLIENT_CALL_DURATION} (in seconds), and, with size buckets,
 * {@code rpc.{server,client}.{request,response}.size} (bytes); tags {@value #RPC_SYSTEM} ({@value #SYSTEM}),
 * {@value #RPC_SERVICE}, {@value #RPC_METHOD}, {@value #STATUS_CODE} (the status name, as {@code OK} or
 * {@code NOT_FOUND}), and on the client {@value #SERVER_ADDRESS} and {@value #SERVER_PORT} from the
 * channel's configured target (never the peer's address). Ferry's own meters are named {@code ferry.*}.
 * The number of calls completed with each status is the duration meter's count. A streaming call counts
 * as one call, from its start to its status; its messages are not counted (nor their bytes: the byte
 * meters count the request and response bodies of the call itself, empty for the streamed sides).
 *
 * <p><b>Flow-control stalls.</b> A stream whose writer waits for its peer's credit (the reader is slower)
 * is stalled until credit comes back or the call ends: {@value #SERVER_STREAM_STALLS},
 * {@value #SERVER_STREAM_STALL_DURATION} and {@value #SERVER_STREAMS_STALLED} count, time and gauge them
 * for response streams, the {@code ferry.client.*} ones for request streams, by service and method;
 * registered with a method's first stall.
 *
 * <p><b>Cost.</b> By default a call is counted in per-thread counters (a few nanoseconds) that the
 * registry reads when it publishes: durations as a function timer (count and total per status), sizes as
 * byte totals. Histograms need each call recorded in a Micrometer timer or summary, tens of nanoseconds
 * more per call on each side: ask for them with {@link Builder#durationBuckets} and
 * {@link Builder#sizeBuckets}. BENCHMARKS.md (S10) has the figures.
 *
 * <p><b>Bounded tags.</b> A server tags a call with its service and method only when it serves that
 * method; calls to any other name share the service and method {@value #OTHER}, so a client sending
 * random names cannot create meters. On the client a call the server answered {@code UNIMPLEMENTED} is
 * tagged {@value #OTHER} too, and a channel tags at most {@link Builder#maxClientMethods} methods.
 *
 * <p>Thread-safe. Recording a call allocates nothing: the meters of each method and status are looked
 * up in a map and kept. Use one {@code FerryMetrics} per registry.
 */
public final class FerryMetrics {
  /** {@value}: the value of {@link #RPC_SYSTEM}. */
  public static final String SYSTEM = "ferry";
  /** {@value}: the service and method tag of calls to methods a server does not serve. */
  public static final String OTHER = "_OTHER";

  /** Tag {@value}: always {@value #SYSTEM}. */
  public static final String RPC_SYSTEM = "rpc.system";
  /** Tag {@value}: the service's full name, {@code package.Service}. */
  public static final String RPC_SERVICE = "rpc.service";
  /** Tag {@value}: the method's name, without the service. */
  public static final String RPC_METHOD = "rpc.method";
  /** Tag {@value}: the call's status, as a {@link dev.ferry.StatusCode} name. */
  public static final String STATUS_CODE = "rpc.response.status_code";
  /** Tag {@value} (client meters): the host the channel was built with. */
  public static final String SERVER_ADDRESS = "server.address";
  /** Tag {@value} (client meters): the port the channel was built with. */
  public static final String SERVER_PORT = "server.port";
  /** Tag {@value}: a connection's state, or the channel state entered. */
  public static final String STATE = "state";

  /**
   * Function timer (a timer with a histogram, given duration buckets) {@value}: server call duration, from
   * the request read to the response written.
   */
  public static final String SERVER_CALL_DURATION = "rpc.server.call.duration";
  /** Counter {@value}: bytes of request messages. */
  public static final String SERVER_REQUEST_BYTES = "ferry.server.request.bytes";
  /** Counter {@value}: bytes of response messages (OK responses). */
  public static final String SERVER_RESPONSE_BYTES = "ferry.server.response.bytes";
  /** Distribution summary {@value} (with size buckets only): request message size, bytes. */
  public static final String SERVER_REQUEST_SIZE = "rpc.server.request.size";
  /** Distribution summary {@value} (with size buckets only): response message size (OK responses), bytes. */
  public static final String SERVER_RESPONSE_SIZE = "rpc.server.response.size";
  /** Counter {@value}: calls received (admitted or refused), by service and method. */
  public static final String SERVER_CALLS_STARTED = "ferry.server.calls.started";
  /** Gauge {@value}: calls running now, by service and method. */
  public static final String SERVER_CALLS_ACTIVE = "ferry.server.calls.active";
  /** Gauge {@value}: open connections. */
  public static final String SERVER_CONNECTIONS = "ferry.server.connections";
  /** Counter {@value}: GOAWAYs sent (shutdown, maximum age or idle time, too many pings). */
  public static final String SERVER_GOAWAYS_SENT = "ferry.server.goaways.sent";
  /** Counter {@value}: GOAWAYs received from clients. */
  public static final String SERVER_GOAWAYS_RECEIVED = "ferry.server.goaways.received";
  /** Counter {@value}: connections closed because the client went silent (heartbeat timeout). */
  public static final String SERVER_HEARTBEAT_TIMEOUTS = "ferry.server.heartbeat.timeouts";
  /**
   * Counter {@value}, by service and method: flow-control stalls of response streams (a handler waited
   * for the client's credit: the client reads more slowly than the handler writes).
   */
  public static final String SERVER_STREAM_STALLS = "ferry.server.stream.stalls";
  /** Timer {@value}, seconds, by service and method: how long each response stream's stall lasted. */
  public static final String SERVER_STREAM_STALL_DURATION = "ferry.server.stream.stall.duration";
  /** Gauge {@value}, by service and method: response streams stalled now. */
  public static final String SERVER_STREAMS_STALLED = "ferry.server.streams.stalled";

  /**
   * Function timer (a timer with a histogram, given duration buckets) {@value}: client call duration, from
   * the call's start to its completion.
   */
  public static final String CLIENT_CALL_DURATION = "rpc.client.call.duration";
  /** Counter {@value}: bytes of request messages. */
  public static final String CLIENT_REQUEST_BYTES = "ferry.client.request.bytes";
  /** Counter {@value}: bytes of response messages (OK responses). */
  public static final String CLIENT_RESPONSE_BYTES = "ferry.client.response.bytes";
  /** Distribution summary {@value} (with size buckets only): request message size, bytes. */
  public static final String CLIENT_REQUEST_SIZE = "rpc.client.request.size";
  /** Distribution summary {@value} (with size buckets only): response message size (OK responses), bytes. */
  public static final String CLIENT_RESPONSE_SIZE = "rpc.client.response.size";
  /** Counter {@value}: calls started. */
  public static final String CLIENT_CALLS_STARTED = "ferry.client.calls.started";
  /** Gauge {@value}: calls started and not completed. */
  public static final String CLIENT_CALLS_ACTIVE = "ferry.client.calls.active";
  /** Gauge {@value}: calls waiting in the pool's queue for a connection. */
  public static final String CLIENT_CALLS_WAITING = "ferry.client.calls.waiting";
  /** Counter {@value}: calls sent again transparently (never processed by the server they were sent to). */
  public static final String CLIENT_RETRIES = "ferry.client.retries";
  /** Gauge {@value}: open connections, by {@value #STATE}: connecting, ready, draining. */
  public static final String CLIENT_CONNECTIONS = "ferry.client.connections";
  /** Counter {@value}: channel state transitions, by the {@value #STATE} entered. */
  public static final String CLIENT_STATE_CHANGES = "ferry.client.state.changes";
  /** Counter {@value}: connections opened again after one closed, went away or failed. */
  public static final String CLIENT_RECONNECTS = "ferry.client.reconnects";
  /** Counter {@value}: GOAWAYs received from the server. */
  public static final String CLIENT_GOAWAYS_RECEIVED = "ferry.client.goaways.received";
  /** Counter {@value}: connections closed because the server went silent (heartbeat timeout). */
  public static final String CLIENT_HEARTBEAT_TIMEOUTS = "ferry.client.heartbeat.timeouts";
  /**
   * Counter {@value}: servers the balancer ejected for failing (channels built from a target; the server's
   * address is not a tag).
   */
  public static final String CLIENT_EJECTIONS = "ferry.client.balancer.ejections";
  /**
   * Counter {@value}, by service and method: flow-control stalls of request streams (the application
   * waited for the server's credit).
   */
  public static final String CLIENT_STREAM_STALLS = "ferry.client.stream.stalls";
  /** Timer {@value}, seconds, by service and method: how long each request stream's stall lasted. */
  public static final String CLIENT_STREAM_STALL_DURATION = "ferry.client.stream.stall.duration";
  /** Gauge {@value}, by service and method: request streams stalled now. */
  public static final String CLIENT_STREAMS_STALLED = "ferry.client.streams.stalled";

  /**
   * Duration buckets from 100 µs to 10 s, for {@link Builder#durationBuckets}: those OpenTelemetry advises
   * for RPC durations (5 ms to 10 s), with finer ones below 5 ms, where most Ferry calls end.
   */
  public static final Duration[] RECOMMENDED_DURATION_BUCKETS = {
      Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
      Duration.ofNanos(2_500_000), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
      Duration.ofMillis(50), Duration.ofMillis(75), Duration.ofMillis(100), Duration.ofMillis(250),
      Duration.ofMillis(500), Duration.ofMillis(750), Duration.ofSeconds(1), Duration.ofMillis(2_500),
      Duration.ofSeconds(5), Duration.ofMillis(7_500), Duration.ofSeconds(10)};
  /** Default of {@link Builder#maxClientMethods}: 1,000. */
  public static final int DEFAULT_MAX_CLIENT_METHODS = 1_000;

  final MeterRegistry registry;
  final Duration[] durationBuckets;
  final double[] sizeBuckets;
  final int maxClientMethods;
  private final ConcurrentMap<String, ChannelMetrics.Target> targets = new ConcurrentHashMap<>();
  private volatile ServerMetrics server;

  private FerryMetrics(Builder b) {
    this.registry = b.registry;
    this.durationBuckets = b.durationBuckets;
    this.sizeBuckets = b.sizeBuckets;
    this.maxClientMethods = b.maxClientMethods;
  }

  /** Meters in {@code registry}, without histograms. */
  public static FerryMetrics create(MeterRegistry registry) {
    return builder(registry).build();
  }

  /** A builder of meters in {@code registry}. */
  public static Builder builder(MeterRegistry registry) {
    return new Builder(registry);
  }

  /**
   * The listener to add to servers ({@code FerryServer.builder().addListener(...)}). The same one for
   * every call: servers sharing it share their meters.
   */
  public ServerListener serverListener() {
    ServerMetrics s = server;
    if (s == null) {
      synchronized (this) {
        s = server;
        if (s == null) {
          s = new ServerMetrics(this);
          server = s;
        }
      }
    }
    return s;
  }

  /**
   * A new listener for one channel ({@code FerryChannel.builder(host, port).addListener(...)}): its meters
   * are tagged with the host and port the channel is built with. Channels to the same target share their
   * meters; each needs its own listener.
   */
  public ChannelListener channelListener() {
    return new ChannelMetrics(this);
  }

  /** The meters of calls to {@code host:port}, shared by every channel to it. */
  ChannelMetrics.Target target(String host, int port) {
    return targets.computeIfAbsent(host + ":" + port, k -> new ChannelMetrics.Target(this, host, port));
  }

  /** Builds {@link FerryMetrics}. */
  public static final class Builder {
    private final MeterRegistry registry;
    private Duration[] durationBuckets = new Duration[0];
    private double[] sizeBuckets = new double[0];
    private int maxClientMethods = DEFAULT_MAX_CLIENT_METHODS;

    private Builder(MeterRegistry registry) {
      this.registry = requireNonNull(registry, "registry");
    }

    /**
     * Publishes the call durations with a histogram of these buckets ({@link #RECOMMENDED_DURATION_BUCKETS}
     * is a good start): each call is then also recorded in a Micrometer timer, tens of nanoseconds per
     * call and side (with size buckets too, an echo benchmark keeps about 0.7x of its calls per second,
     * against 0.94x without: BENCHMARKS.md, S10). Default: none; durations are published as a count and a
     * total per status (a function timer).
     */
    public Builder durationBuckets(Duration... buckets) {
      requireNonNull(buckets, "buckets");
      for (Duration d : buckets) {
        if (requireNonNull(d, "bucket").isNegative() || d.isZero()) {
          throw new IllegalArgumentException("durationBuckets: " + d + " (expected: > 0)");
        }
      }
      this.durationBuckets = buckets.clone();
      return this;
    }

    /**
     * Publishes message sizes as distribution summaries ({@code rpc.*.request.size},
     * {@code rpc.*.response.size}) with these buckets, in bytes, recording each call. Default: none,
     * sizes are published as byte totals ({@code ferry.*.request.bytes}, {@code ...response.bytes}).
     */
    public Builder sizeBuckets(long... bytes) {
      requireNonNull(bytes, "bytes");
      this.sizeBuckets = Arrays.stream(bytes).peek(b -> {
        if (b <= 0) {
          throw new IllegalArgumentException("sizeBuckets: " + b + " (expected: > 0)");
        }
      }).asDoubleStream().toArray();
      return this;
    }

    /**
     * The most methods one channel tags by name; calls to further methods are tagged {@value #OTHER}, so
     * that a client calling made-up names cannot create meters without bound. Default
     * {@value #DEFAULT_MAX_CLIENT_METHODS}.
     */
    public Builder maxClientMethods(int methods) {
      if (methods < 0) {
        throw new IllegalArgumentException("maxClientMethods: " + methods + " (expected: >= 0)");
      }
      this.maxClientMethods = methods;
      return this;
    }

    public FerryMetrics build() {
      return new FerryMetrics(this);
    }
  }
}
