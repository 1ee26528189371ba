package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import dev.ferry.internal.Addresses;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.LogAggregator;
import dev.ferry.internal.ProtocolPipeline;
import dev.ferry.internal.Transports;
import dev.ferry.internal.Settings;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.HashedWheelTimer;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
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
 * <p>A program that only serves blocks its main thread in {@link #awaitTermination()} until a
 * shutdown hook (or another thread) shuts the server down. A server built with
 * {@link Builder#inProcess} serves channels of the same JVM without a socket, for tests.
 *
 * <p>Thread-safe. {@link #close()} shuts down gracefully with {@link Builder#DEFAULT_SHUTDOWN_GRACE}.
 */
public final class FerryServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FerryServer.class);

  private enum State { NEW, STARTING, STARTED, SHUTTING_DOWN, TERMINATED }

  private final String host;
  private final int requestedPort;
  private final String inProcessName; // null = TCP
  private final long handshakeTimeoutMillis;
  private final long frameReadTimeoutMillis;
  private final ConnectionLimiter connectionLimiter;
  private final LogAggregator plaintextRefusals = LogAggregator.create(LoggerFactory.getLogger(PlaintextRefuser.class),
      org.slf4j.event.Level.WARN, "plaintext connections refused (TLS required)");
  private final long heartbeatIntervalMillis;
  private final long heartbeatTimeoutMillis;
  private final Settings localSettings;
  private final WriteBufferWaterMark writeBufferWaterMark;
  private final MemoryBudget memoryBudget;
  private final ServerRuntime runtime;
  private final ExecutorService ownedExecutor;
  private final ExecutorService cancelListenerPool; // null in direct mode
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
  private volatile String boundAddress = "(not started)"; // for messages
  private volatile Runnable beforeBindForTests; // test hook: runs in start() right before the port is bound

  private FerryServer(Builder b) {
    this.host = b.host;
    this.inProcessName = b.inProcessName;
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
    this.memoryBudget = new MemoryBudget(b.memoryBudget > 0 ? b.memoryBudget : Builder.defaultMemoryBudget(b.maxFrameSize));
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
    if (executor == null) {
      this.cancelListenerPool = null;
    } else {
      // Threads are made as listeners need them and retire when idle (see ServerRuntime#runCancelListeners).
      int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
      ThreadPoolExecutor listeners = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(), new DefaultThreadFactory("ferry-cancel-listener", true));
      listeners.allowCoreThreadTimeOut(true);
      this.cancelListenerPool = listeners;
    }
    this.runtime = new ServerRuntime(Map.copyOf(b.services), List.copyOf(b.interceptors), executor,
        cancelListenerPool, timer, b.maxConcurrentCallsPerConnection,
        nanos(b.maxConnectionIdle), nanos(b.maxConnectionAge), nanos(b.maxConnectionAgeGrace),
        b.minClientPingInterval.toMillis(), ServerListeners.of(b.listeners));
    if (inProcessName != null) {
      // The JVM's shared in-process loops: not the server's, so not shut down with it.
      this.bossGroup = Transports.inProcessEventLoopGroup();
      this.workerGroup = bossGroup;
    } else {
      this.bossGroup = Transports.newEventLoopGroup(1, "ferry-server-boss");
      this.workerGroup = Transports.newEventLoopGroup(b.workerThreads, "ferry-server-io");
    }
  }

  private static long nanos(Duration d) {
    return d == null ? 0 : d.toNanos();
  }

  /** A builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds the port (or the in-process name) and starts serving. Returns once it is bound.
   *
   * @throws IOException if the address cannot be bound (the server is then terminated)
   * @throws IllegalStateException if the server was started before, or was shut down before or while
   *     it was starting (it then serves nothing and terminates)
   */
  public FerryServer start() throws IOException {
    synchronized (lock) {
      if (state == State.SHUTTING_DOWN || state == State.TERMINATED) {
        throw new IllegalStateException("server is shut down");
      }
      if (state != State.NEW) {
        throw new IllegalStateException("server already started");
      }
      state = State.STARTING;
    }
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(bossGroup, workerGroup)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            initConnection(ch);
          }
        });
    SocketAddress address = transport(bootstrap);
    bootstrap.childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, writeBufferWaterMark);
    Runnable hook = beforeBindForTests;
    if (hook != null) {
      hook.run();
    }
    Channel bound;
    try {
      bound = bootstrap.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) {
      synchronized (lock) {
        state = State.SHUTTING_DOWN;
      }
      terminate();
      throw new IOException("could not bind " + (inProcessName != null ? "in-process:" + inProcessName
          : Addresses.describe(address)) + ": " + e.getMessage(), e);
    }
    boolean shutDownMeanwhile;
    synchronized (lock) {
      // Published under the lock that shutdown() takes: it either sees STARTED with the channel set, or
      // it came first (state SHUTTING_DOWN) and it is up to us to close the port again.
      serverChannel = bound;
      if (bound.localAddress() instanceof InetSocketAddress) {
        port = ((InetSocketAddress) bound.localAddress()).getPort();
      }
      // The name as given: Netty's local transport lowercases it.
      boundAddress = inProcessName != null ? "in-process:" + inProcessName : Addresses.describe(bound.localAddress());
      shutDownMeanwhile = state != State.STARTING;
      if (!shutDownMeanwhile) {
        state = State.STARTED;
      }
    }
    bound.closeFuture().addListener(f -> maybeTerminate());
    if (shutDownMeanwhile) {
      // Connections accepted since the bind are closed by initConnection: the runtime is shutting down.
      bound.close();
      throw new IllegalStateException("server was shut down while starting");
    }
    log.info("Ferry server listening on {} ({}) with services {}", boundAddress,
        tls == null ? "plaintext" : tls, runtime.serviceNames());
    return this;
  }

  /**
   * Sets the server channel type and the options of its transport on {@code bootstrap}; returns the
   * address to bind. In-process: Netty's local transport, which has no socket and so no socket options.
   */
  private SocketAddress transport(ServerBootstrap bootstrap) {
    if (inProcessName != null) {
      bootstrap.channel(LocalServerChannel.class);
      return new LocalAddress(inProcessName);
    }
    bootstrap.channel(Transports.serverChannelType(bossGroup))
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true); // a restarted server can bind its port again at once
    Transports.configureChild(bootstrap, workerGroup, heartbeatTimeoutMillis);
    return host == null ? new InetSocketAddress(requestedPort) : new InetSocketAddress(host, requestedPort);
  }

  private void initConnection(Channel ch) {
    ServerTls currentTls = tls;
    if (currentTls != null) {
      // Before the limiter: a refusal to a TLS client is written through TLS, like everything else.
      SslHandler ssl = currentTls.context().newHandler(ch.alloc());
      ssl.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
      ch.pipeline().addLast(PlaintextRefuser.NAME, new PlaintextRefuser(plaintextRefusals));
      ch.pipeline().addLast(PlaintextRefuser.TLS_HANDLER, ssl);
    }
    if (!connectionLimiter.admit(ch)) {
      return; // refused: preface and ERROR(REFUSED), then closed
    }
    ConnectionMemory connectionMemory = new ConnectionMemory(memoryBudget, localSettings.maxFrameSize(),
        ch.remoteAddress());
    ProtocolPipeline.addCodec(ch.pipeline(), localSettings, handshakeTimeoutMillis, frameReadTimeoutMillis,
        connectionMemory);
    ProtocolPipeline.addHeartbeat(ch.pipeline(), heartbeatIntervalMillis, heartbeatTimeoutMillis,
        localSettings.minPingIntervalMillis());
    ServerConnectionHandler handler = new ServerConnectionHandler(runtime, connectionMemory);
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
    log.info("Ferry server on {}: TLS material replaced ({}); new connections use it", boundAddress, newTls);
  }

  /**
   * The port the server is bound to (the real one when built with port 0).
   *
   * @throws IllegalStateException if the server is not started, or serves in-process (no port)
   */
  public int port() {
    if (inProcessName != null) {
      throw new IllegalStateException("in-process server \"" + inProcessName
          + "\" has no port (connect with FerryChannel.inProcessBuilder(\"" + inProcessName + "\"))");
    }
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
    boolean neverStarted = false;
    synchronized (lock) {
      switch (state) {
        case NEW:
          state = State.SHUTTING_DOWN;
          neverStarted = true;
          break;
        case STARTING:
          // start() is binding: it sees this state once bound, and closes the port again.
          state = State.SHUTTING_DOWN;
          runtime.startShutdown();
          return this;
        case STARTED:
          state = State.SHUTTING_DOWN;
          break;
        default:
          return this;
      }
    }
    if (neverStarted) {
      terminate();
      return this;
    }
    log.info("Ferry server on {} shutting down (grace {})", boundAddress, grace);
    // Armed before anything can terminate the server (and stop the timer).
    timer.newTimeout(t -> {
      if (!isTerminated()) {
        log.info("Ferry server on {}: grace period over, closing remaining connections", boundAddress);
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
    boolean neverStarted;
    synchronized (lock) {
      neverStarted = state == State.NEW;
      if (state == State.NEW || state == State.STARTING || state == State.STARTED) {
        state = State.SHUTTING_DOWN;
      }
    }
    runtime.startShutdown();
    if (neverStarted) {
      terminate();
      return this;
    }
    Channel listener = serverChannel; // null while start() binds: it closes the port once bound
    if (listener != null) {
      listener.close();
    }
    for (ServerConnectionHandler c : connections) {
      c.channel().close();
    }
    maybeTerminate();
    return this;
  }

  /** Terminates once shutting down with the listener closed and no connection left. Any thread. */
  private void maybeTerminate() {
    Channel listener;
    synchronized (lock) {
      if (state != State.SHUTTING_DOWN || !connections.isEmpty()) {
        return;
      }
      listener = serverChannel;
    }
    if (listener == null || listener.isOpen()) {
      return; // start() is still binding, or the listener's close listener calls back
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
    if (inProcessName == null) {
      bossGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS);
      workerGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS);
    }
    // stop() may not run on the timer's own thread (the grace-period task may have brought us here).
    GlobalEventExecutor.INSTANCE.execute(timer::stop);
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
    }
    if (cancelListenerPool != null) {
      cancelListenerPool.shutdown(); // listeners already queued still run
    }
    log.info("Ferry server on {} terminated", boundAddress);
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
   * Waits, without a time limit, until the server has terminated: the way a program that only serves
   * keeps its main thread (and so the JVM, whose Ferry threads are daemons) alive. Something else ends
   * the wait by shutting the server down, typically a shutdown hook:
   *
   * <pre>{@code
   * FerryServer server = FerryServer.builder().port(7070).addService(service).build().start();
   * Runtime.getRuntime().addShutdownHook(new Thread(server::close)); // Ctrl-C: graceful shutdown
   * server.awaitTermination();
   * }</pre>
   *
   * @throws InterruptedException if the waiting thread is interrupted (the server keeps running)
   */
  public void awaitTermination() throws InterruptedException {
    terminated.await();
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

  /** For tests: bytes of the memory budget in use now. */
  long memoryInUseForTests() {
    return memoryBudget.used();
  }

  /** For tests: runs {@code hook} in {@link #start()} right before the port is bound. */
  void beforeBindForTests(Runnable hook) {
    this.beforeBindForTests = hook;
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
    /**
     * The default {@link #memoryBudget}, as a share of the JVM's maximum direct memory
     * ({@code -XX:MaxDirectMemorySize}, which defaults to the maximum heap size): one half. The rest is
     * left to what the budget does not count (Netty's pooled chunks, socket reads, TLS buffers).
     */
    public static final double DEFAULT_MEMORY_BUDGET_SHARE = 0.5;

    private String host;
    private int port;
    private String inProcessName;
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
    private long memoryBudget; // 0 = the default share of max direct memory
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

    /**
     * Serves only inside this JVM, under {@code name}, without a socket (host and port are not used):
     * channels built with {@code FerryChannel.inProcessBuilder(name)} connect to it. Everything else is
     * as over TCP (the same frames, handshake, heartbeats, limits, interceptors; TLS if set), so a test
     * of a service in-process tests what its clients will see. The name must be unique among the
     * in-process servers running in the JVM (ignoring case); a second server with it fails to start.
     * {@link #workerThreads} does not apply: in-process connections run on event loops the JVM's
     * in-process servers and channels share.
     */
    public Builder inProcess(String name) {
      requireNonNull(name, "name");
      if (name.isEmpty()) {
        throw new IllegalArgumentException("inProcess: \"\" (expected: a name)");
      }
      this.inProcessName = name;
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

    /**
     * The largest frame accepted, header included; default 16 MiB. It also bounds what one connection
     * holds of frames being received and requests not yet handed to their handlers: beyond it, that
     * connection is not read until its handlers take its requests (see {@link #memoryBudget}).
     */
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
     * (slowloris) cannot hold it open. Only time in which the server was reading the connection counts:
     * not while its reads are paused because the client is slow to read its responses, or until there
     * is memory for the frame. Default 30 s, time for a 16 MiB frame at about 4.5 Mbit/s; raise it for
     * large messages over slow links. Zero turns it off.
     */
    public Builder frameReadTimeout(Duration timeout) {
      this.frameReadTimeout = nonNegative("frameReadTimeout", timeout);
      return this;
    }

    /**
     * Bytes waiting to be sent on a connection above which the server stops reading from it, starts none
     * of its calls and encodes none of its responses (they wait, unencoded) until the backlog drains to
     * half this: a client that does not read its responses costs the server at most this much plus one
     * response of memory, and its calls that arrive meanwhile do not start until it drains. Responses that
     * keep a connection within this never wait for or are refused by the {@link #memoryBudget}.
     * Default 256 KiB.
     */
    public Builder writeBufferHighWaterMark(int bytes) {
      if (bytes < 2) {
        throw new IllegalArgumentException("writeBufferHighWaterMark: " + bytes + " (expected: >= 2)");
      }
      this.writeBufferHighWaterMark = bytes;
      return this;
    }

    /**
     * Memory the server may use, over all connections, for frames being received (each whole frame is
     * reserved once its 16-byte header has arrived), requests waiting for a handler, and responses
     * encoded and not yet written to their sockets. When it runs out, a connection whose next frame does
     * not fit stops being read until memory is freed (its waiting time does not count against
     * {@link #frameReadTimeout} or the heartbeat timeout), and a response that does not fit is replaced
     * by {@code RESOURCE_EXHAUSTED}; either is logged at WARN, once a second at most. So that one client
     * cannot take it all, a connection holds at most {@link #maxFrameSize} of frames received and
     * requests not yet handed to their handlers, and responses wait (unencoded) while more than
     * {@link #writeBufferHighWaterMark} bytes wait to be sent on it; what each connection holds of small
     * messages (up to 64 KiB received, up to its high-water mark to send) is counted but never refused.
     *
     * <p>Default: {@link #DEFAULT_MEMORY_BUDGET_SHARE} of the JVM's maximum direct memory, and at least
     * {@code maxFrameSize}. Must be at least {@code maxFrameSize} (checked by {@link #build()}).
     */
    public Builder memoryBudget(long bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("memoryBudget: " + bytes + " (expected: > 0)");
      }
      this.memoryBudget = bytes;
      return this;
    }

    /** The budget a server gets without {@link #memoryBudget}: see {@link #DEFAULT_MEMORY_BUDGET_SHARE}. */
    static long defaultMemoryBudget(int maxFrameSize) {
      long share = (long) (PlatformDependent.maxDirectMemory() * DEFAULT_MEMORY_BUDGET_SHARE);
      return Math.max(share, maxFrameSize);
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
      if (memoryBudget > 0 && memoryBudget < maxFrameSize) {
        throw new IllegalArgumentException("memoryBudget: " + memoryBudget + " (expected: >= maxFrameSize "
            + maxFrameSize + ", or no frame of that size could ever be received)");
      }
      return new FerryServer(this);
    }
  }
}
