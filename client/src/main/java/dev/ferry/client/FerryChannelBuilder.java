package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.internal.Settings;
import dev.ferry.internal.SystemTicker;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Builds a {@link FerryChannel}: get one from {@link FerryChannel#builder(String, int)} (one server),
 * {@link FerryChannel#builder(String)} (the servers a target resolves to) or
 * {@link FerryChannel#inProcessBuilder(String)}. Options are checked as they are set. Not thread-safe.
 */
public final class FerryChannelBuilder {
  final String host;
  final int port;
  final boolean inProcess;
  /** The target URI, or null for a channel to one {@code host:port} (or an in-process server). */
  final String target;
  BalancerOptions balancer = BalancerOptions.DEFAULT;
  ResolverOptions resolverOptions = ResolverOptions.DEFAULT;
  final Map<String, NameResolverProvider> resolverProviders = new LinkedHashMap<>();
  DnsNameResolver.Lookup dnsLookup = DnsNameResolver.Lookup.SYSTEM;
  Scheduler scheduler; // null: the channel's event loops and ticker
  Duration defaultTimeout;
  int maxFrameSize = Settings.DEFAULT_MAX_FRAME_SIZE;
  int streamWindow = Settings.DEFAULT_STREAM_WINDOW;
  Duration connectTimeout = Duration.ofSeconds(10);
  Duration handshakeTimeout = Duration.ofSeconds(10);
  EventLoopGroup eventLoopGroup;
  PoolOptions pool = PoolOptions.DEFAULT;
  HeartbeatOptions heartbeat = HeartbeatOptions.DEFAULT;
  BackoffOptions backoff = BackoffOptions.DEFAULT;
  ClientTls tls;
  HostResolver resolver = HostResolver.SYSTEM;
  Ticker ticker = SystemTicker.INSTANCE;
  DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();
  ClientTransport transport;
  final List<ClientInterceptor> interceptors = new ArrayList<>();
  final List<ChannelListener> listeners = new ArrayList<>();

  FerryChannelBuilder(String host, int port) {
    requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("host: \"\" (expected: a host name or address)");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
    }
    this.host = host;
    this.port = port;
    this.inProcess = false;
    this.target = null;
  }

  private FerryChannelBuilder(String name, boolean inProcess) {
    this.host = name;
    this.port = 0;
    this.inProcess = inProcess;
    this.target = inProcess ? null : name;
  }

  /** A builder of a channel to the in-process server {@code name}. */
  static FerryChannelBuilder inProcess(String name) {
    return new FerryChannelBuilder(name, true);
  }

  /** A builder of a channel to the servers {@code target} resolves to (its scheme is checked here). */
  static FerryChannelBuilder forTarget(String target) {
    requireNonNull(target, "target");
    Targets.scheme(target);
    return new FerryChannelBuilder(target, false);
  }

  /**
   * The timeout of calls whose {@link CallOptions} have no deadline, counted from the call's start.
   * Default: none (such calls wait until they complete or the connection fails).
   */
  public FerryChannelBuilder defaultTimeout(Duration timeout) {
    this.defaultTimeout = checkPositive(timeout, "defaultTimeout");
    return this;
  }

  /**
   * The largest frame this client accepts (it announces it in SETTINGS): responses must fit. Default
   * 16 MiB; at least 16384.
   */
  public FerryChannelBuilder maxFrameSize(int maxFrameSize) {
    if (maxFrameSize < Settings.MIN_MAX_FRAME_SIZE) {
      throw new IllegalArgumentException(
          "maxFrameSize: " + maxFrameSize + " (expected: >= " + Settings.MIN_MAX_FRAME_SIZE + ")");
    }
    this.maxFrameSize = maxFrameSize;
    return this;
  }

  /**
   * The stream window: how many bytes of a streaming call's responses the server may have sent that the
   * application has not read yet (plus one message); default 1 MiB. It bounds what a stream holds in
   * memory, and how fast one stream goes over a slow link (about one window per round trip).
   */
  public FerryChannelBuilder streamWindow(int bytes) {
    if (bytes < 1) {
      throw new IllegalArgumentException("streamWindow: " + bytes + " (expected: > 0)");
    }
    this.streamWindow = bytes;
    return this;
  }

  /** How long a TCP connect may take. Default 10 seconds. */
  public FerryChannelBuilder connectTimeout(Duration timeout) {
    this.connectTimeout = checkPositive(timeout, "connectTimeout");
    return this;
  }

  /** How long the server has, once connected, to send its preface and SETTINGS. Default 10 seconds. */
  public FerryChannelBuilder handshakeTimeout(Duration timeout) {
    Duration t = checkPositive(timeout, "handshakeTimeout");
    if (t.toMillis() < 1) {
      throw new IllegalArgumentException("handshakeTimeout: " + t + " (expected: >= 1ms)");
    }
    this.handshakeTimeout = t;
    return this;
  }

  /**
   * An event loop group (NIO or epoll) to share with other channels or a server, instead of the
   * one-thread NIO group the channel creates and shuts down by itself. A group given here is not shut
   * down by the channel. An in-process channel ({@link FerryChannel#inProcessBuilder}) needs a group of
   * Netty's {@code LocalIoHandler} instead, of one thread shared with the server (Netty's local channels can
   * leak a buffer when the two ends of a connection run on different threads).
   */
  public FerryChannelBuilder eventLoopGroup(EventLoopGroup group) {
    this.eventLoopGroup = requireNonNull(group, "group");
    return this;
  }

  /** How many connections to keep and when to open them; default {@link PoolOptions#DEFAULT}. */
  public FerryChannelBuilder pool(PoolOptions pool) {
    this.pool = requireNonNull(pool, "pool");
    return this;
  }

  /** Heartbeats on each connection; default {@link HeartbeatOptions#DEFAULT} (10 s, dead after 30 s). */
  public FerryChannelBuilder heartbeat(HeartbeatOptions heartbeat) {
    this.heartbeat = requireNonNull(heartbeat, "heartbeat");
    return this;
  }

  /** Backoff between failed connection attempts; default {@link BackoffOptions#DEFAULT}. */
  public FerryChannelBuilder reconnectBackoff(BackoffOptions backoff) {
    this.backoff = requireNonNull(backoff, "backoff");
    return this;
  }

  /**
   * Adds interceptors that run around every call, after those added before: the first interceptor
   * added is the outermost (see {@link ClientInterceptor}).
   */
  public FerryChannelBuilder intercept(ClientInterceptor... interceptors) {
    requireNonNull(interceptors, "interceptors");
    for (ClientInterceptor i : interceptors) {
      this.interceptors.add(requireNonNull(i, "interceptor"));
    }
    return this;
  }

  /**
   * Adds a listener told about the channel's calls, state, reconnects and GOAWAYs (for metrics, see
   * {@link ChannelListener}), after those added before. Give each channel its own instance.
   */
  public FerryChannelBuilder addListener(ChannelListener listener) {
    this.listeners.add(requireNonNull(listener, "listener"));
    return this;
  }

  /**
   * Connects with TLS (see {@link ClientTls}); the server must serve TLS. Default: plaintext.
   */
  public FerryChannelBuilder tls(ClientTls tls) {
    this.tls = requireNonNull(tls, "tls");
    return this;
  }

  /**
   * How calls are spread over the servers of a target, and when a failing one is ejected; default
   * {@link BalancerOptions#DEFAULT} (power of two choices). A channel to one {@code host:port} has
   * nothing to balance and ignores it.
   */
  public FerryChannelBuilder balancer(BalancerOptions balancer) {
    this.balancer = requireNonNull(balancer, "balancer");
    return this;
  }

  /**
   * How the channel follows its target's resolver (refresh interval, coalescing of updates); default
   * {@link ResolverOptions#DEFAULT}. Ignored by a channel to one {@code host:port}.
   */
  public FerryChannelBuilder resolverOptions(ResolverOptions options) {
    this.resolverOptions = requireNonNull(options, "options");
    return this;
  }

  /**
   * Resolves targets of {@code provider}'s scheme with it, instead of a provider found with
   * {@link java.util.ServiceLoader} (or a built-in one) for that scheme.
   */
  public FerryChannelBuilder resolverProvider(NameResolverProvider provider) {
    requireNonNull(provider, "provider");
    String scheme = requireNonNull(provider.scheme(), "provider.scheme()").toLowerCase(Locale.ROOT);
    if (scheme.isEmpty()) {
      throw new IllegalArgumentException("provider.scheme(): \"\" (expected: a URI scheme such as \"zk\")");
    }
    resolverProviders.put(scheme, provider);
    return this;
  }

  /** For tests: looks up every address of a {@code dns:///} target's host (default: the JDK's resolver). */
  FerryChannelBuilder dnsLookup(DnsNameResolver.Lookup lookup) {
    this.dnsLookup = requireNonNull(lookup, "lookup");
    return this;
  }

  /** For tests: the clock and timers of the balancer, resolver and reconnect backoff. */
  FerryChannelBuilder scheduler(Scheduler scheduler) {
    this.scheduler = requireNonNull(scheduler, "scheduler");
    return this;
  }

  /** For tests: looks up the server's host name (default: the JDK's resolver, off the event loops). */
  FerryChannelBuilder hostResolver(HostResolver resolver) {
    this.resolver = requireNonNull(resolver, "resolver");
    return this;
  }

  /** For tests: how connections get their channels (default: TCP, or in-process for an in-process channel). */
  FerryChannelBuilder transport(ClientTransport transport) {
    this.transport = requireNonNull(transport, "transport");
    return this;
  }

  /** For tests: the clock deadlines are measured on (default: {@link System#nanoTime()}). */
  FerryChannelBuilder ticker(Ticker ticker) {
    this.ticker = requireNonNull(ticker, "ticker");
    return this;
  }

  /** For tests: random numbers in [0, 1) for backoff jitter and tie-breaking (default: thread-local). */
  FerryChannelBuilder random(DoubleSupplier random) {
    this.random = requireNonNull(random, "random");
    return this;
  }

  /** The channel. It connects on its first call, or now if the pool is eager. */
  public FerryChannel build() {
    return new FerryChannel(this);
  }

  private static Duration checkPositive(Duration d, String name) {
    requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
    }
    return d;
  }
}
