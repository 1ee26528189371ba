package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import dev.ferry.internal.Settings;
import dev.ferry.internal.SystemTicker;
import io.netty.util.concurrent.Ticker;
import io.netty.util.internal.PlatformDependent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Builds a {@link FerryServer}: get one from {@link FerryServer#builder()}. Options are checked as
 * they are set (and together, by {@link #build()}); every default is a {@code DEFAULT_*} constant here.
 * Not thread-safe.
 */
public final class FerryServerBuilder {
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
  /**
   * Threads of the default {@linkplain #blockingStreamExecutor blocking-stream executor}, server-wide:
   * 1,024. A blocking streaming call beyond them is refused with RESOURCE_EXHAUSTED.
   */
  public static final int DEFAULT_MAX_BLOCKING_STREAMS = 1024;
  /** Calls the default handler executor holds waiting for a thread, server-wide: 100,000. */
  public static final int DEFAULT_EXECUTOR_QUEUE_CAPACITY = 100_000;
  /**
   * The default {@link #memoryBudget}, as a share of the JVM's maximum direct memory
   * ({@code -XX:MaxDirectMemorySize}, which defaults to the maximum heap size): one half. The rest is
   * left to what the budget does not count (Netty's pooled chunks, socket reads, TLS buffers).
   */
  public static final double DEFAULT_MEMORY_BUDGET_SHARE = 0.5;

  String host;
  int port;
  String inProcessName;
  ServerTls tls;
  final Map<String, ServiceDefinition> services = new LinkedHashMap<>();
  final List<ServerInterceptor> interceptors = new ArrayList<>();
  final List<ServerListener> listeners = new ArrayList<>();
  Executor executor;
  boolean directExecutor;
  Executor blockingStreamExecutor;
  int maxFrameSize = Settings.DEFAULT_MAX_FRAME_SIZE;
  int maxMetadataSize = Settings.DEFAULT_MAX_METADATA_SIZE;
  int streamWindow = Settings.DEFAULT_STREAM_WINDOW;
  int maxConcurrentCallsPerConnection = DEFAULT_MAX_CONCURRENT_CALLS_PER_CONNECTION;
  Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
  int maxConnections = DEFAULT_MAX_CONNECTIONS;
  Duration frameReadTimeout = DEFAULT_FRAME_READ_TIMEOUT;
  int writeBufferHighWaterMark = DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK;
  long memoryBudget; // 0 = the default share of max direct memory
  int workerThreads = Runtime.getRuntime().availableProcessors();
  Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
  Duration heartbeatTimeout;
  Duration minClientPingInterval = DEFAULT_MIN_CLIENT_PING_INTERVAL;
  Duration maxConnectionIdle;
  Duration maxConnectionAge;
  Duration maxConnectionAgeGrace = DEFAULT_MAX_CONNECTION_AGE_GRACE;

  // For tests: a transport of their own (a simulated network), the clock and random numbers.
  ServerTransport transport;
  Ticker ticker = SystemTicker.INSTANCE;
  DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();
  Executor cancelListenerExecutor;

  FerryServerBuilder() {}

  /** For tests: where the server listens (default: TCP, or in-process with {@link #inProcess}). */
  FerryServerBuilder transport(ServerTransport transport) {
    this.transport = requireNonNull(transport, "transport");
    return this;
  }

  /** For tests: the server's clock (default: {@link System#nanoTime()}). */
  FerryServerBuilder ticker(Ticker ticker) {
    this.ticker = requireNonNull(ticker, "ticker");
    return this;
  }

  /** For tests: where cancellation listeners run (default: a small pool of the server's own). */
  FerryServerBuilder cancelListenerExecutor(Executor executor) {
    this.cancelListenerExecutor = requireNonNull(executor, "executor");
    return this;
  }

  /** For tests: random numbers in [0, 1) (the jitter of max connection age; default: thread-local). */
  FerryServerBuilder random(DoubleSupplier random) {
    this.random = requireNonNull(random, "random");
    return this;
  }

  /**
   * PING a connection the server has written nothing to for this long; default 30 s; zero turns
   * server heartbeats off (clients still ping, and are still answered).
   */
  public FerryServerBuilder heartbeatInterval(Duration interval) {
    this.heartbeatInterval = nonNegative("heartbeatInterval", interval);
    return this;
  }

  /**
   * Close a connection from which nothing has been read for this long: the client is gone (crashed,
   * unplugged, half-open). Default: 3 x the heartbeat interval; zero turns it off.
   */
  public FerryServerBuilder heartbeatTimeout(Duration timeout) {
    this.heartbeatTimeout = nonNegative("heartbeatTimeout", timeout);
    return this;
  }

  /**
   * The shortest PING interval clients may use, announced in SETTINGS so that they adapt to it; a
   * client that keeps pinging at under half of it gets GOAWAY(TOO_MANY_PINGS). Default 5 s.
   */
  public FerryServerBuilder minClientPingInterval(Duration interval) {
    this.minClientPingInterval = nonNegative("minClientPingInterval", interval);
    return this;
  }

  /**
   * Close (with GOAWAY) a connection that has had no call in flight for this long, so abandoned
   * clients do not pile up. Off by default. Ferry clients replace such connections without error.
   */
  public FerryServerBuilder maxConnectionIdle(Duration idle) {
    this.maxConnectionIdle = positive("maxConnectionIdle", idle);
    return this;
  }

  /**
   * Send GOAWAY to a connection this old (give or take 10% jitter), then close it once its calls are
   * done or {@link #maxConnectionAgeGrace} has passed. Spreads load after scaling. Off by default.
   */
  public FerryServerBuilder maxConnectionAge(Duration age) {
    this.maxConnectionAge = positive("maxConnectionAge", age);
    return this;
  }

  /**
   * How long calls may run on after the server sent GOAWAY for a connection (max age, max idle, too many
   * pings) before the connection is closed regardless; default 30 s. (A server shutdown uses the grace
   * given to {@link FerryServer#shutdown}.)
   */
  public FerryServerBuilder maxConnectionAgeGrace(Duration grace) {
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
  public FerryServerBuilder tls(ServerTls tls) {
    this.tls = requireNonNull(tls, "tls");
    return this;
  }

  /** The address to bind (a host name or IP literal); default: every local address. */
  public FerryServerBuilder host(String host) {
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
  public FerryServerBuilder inProcess(String name) {
    requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("inProcess: \"\" (expected: a name)");
    }
    this.inProcessName = name;
    return this;
  }

  /** The port to bind; 0 (the default) picks a free one, readable from {@link FerryServer#port()}. */
  public FerryServerBuilder port(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
    }
    this.port = port;
    return this;
  }

  /** Serves {@code service}. */
  public FerryServerBuilder addService(ServiceDefinition service) {
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
  public FerryServerBuilder intercept(ServerInterceptor... interceptors) {
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
  public FerryServerBuilder addListener(ServerListener listener) {
    this.listeners.add(requireNonNull(listener, "listener"));
    return this;
  }

  /**
   * Runs handlers on {@code executor} (owned by the caller: the server does not shut it down). A call
   * the executor rejects is answered with RESOURCE_EXHAUSTED. Default: a pool of max(8, 2 x cores)
   * daemon threads owned by the server, whose queue holds at most
   * {@value #DEFAULT_EXECUTOR_QUEUE_CAPACITY} calls waiting for a thread. Blocking streaming handlers run
   * on the {@linkplain #blockingStreamExecutor blocking-stream executor} instead.
   */
  public FerryServerBuilder executor(Executor executor) {
    this.executor = requireNonNull(executor, "executor");
    this.directExecutor = false;
    return this;
  }

  /**
   * Runs the blocking streaming handlers ({@code serverStreaming}, {@code clientStreaming} and {@code
   * bidiStreaming} of {@link ServiceDefinition.Builder}) on {@code executor}, owned by the caller. Such a
   * handler holds its thread for its stream's whole life, also while the stream waits for credit or for
   * the client's next message, so these handlers do not run on the {@linkplain #executor handler
   * executor}: a few stalled streams would otherwise take the threads every unary call needs. Whatever
   * the handler executor, direct mode included (a blocking stream on an event loop would wait for
   * frames only that event loop can read).
   *
   * <p>Default: a pool owned by the server that starts a daemon thread per running stream as needed,
   * keeps an idle one for 60 s, and has at most {@value #DEFAULT_MAX_BLOCKING_STREAMS} threads; a
   * blocking streaming call beyond them is refused with RESOURCE_EXHAUSTED. On Java 21 and later,
   * {@code Executors.newVirtualThreadPerTaskExecutor()} is a good choice for many long streams. The
   * Flow-style ({@code ...Async}) streaming handlers return at once and run on the handler executor.
   */
  public FerryServerBuilder blockingStreamExecutor(Executor executor) {
    this.blockingStreamExecutor = requireNonNull(executor, "executor");
    return this;
  }

  /**
   * Runs handlers directly on the connection's event loop: the fastest choice for handlers that never
   * block (pure computation, or returning a stage completed elsewhere). A blocking handler here
   * stalls every connection on that event loop.
   */
  public FerryServerBuilder directExecutor() {
    this.directExecutor = true;
    this.executor = null;
    return this;
  }

  /**
   * The largest frame accepted, header included; default 16 MiB. It also bounds what one connection
   * holds of frames being received and requests not yet handed to their handlers: beyond it, that
   * connection is not read until its handlers take its requests (see {@link #memoryBudget}).
   */
  public FerryServerBuilder maxFrameSize(int bytes) {
    if (bytes < Settings.MIN_MAX_FRAME_SIZE) {
      throw new IllegalArgumentException(
          "maxFrameSize: " + bytes + " (expected: >= " + Settings.MIN_MAX_FRAME_SIZE + ")");
    }
    this.maxFrameSize = bytes;
    return this;
  }

  /** The largest call header (method + metadata) accepted; default 64 KiB. */
  public FerryServerBuilder maxMetadataSize(int bytes) {
    if (bytes < Settings.MIN_MAX_METADATA_SIZE) {
      throw new IllegalArgumentException(
          "maxMetadataSize: " + bytes + " (expected: >= " + Settings.MIN_MAX_METADATA_SIZE + ")");
    }
    this.maxMetadataSize = bytes;
    return this;
  }

  /**
   * The stream window: how many bytes of a streaming call's messages a client may have sent that its
   * handler has not yet read (plus one message); default 1 MiB. It bounds what the server holds per
   * stream, and how fast one stream goes over a slow link (about one window per round trip). A handler
   * that reads slowly stalls its own stream, never its connection by itself; what all streams hold is
   * also counted in the {@linkplain #memoryBudget memory budget}, which bounds it however many streams
   * clients open.
   */
  public FerryServerBuilder streamWindow(int bytes) {
    if (bytes < 1) {
      throw new IllegalArgumentException("streamWindow: " + bytes + " (expected: > 0)");
    }
    this.streamWindow = bytes;
    return this;
  }

  /** Calls in flight allowed per connection, announced to clients; more get RESOURCE_EXHAUSTED. */
  public FerryServerBuilder maxConcurrentCallsPerConnection(int calls) {
    if (calls < 1) {
      throw new IllegalArgumentException("maxConcurrentCallsPerConnection: " + calls + " (expected: > 0)");
    }
    this.maxConcurrentCallsPerConnection = calls;
    return this;
  }

  /** How long a new connection has to send its preface and SETTINGS; default 10 s. */
  public FerryServerBuilder handshakeTimeout(Duration timeout) {
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
  public FerryServerBuilder maxConnections(int connections) {
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
  public FerryServerBuilder frameReadTimeout(Duration timeout) {
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
  public FerryServerBuilder writeBufferHighWaterMark(int bytes) {
    if (bytes < 2) {
      throw new IllegalArgumentException("writeBufferHighWaterMark: " + bytes + " (expected: >= 2)");
    }
    this.writeBufferHighWaterMark = bytes;
    return this;
  }

  /**
   * Memory the server may use, over all connections, for frames being received (each whole frame is
   * reserved once its 16-byte header has arrived), requests waiting for a handler, messages of client
   * streams not yet read by their handlers (each counted by its frame's length), and responses
   * encoded and not yet written to their sockets. When it runs out, a connection whose next frame does
   * not fit stops being read until memory is freed (its waiting time does not count against
   * {@link #frameReadTimeout} or the heartbeat timeout), and a response that does not fit is replaced
   * by {@code RESOURCE_EXHAUSTED}; either is logged at WARN, once a second at most. So that one client
   * cannot take it all, a connection holds at most {@link #maxFrameSize} of frames received and
   * requests not yet handed to their handlers, and responses wait (unencoded) while more than
   * {@link #writeBufferHighWaterMark} bytes wait to be sent on it; what each connection holds of small
   * messages (up to 64 KiB received, up to its high-water mark to send) is counted but never refused.
   * Stream messages do not count against a connection's {@code maxFrameSize}, so a stalled stream
   * never pauses its connection while the server has room; but a connection whose streams hold more
   * than 64 KiB reads its next frame only when the server has room for it.
   *
   * <p>Default: {@link #DEFAULT_MEMORY_BUDGET_SHARE} of the JVM's maximum direct memory, and at least
   * {@code maxFrameSize}. Must be at least {@code maxFrameSize} (checked by {@link #build()}).
   */
  public FerryServerBuilder memoryBudget(long bytes) {
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
  public FerryServerBuilder workerThreads(int threads) {
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
