package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.LogAggregator;
import dev.ferry.internal.Settings;
import io.netty.channel.Channel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
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
 * {@link FerryServerBuilder#inProcess} serves channels of the same JVM without a socket, for tests.
 *
 * <p>Thread-safe. {@link #close()} shuts down gracefully with {@link FerryServerBuilder#DEFAULT_SHUTDOWN_GRACE}.
 */
public final class FerryServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FerryServer.class);

  private enum State { NEW, STARTING, STARTED, SHUTTING_DOWN, TERMINATED }

  private final String inProcessName; // null = TCP
  private final WriteBufferWaterMark writeBufferWaterMark;
  private final MemoryBudget memoryBudget;
  private final ServerRuntime runtime;
  private final ServerTransport transport;
  private final ServerChannelInitializer initializer;
  private final ExecutorService ownedExecutor;
  private final ExecutorService cancelListenerPool; // null in direct mode
  private final ExecutorService ownedBlockingStreamPool; // null if the builder was given one
  private final Set<ServerConnectionHandler> connections = ConcurrentHashMap.newKeySet();
  private final CountDownLatch terminated = new CountDownLatch(1);
  private final Object lock = new Object();
  private State state = State.NEW; // guarded by lock
  private volatile ServerTls tls; // null = plaintext
  private volatile Channel serverChannel;
  private volatile int port = -1;
  private volatile String boundAddress = "(not started)"; // for messages
  private volatile Runnable beforeBindForTests; // test hook: runs in start() right before the port is bound

  FerryServer(FerryServerBuilder b) {
    this.inProcessName = b.inProcessName;
    this.tls = b.tls;
    long heartbeatIntervalMillis = b.heartbeatInterval.toMillis();
    long heartbeatTimeoutMillis = b.heartbeatTimeout != null ? b.heartbeatTimeout.toMillis()
        : 3 * heartbeatIntervalMillis;
    Settings localSettings = Settings.builder()
        .heartbeatIntervalMillis(heartbeatIntervalMillis)
        .minPingIntervalMillis(b.minClientPingInterval.toMillis())
        .maxFrameSize(b.maxFrameSize)
        .maxConcurrentCalls(b.maxConcurrentCallsPerConnection)
        .maxMetadataSize(b.maxMetadataSize)
        .streamInitialWindow(b.streamWindow)
        .build();
    this.writeBufferWaterMark = new WriteBufferWaterMark(b.writeBufferHighWaterMark / 2, b.writeBufferHighWaterMark);
    this.memoryBudget = new MemoryBudget(b.memoryBudget > 0 ? b.memoryBudget : FerryServerBuilder.defaultMemoryBudget(b.maxFrameSize));
    Executor executor = b.executor;
    if (b.directExecutor) {
      this.ownedExecutor = null;
      executor = null;
    } else if (executor == null) {
      int threads = Math.max(8, 2 * Runtime.getRuntime().availableProcessors());
      // Bounded: calls beyond it are refused with RESOURCE_EXHAUSTED (see FerryServerBuilder#executor).
      ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(FerryServerBuilder.DEFAULT_EXECUTOR_QUEUE_CAPACITY),
          new DefaultThreadFactory("ferry-handler", true));
      pool.allowCoreThreadTimeOut(true);
      this.ownedExecutor = pool;
      executor = pool;
    } else {
      this.ownedExecutor = null;
    }
    if (executor == null || b.cancelListenerExecutor != null) {
      this.cancelListenerPool = null;
    } else {
      // Threads are made as listeners need them and retire when idle (see ServerRuntime#runCancelListeners).
      int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
      ThreadPoolExecutor listeners = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(), new DefaultThreadFactory("ferry-cancel-listener", true));
      listeners.allowCoreThreadTimeOut(true);
      this.cancelListenerPool = listeners;
    }
    Executor blockingStreams = b.blockingStreamExecutor;
    if (blockingStreams == null) {
      // A thread per running blocking stream, made on demand; beyond the cap the call is refused
      // (RESOURCE_EXHAUSTED), as the handler executor refuses calls beyond its queue.
      ThreadPoolExecutor pool = new ThreadPoolExecutor(0, FerryServerBuilder.DEFAULT_MAX_BLOCKING_STREAMS, 60,
          TimeUnit.SECONDS, new SynchronousQueue<>(), new DefaultThreadFactory("ferry-stream-handler", true));
      this.ownedBlockingStreamPool = pool;
      blockingStreams = pool;
    } else {
      this.ownedBlockingStreamPool = null;
    }
    this.runtime = new ServerRuntime(new MethodRegistry(Map.copyOf(b.services), List.copyOf(b.interceptors)),
        executor, blockingStreams, executor == null ? null : b.cancelListenerExecutor != null ? b.cancelListenerExecutor
            : cancelListenerPool, b.ticker,
        b.random, b.maxConcurrentCallsPerConnection,
        nanos(b.maxConnectionIdle), nanos(b.maxConnectionAge), nanos(b.maxConnectionAgeGrace),
        b.minClientPingInterval.toMillis(), b.streamWindow, ServerListeners.of(b.listeners));
    this.transport = b.transport != null ? b.transport
        : inProcessName != null ? ServerTransport.inProcess(inProcessName)
        : ServerTransport.tcp(b.host, b.port, b.workerThreads, heartbeatTimeoutMillis);
    this.initializer = new ServerChannelInitializer(
        new ServerChannelInitializer.Config(localSettings, b.handshakeTimeout.toMillis(), b.frameReadTimeout.toMillis(),
            heartbeatIntervalMillis, heartbeatTimeoutMillis),
        () -> tls, new ConnectionLimiter(b.maxConnections),
        LogAggregator.create(LoggerFactory.getLogger(PlaintextRefuser.class), org.slf4j.event.Level.WARN,
            "plaintext connections refused (TLS required)"),
        memoryBudget, runtime, this::opened);
  }

  /** A connection was admitted (its event loop): tracked until it closes, closed at once if shutting down. */
  private void opened(ServerConnectionHandler handler) {
    Channel ch = handler.channel();
    connections.add(handler);
    runtime.listener.connectionOpened();
    // Told at the end of the handler's channelInactive, once its calls have ended (a close future's
    // listener would run before that): termination then means every call's end was heard.
    handler.whenClosed(() -> {
      runtime.listener.connectionClosed();
      connections.remove(handler);
      maybeTerminate();
    });
    if (runtime.isShuttingDown()) {
      ch.close();
    }
  }

  private static long nanos(Duration d) {
    return d == null ? 0 : d.toNanos();
  }

  /** A builder with every option at its default. */
  public static FerryServerBuilder builder() {
    return new FerryServerBuilder();
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
    Runnable hook = beforeBindForTests;
    if (hook != null) {
      hook.run();
    }
    Channel bound;
    try {
      bound = transport.bind(initializer, writeBufferWaterMark);
    } catch (Exception e) {
      synchronized (lock) {
        state = State.SHUTTING_DOWN;
      }
      terminate();
      throw e instanceof IOException ? (IOException) e : new IOException(e.getMessage(), e);
    }
    boolean shutDownMeanwhile;
    synchronized (lock) {
      // Published under the lock that shutdown() takes: it either sees STARTED with the channel set, or
      // it came first (state SHUTTING_DOWN) and it is up to us to close the port again.
      serverChannel = bound;
      port = transport.port(bound);
      boundAddress = transport.describe(bound);
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
        tls == null ? "plaintext" : tls, runtime.methods().serviceNames());
    return this;
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
    try {
      transport.timers().schedule(() -> {
        if (!isTerminated()) {
          log.info("Ferry server on {}: grace period over, closing remaining connections", boundAddress);
          shutdownNow();
        }
      }, Math.max(0, grace.toNanos()), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The transport's loops are gone: so are the connections the grace period was for.
    }
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
    transport.release();
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
    }
    if (cancelListenerPool != null) {
      cancelListenerPool.shutdown(); // listeners already queued still run
    }
    if (ownedBlockingStreamPool != null) {
      ownedBlockingStreamPool.shutdown();
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
   * Shuts down gracefully with {@link FerryServerBuilder#DEFAULT_SHUTDOWN_GRACE} and waits for termination
   * (forcing it if the grace period is not enough).
   */
  @Override
  public void close() {
    shutdown(FerryServerBuilder.DEFAULT_SHUTDOWN_GRACE);
    try {
      if (!awaitTermination(FerryServerBuilder.DEFAULT_SHUTDOWN_GRACE.plusSeconds(5))) {
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
}
