package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.internal.Settings;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of one Ferry server, or of the servers behind a target ({@link #builder(String)}): makes unary
 * and streaming calls over a small pool of multiplexed connections per server. Thread-safe; make one per
 * server (or service) and share it.
 *
 * <pre>{@code
 * try (FerryChannel channel = FerryChannel.builder("localhost", 7000).build()) {
 *   HelloReply reply = channel.blockingCall(SAY_HELLO, request, CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(1)));
 * }
 * }</pre>
 *
 * <p>The connection is opened on the first call, without blocking the caller, and opened again by the
 * next call after it closed or failed. Requests are written once the server's SETTINGS arrived.
 *
 * <p><b>Threads.</b> The futures returned by {@link #call} and {@link #exchange} complete on the
 * connection's event loop (calls that fail before reaching a connection, for example after
 * {@link #shutdown()}, complete on the calling thread; a {@code cancel} completes on the cancelling
 * thread). Dependent stages attached with {@code thenApply}, {@code whenComplete} and the like
 * therefore run on the event loop and hold up every other call on the connection while they run:
 * never block in them. Use the {@code *Async} variants with your own executor for blocking work.
 *
 * <p><b>Failures</b> are {@link FerryException}s (as the cause of the failed future): the server's
 * status with its message and trailers, or a local one: {@code DEADLINE_EXCEEDED} when the deadline
 * passed, {@code UNAVAILABLE} when the connection could not be made or was lost (the message says
 * whether the request had been sent), {@code RESOURCE_EXHAUSTED} for a request larger than the server
 * accepts, {@code INTERNAL} for a response that could not be parsed. Cancelling a returned future
 * cancels the call and tells the server.
 */
public final class FerryChannel implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FerryChannel.class);
  /** How long {@link #close()} lets calls in flight finish before it fails them. */
  static final Duration CLOSE_GRACE_PERIOD = Duration.ofSeconds(5);

  private static final String SHUT_DOWN = "channel shut down";

  private final ClientConnection.Config config;
  private final ClientInterceptor[] interceptors;
  /** Told about calls, state, reconnects; {@link ChannelListeners#NONE} if none was added. */
  private final ChannelListener listener;
  private final InterceptedCall.Starter starter = new InterceptedCall.Starter() {
    @Override
    public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> start(
        MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
      return FerryChannel.this.start(method, request, options, Response::new);
    }
  };
  private volatile ClientTls tls; // null = plaintext
  private final long defaultTimeoutNanos;
  private final EventLoopGroup group;
  private final ChannelLifecycle lifecycle;

  /** Calls started and not yet finished. (No set of them: every way a call can end reaches it anyway.) */
  private final AtomicInteger active = new AtomicInteger();
  private final Balancer balancer;
  /** Whether anyone reads when a call started besides its deadline: a listener, or outlier detection. */
  private final boolean timesCalls;
  /** Null for a channel to one fixed server. */
  private final Resolution resolution;
  /** What messages and metrics call the servers: {@code host:port}, or the resolver's authority. */
  private final String authority;
  private final StreamCalls streams;
  private final Ticker ticker;
  private final ClientTransport transport;
  private final AtomicLong droppedResponses = new AtomicLong();
  private final AtomicBoolean heartbeatNoticeLogged = new AtomicBoolean();
  /** Every call's completion hook: one for the channel, not a new method reference per call. */
  private volatile boolean shutdown;
  private final ChannelStats stats;

  FerryChannel(FerryChannelBuilder b) {
    this.ticker = b.ticker;
    Settings local = Settings.builder()
        .maxFrameSize(b.maxFrameSize)
        .heartbeatIntervalMillis(b.heartbeat.interval().toMillis())
        .streamInitialWindow(b.streamWindow)
        .build();
    this.listener = ChannelListeners.of(b.listeners);
    this.streams = new StreamCalls(this, b.streamWindow, b.ticker, listener);
    this.config = new ClientConnection.Config(b.host, b.port, local, toMillisInt(b.connectTimeout),
        b.handshakeTimeout.toMillis(), b.heartbeat, b.inProcess, b.resolver, this::heartbeatAdjusted, b.ticker,
        listener, null);
    this.tls = b.tls;
    this.transport = b.transport != null ? b.transport : ClientTransport.of(config);
    this.interceptors = b.interceptors.toArray(new ClientInterceptor[0]);
    this.defaultTimeoutNanos = b.defaultTimeout == null ? 0 : CallOptions.saturatedNanos(b.defaultTimeout);
    this.lifecycle = new ChannelLifecycle(b);
    this.group = lifecycle.group();
    Scheduler scheduler = b.scheduler != null ? b.scheduler : Scheduler.of(group, b.ticker);
    Subchannel.Opener opener = (subchannel, slot) -> ClientConnection.open(subchannel.config(), transport, tls,
        group.next(), call -> redispatch(call, subchannel), droppedResponses, slot);
    if (b.target == null) {
      this.authority = config.authority();
      this.resolution = null;
      this.balancer = new Balancer(authority, b.pool, b.backoff, b.balancer, false, scheduler, b.random,
          endpoint -> config, opener, lifecycle::maybeTerminated, listener);
      this.stats = ChannelGauges.forServer(this, balancer, config.host(), config.port());
    } else {
      NameResolver resolver = Targets.resolver(b.target, b.resolverProviders,
          new NameResolver.Args(group.next(), b.resolverOptions), scheduler, b.dnsLookup);
      this.authority = resolver.authority();
      this.balancer = new Balancer(authority, b.pool, b.backoff, b.balancer, true, scheduler, b.random,
          config::forEndpoint, opener, lifecycle::maybeTerminated, listener);
      this.stats = ChannelGauges.forTarget(this, balancer, authority);
      this.resolution = new Resolution(resolver, balancer, scheduler, b.resolverOptions, b.target);
    }
    this.timesCalls = listener != ChannelListeners.NONE || balancer.recordsLatency();
    lifecycle.terminateWhen(balancer::allClosed, () -> listener.channelTerminated(stats));
    // Listeners hear of the channel before anything else: its one endpoint (an eager pool then connects
    // at once) is given to the balancer only after this.
    listener.channelCreated(stats);
    if (b.target == null) {
      balancer.updateEndpoints(List.of(Endpoint.fixed(b.host, b.port)));
    }
    if (b.pool.eager()) {
      balancer.connectAll();
    }
    if (resolution != null) {
      resolution.start();
    }
  }

  /** A server did not process {@code call} (or never got it): it moves, to another server if there is one. */
  private void redispatch(ClientCall<?, ?> call, Subchannel from) {
    balancer.redispatch(call, from);
  }

  /** A connection's heartbeat times differ from the configured ones: said once per channel, at INFO. */
  private void heartbeatAdjusted(String why) {
    if (heartbeatNoticeLogged.compareAndSet(false, true)) {
      log.info("Channel to {}: heartbeats differ from the configured {} because of the server's SETTINGS: {}",
          config.authority(), config.heartbeat(), why);
    }
  }

  /** The channel's connectivity state; transitions are logged (INFO, WARN for TRANSIENT_FAILURE). */
  public ChannelState state() {
    return shutdown ? ChannelState.SHUTDOWN : balancer.state();
  }

  /** A builder of a channel to the server at {@code host:port}. */
  public static FerryChannelBuilder builder(String host, int port) {
    return new FerryChannelBuilder(host, port);
  }

  /**
   * A builder of a channel to the servers {@code target} names, found by a {@link NameResolver} and
   * balanced ({@link BalancerOptions}):
   *
   * <ul>
   *   <li>{@code static://10.0.0.1:7070,10.0.0.2:7070}: a fixed list ({@code [v6]:port} for IPv6);
   *   <li>{@code dns:///kv.internal:7070}: every A and AAAA record of the name, looked up again every
   *       {@link ResolverOptions#refreshInterval()} and after connection failures and GOAWAYs;
   *   <li>{@code zk://zk1:2181,zk2:2181/ferry.examples.kvstore.KvStore}: the servers registered in
   *       ZooKeeper under that service name (with {@code ferry-discovery-zookeeper});
   *   <li>any other scheme a {@link NameResolverProvider} on the class path resolves.
   * </ul>
   *
   * <p>Each server gets its own pool of {@link PoolOptions#size()} connections. The resolver starts
   * when the channel is built; connections open on the first call (or at once, if the pool is eager).
   *
   * @throws IllegalArgumentException if {@code target} is not {@code scheme://...}; an unknown scheme or
   *     a malformed target fails {@link FerryChannelBuilder#build()}
   */
  public static FerryChannelBuilder builder(String target) {
    return FerryChannelBuilder.forTarget(target);
  }

  /**
   * A builder of a channel to the in-process server of this JVM named {@code name} (one built with
   * {@code FerryServerBuilder.inProcess(name)}): no socket, the same protocol and behaviour as over
   * TCP. For tests. The TCP-only options ({@link FerryChannelBuilder#connectTimeout}) have no effect.
   */
  public static FerryChannelBuilder inProcessBuilder(String name) {
    requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("name: \"\" (expected: the in-process server's name)");
    }
    return FerryChannelBuilder.inProcess(name);
  }

  // ---- calls ----

  /**
   * Calls {@code method} with {@code request}. The future yields the response message, or fails with
   * a {@link FerryException}; it completes on the connection's event loop (see the class comment).
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<RespT> call(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    if (interceptors.length > 0) {
      checkArguments(method, request, options);
      return InterceptedCall.start(interceptors, method, request, options, starter, Response::message);
    }
    return start(method, request, options, (message, trailers) -> message);
  }

  /** Calls {@code method} with {@code request} and {@link CallOptions#DEFAULT}. */
  public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<RespT> call(
      MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return call(method, request, CallOptions.DEFAULT);
  }

  /**
   * Like {@link #call}, but the future also carries the trailing metadata the server sent with the
   * response.
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> exchange(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    if (interceptors.length > 0) {
      checkArguments(method, request, options);
      return InterceptedCall.start(interceptors, method, request, options, starter, r -> r);
    }
    return start(method, request, options, Response::new);
  }

  /**
   * Calls {@code method} and waits for the response.
   *
   * @throws FerryException the call's failure, as the server or the client reported it. It is thrown
   *     on the calling thread with the caller's stack trace; the exception that completed the call on
   *     the event loop is its cause. If the waiting thread is interrupted the call is cancelled, the
   *     interrupt flag is set again, and the code is {@link StatusCode#CANCELLED}
   * @throws IllegalStateException if called on one of this channel's event loop threads, which must
   *     stay free to complete the call
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> RespT blockingCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    checkNotOnEventLoop("blockingCall");
    return BlockingCall.await(call(method, request, options), method);
  }

  /** Calls {@code method} with {@link CallOptions#DEFAULT} and waits for the response; see above. */
  public <ReqT extends MessageLite, RespT extends MessageLite> RespT blockingCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return blockingCall(method, request, CallOptions.DEFAULT);
  }

  /**
   * Like {@link #blockingCall}, but also returns the trailing metadata the server sent with the
   * response. Failures are thrown as by {@link #blockingCall}.
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> Response<RespT> blockingExchange(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    checkNotOnEventLoop("blockingExchange");
    return BlockingCall.await(exchange(method, request, options), method);
  }

  private <ReqT extends MessageLite, RespT extends MessageLite, T> CompletableFuture<T> start(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options,
      BiFunction<RespT, Metadata, T> result) {
    checkArguments(method, request, options);
    return launch(newCall(method, request, options, result, null));
  }

  /** A call of {@code method}, its deadline fixed now on the channel's clock; not started yet. */
  <ReqT extends MessageLite, RespT extends MessageLite, T> ClientCall<RespT, T> newCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, BiFunction<RespT, Metadata, T> result,
      ClientStream<ReqT, RespT> stream) {
    // The clock is read only if something needs the start (it is about 2% of a call's CPU otherwise).
    boolean hasDeadline = true;
    long start;
    long deadline;
    long timeout;
    if (options.timeoutNanos() > 0) {
      start = ticker.nanoTime();
      timeout = options.timeoutNanos();
      deadline = start + timeout;
    } else if (options.hasDeadline()) {
      start = ticker.nanoTime();
      timeout = 0;
      deadline = options.deadlineNanoTime();
    } else if (defaultTimeoutNanos > 0) {
      start = ticker.nanoTime();
      timeout = defaultTimeoutNanos;
      deadline = start + timeout;
    } else {
      start = timesCalls ? ticker.nanoTime() : 0;
      hasDeadline = false;
      timeout = 0;
      deadline = 0;
    }
    return new ClientCall<>(method, request, options.metadata(), start, hasDeadline, deadline, timeout,
        options.waitForReady(), this, result, stream);
  }

  /** Starts {@code call}: its deadline, then a connection for it. Any thread. */
  <T> CompletableFuture<T> launch(ClientCall<?, T> call) {
    // Registered before the shutdown check: shutdown() either sees the call or the call sees shutdown.
    active.incrementAndGet();
    listener.callStarted(call.method());
    if (shutdown) {
      call.fail(StatusCode.UNAVAILABLE, SHUT_DOWN, null);
      return call.future();
    }
    if (call.hasDeadline()) {
      call.armDeadline(group.next());
    }
    if (!call.isFinished()) {
      dispatch(call);
    }
    return call.future();
  }

  // ---- streaming calls ----

  /**
   * Starts a server-streaming call of {@code method}: reads its responses with the returned reader,
   * which blocks for each one and reports the call's status at the end (see {@link StreamReader}).
   * Closing the reader before the end cancels the call.
   *
   * @throws IllegalArgumentException if {@code method} is not server-streaming
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> StreamReader<RespT> serverStream(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    requireNonNull(request, "request");
    return streams.serverStream(method, request, options);
  }

  /**
   * Starts a client-streaming call of {@code method}: write its requests with the returned call, then
   * get its response (see {@link ClientStreamingCall}).
   *
   * @throws IllegalArgumentException if {@code method} is not client-streaming
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> ClientStreamingCall<ReqT, RespT> clientStream(
      MethodDescriptor<ReqT, RespT> method, CallOptions options) {
    return streams.clientStream(method, options);
  }

  /**
   * Starts a bidirectional-streaming call of {@code method} (see {@link BidiStreamingCall}).
   *
   * @throws IllegalArgumentException if {@code method} is not bidirectional-streaming
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> BidiStreamingCall<ReqT, RespT> bidiStream(
      MethodDescriptor<ReqT, RespT> method, CallOptions options) {
    return streams.bidiStream(method, options);
  }

  /**
   * A server-streaming call of {@code method} as a {@link Flow.Publisher}: each subscription makes one
   * call, and the server may send only as far ahead of the subscriber's requests as the stream window
   * allows. Signals run on the connection's event loop (or the thread that calls {@code request}): never
   * block in them. Cancelling the subscription cancels the call.
   *
   * @throws IllegalArgumentException if {@code method} is not server-streaming
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> Flow.Publisher<RespT> serverStreamPublisher(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    requireNonNull(request, "request");
    return streams.serverStreamPublisher(method, request, options);
  }

  /**
   * A client-streaming call of {@code method} whose requests come from {@code requests}: it is
   * subscribed to at once and asked for one message at a time, only while the server has room for it.
   * The future yields the response; cancelling it cancels the call (and the subscription).
   *
   * @throws IllegalArgumentException if {@code method} is not client-streaming
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<RespT> clientStream(
      MethodDescriptor<ReqT, RespT> method, Flow.Publisher<ReqT> requests, CallOptions options) {
    requireNonNull(requests, "requests");
    return streams.clientStream(method, requests, options);
  }

  /**
   * A bidirectional-streaming call of {@code method} as a {@link Flow.Publisher} of its responses: each
   * subscription makes one call and subscribes to {@code requests} for it (so {@code requests} should
   * accept as many subscribers as the result gets). Both directions are flow-controlled as above.
   *
   * @throws IllegalArgumentException if {@code method} is not bidirectional-streaming
   */
  public <ReqT extends MessageLite, RespT extends MessageLite> Flow.Publisher<RespT> bidiStream(
      MethodDescriptor<ReqT, RespT> method, Flow.Publisher<ReqT> requests, CallOptions options) {
    requireNonNull(requests, "requests");
    return streams.bidiStream(method, requests, options);
  }

  private static void checkArguments(MethodDescriptor<?, ?> method, Object request, CallOptions options) {
    requireNonNull(method, "method");
    requireNonNull(request, "request");
    requireNonNull(options, "options");
  }

  /** The channel's interceptors (none: an empty array). */
  ClientInterceptor[] interceptors() {
    return interceptors;
  }

  /** Hands {@code call} to the balancer: a ready connection, the waiting queue, or a fast failure. Any thread. */
  private void dispatch(ClientCall<?, ?> call) {
    balancer.dispatch(call);
  }

  /** The channel's clock. */
  Ticker ticker() {
    return ticker;
  }

  /** {@code call} completed, however it did (after its connection forgot it). Any thread. */
  void callDone(ClientCall<?, ?> call) {
    int left = active.decrementAndGet();
    balancer.callDone(call);
    listener.callCompleted(call.method(), call.outcome(), call.startNanos(), call.request().getSerializedSize(),
        call.responseBytes());
    if (shutdown && left == 0) {
      closeConnections(SHUT_DOWN);
    }
  }

  /**
   * Replaces the channel's TLS trust and client certificate (a rotated client certificate, a new CA):
   * connections opened from now on use {@code newTls}; open connections keep what they negotiated.
   *
   * @throws IllegalStateException if the channel was built without TLS
   */
  public void updateTls(ClientTls newTls) {
    requireNonNull(newTls, "newTls");
    if (tls == null) {
      throw new IllegalStateException("channel was built without TLS (expected: Builder.tls(...))");
    }
    tls = newTls;
  }

  // ---- lifecycle ----

  /**
   * Starts a graceful shutdown: new calls fail at once with {@code UNAVAILABLE} ("channel shut down"),
   * calls in flight go on until they complete; then the connection is closed and, if the channel
   * created its own event loop group, that is shut down. Returns without waiting.
   */
  public void shutdown() {
    shutdown = true;
    if (active.get() == 0) {
      closeConnections(SHUT_DOWN);
    }
  }

  /**
   * Shuts down now: like {@link #shutdown()}, but the calls in flight fail at once with
   * {@code UNAVAILABLE} and the connection is closed. Returns without waiting.
   */
  public void shutdownNow() {
    shutdown = true;
    // Closing fails the calls pending on each connection, with a message saying whether each request had
    // been sent; the pool fails the calls waiting for a connection; a call still queued for writing finds
    // its connection closed and the pool shut down, and fails too.
    closeConnections(SHUT_DOWN);
  }

  /**
   * Waits until the channel has terminated after a shutdown: every call completed, the connection
   * closed, and an event loop group the channel created shut down.
   *
   * @return true if terminated, false if {@code timeout} passed first
   * @throws IllegalStateException if called on one of this channel's event loop threads
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    requireNonNull(timeout, "timeout");
    checkNotOnEventLoop("awaitTermination");
    return lifecycle.awaitTermination(timeout);
  }

  /** Whether {@link #shutdown()} or {@link #shutdownNow()} was called. */
  public boolean isShutdown() {
    return shutdown;
  }

  /** Whether the channel has terminated (see {@link #awaitTermination}). */
  public boolean isTerminated() {
    return lifecycle.isTerminated();
  }

  /**
   * Shuts down gracefully, waits up to 5 seconds for the calls in flight, then fails those left with
   * {@link #shutdownNow()} and waits (again up to 5 seconds) for the connection to close. On one of the
   * channel's event loop threads, where it must not wait, it only starts the graceful shutdown.
   */
  @Override
  public void close() {
    shutdown();
    if (lifecycle.onOwnEventLoop()) {
      return;
    }
    try {
      if (!awaitTermination(CLOSE_GRACE_PERIOD)) {
        shutdownNow();
        awaitTermination(CLOSE_GRACE_PERIOD);
      }
    } catch (InterruptedException e) {
      shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** Stops opening connections and closes those open (failing their calls); terminates once all closed. */
  private void closeConnections(String reason) {
    lifecycle.startClosing();
    if (resolution != null) {
      resolution.shutdown();
    }
    for (ClientConnection c : balancer.shutdown()) {
      c.close(reason);
    }
    lifecycle.maybeTerminated();
  }

  private void checkNotOnEventLoop(String what) {
    lifecycle.checkNotOnEventLoop(what);
  }

  // ---- for tests ----

  /** Responses that matched no call in flight (late, or duplicates) and were dropped. */
  long droppedResponses() {
    return droppedResponses.get();
  }

  /** For tests: calls started on this channel and not yet completed (waiting, in flight, or being retried). */
  int activeCalls() {
    return active.get();
  }

  /** A connection new calls may go to, or null if none is ready. */
  ClientConnection currentConnection() {
    List<ClientConnection> ready = balancer.readyConnections();
    return ready.isEmpty() ? null : ready.get(0);
  }

  /** The balancer (endpoints, connections, waiting calls), for tests. */
  Balancer balancer() {
    return balancer;
  }

  @Override
  public String toString() {
    return "FerryChannel{" + authority + (shutdown ? ", shut down" : "") + '}';
  }

  private static int toMillisInt(Duration d) {
    return (int) Math.min(Integer.MAX_VALUE, CallOptions.saturatedNanos(d) / 1_000_000);
  }
}
