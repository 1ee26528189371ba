package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import dev.ferry.protocol.ErrorCode;
import dev.ferry.protocol.ProtocolPipeline;
import dev.ferry.protocol.Transports;
import dev.ferry.protocol.Settings;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.HashedWheelTimer;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Ferry server embedded in an application: it listens on a TCP port and serves the registered
 * services.
 *
 * <pre>{@code
 * FerryServer server = FerryServer.builder()
 *     .port(7070)
 *     .addService(greeterDefinition)
 *     .build()
 *     .start();
 * ...
 * server.shutdown(Duration.ofSeconds(10)).awaitTermination(Duration.ofSeconds(15));
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} shuts down gracefully with {@link Builder#DEFAULT_SHUTDOWN_GRACE}.
 */
public final class FerryServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FerryServer.class);

  private enum State { NEW, STARTED, SHUTTING_DOWN, TERMINATED }

  private final String host;
  private final int requestedPort;
  private final long handshakeTimeoutMillis;
  private final long frameReadTimeoutMillis;
  private final ConnectionLimiter connectionLimiter;
  private final long heartbeatIntervalMillis;
  private final long heartbeatTimeoutMillis;
  private final Settings localSettings;
  private final WriteBufferWaterMark writeBufferWaterMark;
  private final ServerRuntime runtime;
  private final ExecutorService ownedExecutor;
  private final HashedWheelTimer timer;
  private final EventLoopGroup bossGroup;
  private final EventLoopGroup workerGroup;
  private final Set<ServerConnectionHandler> connections = ConcurrentHashMap.newKeySet();
  private final CountDownLatch terminated = new CountDownLatch(1);
  private final Object lock = new Object();
  private State state = State.NEW; // guarded by lock
  private volatile ServerTls tls; // null = plaintext
  private volatile Channel serverChannel;
  private volatile int port = -1;

  private FerryServer(Builder b) {
    this.host = b.host;
    this.tls = b.tls;
    this.requestedPort = b.port;
    this.handshakeTimeoutMillis = b.handshakeTimeout.toMillis();
    this.frameReadTimeoutMillis = b.frameReadTimeout.toMillis();
    this.connectionLimiter = new ConnectionLimiter(b.maxConnections);
    this.heartbeatIntervalMillis = b.heartbeatInterval.toMillis();
    this.heartbeatTimeoutMillis = b.heartbeatTimeout != null ? b.heartbeatTimeout.toMillis()
        : 3 * heartbeatIntervalMillis;
    this.localSettings = Settings.builder()
        .heartbeatIntervalMillis(heartbeatIntervalMillis)
        .minPingIntervalMillis(b.minClientPingInterval.toMillis())
        .maxFrameSize(b.maxFrameSize)
        .maxConcurrentCalls(b.maxConcurrentCallsPerConnection)
        .maxMetadataSize(b.maxMetadataSize)
        .build();
    this.writeBufferWaterMark = new WriteBufferWaterMark(b.writeBufferHighWaterMark / 2, b.writeBufferHighWaterMark);
    Executor executor = b.executor;
    if (b.directExecutor) {
      this.ownedExecutor = null;
      executor = null;
    } else if (executor == null) {
      int threads = Math.max(8, 2 * Runtime.getRuntime().availableProcessors());
      // Bounded: calls beyond it are refused with RESOURCE_EXHAUSTED (see Builder#executor).
      ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(Builder.DEFAULT_EXECUTOR_QUEUE_CAPACITY),
          new DefaultThreadFactory("ferry-handler", true));
      pool.allowCoreThreadTimeOut(true);
      this.ownedExecutor = pool;
      executor = pool;
    } else {
      this.ownedExecutor = null;
    }
    this.timer = new HashedWheelTimer(new DefaultThreadFactory("ferry-server-timer", true), 10,
        TimeUnit.MILLISECONDS);
    this.runtime = new ServerRuntime(Map.copyOf(b.services), List.copyOf(b.interceptors), executor, timer, b.maxConcurrentCallsPerConnection,
        nanos(b.maxConnectionIdle), nanos(b.maxConnectionAge), nanos(b.maxConnectionAgeGrace),
        b.minClientPingInterval.toMillis(), ServerListeners.of(b.listeners));
    this.bossGroup = Transports.newEventLoopGroup(1, "ferry-server-boss");
    this.workerGroup = Transports.newEventLoopGroup(b.workerThreads, "ferry-server-io");
  }

  private static long nanos(Duration d) {
    return d == null ? 0 : d.toNanos();
  }

  /** A builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds the port and starts serving. Returns once the port is bound.
   *
   * @throws IOException if the address cannot be bound (the server is then terminated)
   * @throws IllegalStateException if the server was started before
   */
  public FerryServer start() throws IOException {
    synchronized (lock) {
      if (state != State.NEW) {
        throw new IllegalStateException("server already started");
      }
      state = State.STARTED;
    }
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(bossGroup, workerGroup)
        .channel(Transports.serverChannelType(bossGroup))
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true) // a restarted server can bind its port again at once
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            initConnection(ch);
          }
        });
    Transports.configureChild(bootstrap, workerGroup, heartbeatTimeoutMillis);
    bootstrap.childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, writeBufferWaterMark);
    InetSocketAddress address = host == null
        ? new InetSocketAddress(requestedPort) : new InetSocketAddress(host, requestedPort);
    try {
      serverChannel = bootstrap.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) {
      terminate();
      throw new IOException("could not bind " + address + ": " + e.getMessage(), e);
    }
    port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    serverChannel.closeFuture().addListener(f -> maybeTerminate());
    log.info("Ferry server listening on {} ({}) with services {}", serverChannel.localAddress(),
        tls == null ? "plaintext" : tls, runtime.serviceNames());
    return this;
  }

  private void initConnection(SocketChannel ch) {
    ServerTls currentTls = tls;
    if (currentTls != null) {
      // Before the limiter: a refusal to a TLS client is written through TLS, like everything else.
      SslHandler ssl = currentTls.context().newHandler(ch.alloc());
      ssl.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
      ch.pipeline().addLast(PlaintextRefuser.NAME, new PlaintextRefuser());
      ch.pipeline().addLast(PlaintextRefuser.TLS_HANDLER, ssl);
    }
    if (!connectionLimiter.admit(ch)) {
      return; // refused: preface and ERROR(REFUSED), then closed
    }
    ProtocolPipeline.addCodec(ch.pipeline(), localSettings, handshakeTimeoutMillis, frameReadTimeoutMillis);
    ProtocolPipeline.addHeartbeat(ch.pipeline(), heartbeatIntervalMillis, heartbeatTimeoutMillis,
        localSettings.minPingIntervalMillis());
    ServerConnectionHandler handler = new ServerConnectionHandler(runtime);
    ch.pipeline().addLast("ferry-server", handler);
    ProtocolPipeline.addErrorHandler(ch.pipeline());
    connections.add(handler);
    runtime.listener.connectionOpened();
    ch.closeFuture().addListener(f -> {
      runtime.listener.connectionClosed();
      connections.remove(handler);
      maybeTerminate();
    });
    if (runtime.isShuttingDown()) {
      ch.close();
    }
  }

  /**
   * Replaces the server's TLS certificate, key and trust (a rotated certificate, a new client CA):
   * connections accepted from now on use {@code newTls}; open connections keep what they negotiated.
   *
   * @throws IllegalStateException if the server was built without TLS
   */
  public void updateTls(ServerTls newTls) {
    requireNonNull(newTls, "newTls");
    if (tls == null) {
      throw new IllegalStateException("server was built without TLS (expected: Builder.tls(...))");
    }
    tls = newTls;
    log.info("Ferry server on port {}: TLS material replaced ({}); new connections use it", port, newTls);
  }

  /** The port the server is bound to (the real one when built with port 0). */
  public int port() {
    if (port < 0) {
      throw new IllegalStateException("server not started");
    }
    return port;
  }

  /**
   * Starts a graceful shutdown and returns at once: stops accepting connections, sends GOAWAY on each
   * connection, answers calls that arrive afterwards with UNAVAILABLE, lets calls in flight finish,
   * and closes each connection once it has none. Calls still running after {@code grace} are
   * abandoned as by {@link #shutdownNow()}. Idempotent.
   */
  public FerryServer shutdown(Duration grace) {
    requireNonNull(grace, "grace");
    synchronized (lock) {
      if (state == State.NEW) {
        state = State.SHUTTING_DOWN;
        terminate();
        return this;
      }
      if (state != State.STARTED) {
        return this;
      }
      state = State.SHUTTING_DOWN;
    }
    log.info("Ferry server on port {} shutting down (grace {})", port, grace);
    // Armed before anything can terminate the server (and stop the timer).
    timer.newTimeout(t -> {
      if (!isTerminated()) {
        log.info("Ferry server on port {}: grace period over, closing remaining connections", port);
        shutdownNow();
      }
    }, Math.max(0, grace.toNanos()), TimeUnit.NANOSECONDS);
    runtime.startShutdown();
    serverChannel.close();
    for (ServerConnectionHandler c : connections) {
      try {
        c.channel().eventLoop().execute(
            () -> c.goAway(ErrorCode.NO_ERROR, "server shutting down", Math.max(0, grace.toNanos())));
      } catch (RejectedExecutionException e) {
        // Its event loop is already gone, and the connection with it.
      }
    }
    maybeTerminate();
    return this;
  }

  /**
   * Stops at once: closes every connection; calls in flight have their contexts cancelled and their
   * clients see the connection close. Idempotent.
   */
  public FerryServer shutdownNow() {
    synchronized (lock) {
      if (state == State.NEW || state == State.STARTED) {
        state = State.SHUTTING_DOWN;
      }
    }
    runtime.startShutdown();
    if (serverChannel != null) {
      serverChannel.close();
    }
    for (ServerConnectionHandler c : connections) {
      c.channel().close();
    }
    maybeTerminate();
    return this;
  }

  /** Terminates once shutting down with the listener closed and no connection left. Any thread. */
  private void maybeTerminate() {
    synchronized (lock) {
      if (state != State.SHUTTING_DOWN || !connections.isEmpty()) {
        return;
      }
    }
    if (serverChannel != null && serverChannel.isOpen()) {
      return; // its close listener calls back
    }
    terminate();
  }

  private void terminate() {
    synchronized (lock) {
      if (state == State.TERMINATED) {
        return;
      }
      state = State.TERMINATED;
    }
    bossGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS);
    workerGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS);
    // stop() may not run on the timer's own thread (the grace-period task may have brought us here).
    GlobalEventExecutor.INSTANCE.execute(timer::stop);
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
    }
    log.info("Ferry server on port {} terminated", port);
    terminated.countDown();
  }

  /** Whether {@link #shutdown} or {@link #shutdownNow} has been called. */
  public boolean isShutdown() {
    synchronized (lock) {
      return state == State.SHUTTING_DOWN || state == State.TERMINATED;
    }
  }

  /** Whether the server has shut down completely: every connection closed, threads released. */
  public boolean isTerminated() {
    return terminated.getCount() == 0;
  }

  /** Waits up to {@code timeout} for termination; returns whether the server terminated. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Shuts down gracefully with {@link Builder#DEFAULT_SHUTDOWN_GRACE} and waits for termination
   * (forcing it if the grace period is not enough).
   */
  @Override
  public void close() {
    shutdown(Builder.DEFAULT_SHUTDOWN_GRACE);
    try {
      if (!awaitTermination(Builder.DEFAULT_SHUTDOWN_GRACE.plusSeconds(5))) {
        shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      shutdownNow();
    }
  }

  /** For tests: the connections open now (their handlers; read their state on their event loops). */
  java.util.List<ServerConnectionHandler> connectionsForTests() {
    return java.util.List.copyOf(connections);
  }

  /** Builds a {@link FerryServer}. Options are validated as they are set. */
  public static final class Builder {
    /** Default grace period of {@link FerryServer#close()}: 10 seconds. */
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);
    /** Default limit of calls in flight per connection: 10,000. */
    public static final int DEFAULT_MAX_CONCURRENT_CALLS_PER_CONNECTION = 10_000;
    /** Default time a new connection has to complete its handshake: 10 seconds. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** Default server heartbeat interval: 30 seconds (timeout: 3 intervals). */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(30);
    /** Default shortest PING interval allowed to clients: 5 seconds. */
    public static final Duration DEFAULT_MIN_CLIENT_PING_INTERVAL = Duration.ofSeconds(5);
    /** Default grace after a max-age GOAWAY: 30 seconds. */
    public static final Duration DEFAULT_MAX_CONNECTION_AGE_GRACE = Duration.ofSeconds(30);
    /** Default limit of open connections: 10,000. */
    public static final int DEFAULT_MAX_CONNECTIONS = 10_000;
    /** Default time a frame has to arrive in full once its first byte has: 30 seconds. */
    public static final Duration DEFAULT_FRAME_READ_TIMEOUT = Duration.ofSeconds(30);
    /** Default per-connection write buffer above which the server stops reading from it: 256 KiB. */
    public static final int DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK = 256 * 1024;
    /** Calls the default handler executor holds waiting for a thread, server-wide: 100,000. */
    public static final int DEFAULT_EXECUTOR_QUEUE_CAPACITY = 100_000;

    private String host;
    private int port;
    private ServerTls tls;
    private final Map<String, ServiceDefinition> services = new LinkedHashMap<>();
    private final List<ServerInterceptor> interceptors = new ArrayList<>();
    private final List<ServerListener> listeners = new ArrayList<>();
    private Executor executor;
    private boolean directExecutor;
    private int maxFrameSize = Settings.DEFAULT_MAX_FRAME_SIZE;
    private int maxMetadataSize = Settings.DEFAULT_MAX_METADATA_SIZE;
    private int maxConcurrentCallsPerConnection = DEFAULT_MAX_CONCURRENT_CALLS_PER_CONNECTION;
    private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
    private int maxConnections = DEFAULT_MAX_CONNECTIONS;
    private Duration frameReadTimeout = DEFAULT_FRAME_READ_TIMEOUT;
    private int writeBufferHighWaterMark = DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK;
    private int workerThreads = Runtime.getRuntime().availableProcessors();
    private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    private Duration heartbeatTimeout;
    private Duration minClientPingInterval = DEFAULT_MIN_CLIENT_PING_INTERVAL;
    private Duration maxConnectionIdle;
    private Duration maxConnectionAge;
    private Duration maxConnectionAgeGrace = DEFAULT_MAX_CONNECTION_AGE_GRACE;

    private Builder() {}

    /**
     * PING a connection the server has written nothing to for this long; default 30 s; zero turns
     * server heartbeats off (clients still ping, and are still answered).
     */
    public Builder heartbeatInterval(Duration interval) {
      this.heartbeatInterval = nonNegative("heartbeatInterval", interval);
      return this;
    }

    /**
     * Close a connection from which nothing has been read for this long: the client is gone (crashed,
     * unplugged, half-open). Default: 3 x the heartbeat interval; zero turns it off.
     */
    public Builder heartbeatTimeout(Duration timeout) {
      this.heartbeatTimeout = nonNegative("heartbeatTimeout", timeout);
      return this;
    }

    /**
     * The shortest PING interval clients may use, announced in SETTINGS so that they adapt to it; a
     * client that keeps pinging at under half of it gets GOAWAY(TOO_MANY_PINGS). Default 5 s.
     */
    public Builder minClientPingInterval(Duration interval) {
      this.minClientPingInterval = nonNegative("minClientPingInterval", interval);
      return this;
    }

    /**
     * Close (with GOAWAY) a connection that has had no call in flight for this long, so abandoned
     * clients do not pile up. Off by default. Ferry clients replace such connections without error.
     */
    public Builder maxConnectionIdle(Duration idle) {
      this.maxConnectionIdle = positive("maxConnectionIdle", idle);
      return this;
    }

    /**
     * Send GOAWAY to a connection this old (give or take 10% jitter), then close it once its calls are
     * done or {@link #maxConnectionAgeGrace} has passed. Spreads load after scaling. Off by default.
     */
    public Builder maxConnectionAge(Duration age) {
      this.maxConnectionAge = positive("maxConnectionAge", age);
      return this;
    }

    /**
     * How long calls may run on after the server sent GOAWAY for a connection (max age, max idle, too many
     * pings) before the connection is closed regardless; default 30 s. (A server shutdown uses the grace
     * given to {@link FerryServer#shutdown}.)
     */
    public Builder maxConnectionAgeGrace(Duration grace) {
      this.maxConnectionAgeGrace = nonNegative("maxConnectionAgeGrace", grace);
      return this;
    }

    private static Duration nonNegative(String name, Duration d) {
      requireNonNull(d, name);
      if (d.isNegative()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: >= 0)");
      }
      return d;
    }

    private static Duration positive(String name, Duration d) {
      requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
      }
      return d;
    }

    /**
     * Serves TLS only (see {@link ServerTls}); a client connecting in plaintext is refused with a clear
     * error. Default: plaintext.
     */
    public Builder tls(ServerTls tls) {
      this.tls = requireNonNull(tls, "tls");
      return this;
    }

    /** The address to bind (a host name or IP literal); default: every local address. */
    public Builder host(String host) {
      this.host = requireNonNull(host, "host");
      return this;
    }

    /** The port to bind; 0 (the default) picks a free one, readable from {@link FerryServer#port()}. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
      }
      this.port = port;
      return this;
    }

    /** Serves {@code service}. */
    public Builder addService(ServiceDefinition service) {
      requireNonNull(service, "service");
      if (services.putIfAbsent(service.name(), service) != null) {
        throw new IllegalArgumentException("service: " + service.name() + " added twice");
      }
      return this;
    }

    /**
     * Adds interceptors that run around every call's handler, after those added before: the first
     * interceptor added is the outermost (see {@link ServerInterceptor}).
     */
    public Builder intercept(ServerInterceptor... interceptors) {
      requireNonNull(interceptors, "interceptors");
      for (ServerInterceptor i : interceptors) {
        this.interceptors.add(requireNonNull(i, "interceptor"));
      }
      return this;
    }

    /**
     * Adds a listener told about the server's calls, connections, GOAWAYs and shutdown (for metrics and
     * health checks, see {@link ServerListener}), after those added before.
     */
    public Builder addListener(ServerListener listener) {
      this.listeners.add(requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * Runs handlers on {@code executor} (owned by the caller: the server does not shut it down). A call
     * the executor rejects is answered with RESOURCE_EXHAUSTED. Default: a pool of max(8, 2 x cores)
     * daemon threads owned by the server, whose queue holds at most
     * {@value #DEFAULT_EXECUTOR_QUEUE_CAPACITY} calls waiting for a thread.
     */
    public Builder executor(Executor executor) {
      this.executor = requireNonNull(executor, "executor");
      this.directExecutor = false;
      return this;
    }

    /**
     * Runs handlers directly on the connection's event loop: the fastest choice for handlers that never
     * block (pure computation, or returning a stage completed elsewhere). A blocking handler here
     * stalls every connection on that event loop.
     */
    public Builder directExecutor() {
      this.directExecutor = true;
      this.executor = null;
      return this;
    }

    /** The largest frame accepted, header included; default 16 MiB. */
    public Builder maxFrameSize(int bytes) {
      if (bytes < Settings.MIN_MAX_FRAME_SIZE) {
        throw new IllegalArgumentException(
            "maxFrameSize: " + bytes + " (expected: >= " + Settings.MIN_MAX_FRAME_SIZE + ")");
      }
      this.maxFrameSize = bytes;
      return this;
    }

    /** The largest call header (method + metadata) accepted; default 64 KiB. */
    public Builder maxMetadataSize(int bytes) {
      if (bytes < Settings.MIN_MAX_METADATA_SIZE) {
        throw new IllegalArgumentException(
            "maxMetadataSize: " + bytes + " (expected: >= " + Settings.MIN_MAX_METADATA_SIZE + ")");
      }
      this.maxMetadataSize = bytes;
      return this;
    }

    /** Calls in flight allowed per connection, announced to clients; more get RESOURCE_EXHAUSTED. */
    public Builder maxConcurrentCallsPerConnection(int calls) {
      if (calls < 1) {
        throw new IllegalArgumentException("maxConcurrentCallsPerConnection: " + calls + " (expected: > 0)");
      }
      this.maxConcurrentCallsPerConnection = calls;
      return this;
    }

    /** How long a new connection has to send its preface and SETTINGS; default 10 s. */
    public Builder handshakeTimeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("handshakeTimeout: " + timeout + " (expected: > 0)");
      }
      this.handshakeTimeout = timeout;
      return this;
    }

    /**
     * Connections open at once; a connection over the limit is sent ERROR(REFUSED) and closed, and its
     * client's calls fail with UNAVAILABLE naming the reason. Default {@value #DEFAULT_MAX_CONNECTIONS}.
     */
    public Builder maxConnections(int connections) {
      if (connections < 1) {
        throw new IllegalArgumentException("maxConnections: " + connections + " (expected: > 0)");
      }
      this.maxConnections = connections;
      return this;
    }

    /**
     * How long a frame may take to arrive once its first byte has: a connection whose frame is still
     * incomplete after this is sent ERROR(FRAME_TIMEOUT) and closed, so that a peer dripping bytes
     * (slowloris) cannot hold it open. Default 30 s, time for a 16 MiB frame at about 4.5 Mbit/s;
     * raise it for large messages over slow links. Zero turns it off.
     */
    public Builder frameReadTimeout(Duration timeout) {
      this.frameReadTimeout = nonNegative("frameReadTimeout", timeout);
      return this;
    }

    /**
     * Bytes queued for a connection above which the server stops reading from it until they drain to
     * half this: a client that does not read its responses cannot make the server buffer without bound
     * (responses to calls already running are still queued: at most maxConcurrentCallsPerConnection of
     * them, each within the client's maximum frame size). Default 256 KiB.
     */
    public Builder writeBufferHighWaterMark(int bytes) {
      if (bytes < 2) {
        throw new IllegalArgumentException("writeBufferHighWaterMark: " + bytes + " (expected: >= 2)");
      }
      this.writeBufferHighWaterMark = bytes;
      return this;
    }

    /** Event-loop threads for connections; default: the number of cores. */
    public Builder workerThreads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("workerThreads: " + threads + " (expected: > 0)");
      }
      this.workerThreads = threads;
      return this;
    }

    /** A server with these options; call {@link FerryServer#start()} to serve. */
    public FerryServer build() {
      if (services.isEmpty()) {
        throw new IllegalStateException("no services (expected: at least one addService call)");
      }
      return new FerryServer(this);
    }
  }
}
