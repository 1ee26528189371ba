package dev.ferry.server;

import dev.ferry.internal.Frame;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.Executor;
import java.util.function.DoubleSupplier;
import java.util.concurrent.RejectedExecutionException;

/**
 * What a connection needs from its server, in one place: the methods, where handlers and cancellation
 * listeners run, the clock and random numbers, the per-connection limits, the listener, and whether
 * the server is shutting down. Immutable apart from that flag.
 */
final class ServerRuntime {
  private final MethodRegistry methods;
  private final Executor executor; // null = run handlers on the event loop
  private final Executor blockingStreams; // blocking streaming handlers; null = as other handlers
  private final Executor cancelListeners; // null with executor
  /** The server's clock (System.nanoTime unless a test runs the server on fake time). */
  final Ticker ticker;
  /** Random numbers in [0, 1): the jitter of max connection age. */
  final DoubleSupplier random;
  private final int maxConcurrentCalls;
  final long maxConnectionIdleNanos; // 0 = off
  final long maxConnectionAgeNanos; // 0 = off
  final long maxConnectionAgeGraceNanos;
  private final long minPingIntervalMillis;
  /** The STREAM_INITIAL_WINDOW this server announces: each streaming call's credit for its client's messages. */
  final int streamWindow;
  /** Told about calls, connections, GOAWAYs and shutdown; {@link ServerListeners#NONE} if none was added. */
  final ServerListener listener;
  private volatile boolean shuttingDown;

  ServerRuntime(MethodRegistry methods, Executor executor, Executor cancelListeners, Ticker ticker,
      DoubleSupplier random, int maxConcurrentCalls, long maxConnectionIdleNanos, long maxConnectionAgeNanos,
      long maxConnectionAgeGraceNanos, long minPingIntervalMillis, int streamWindow, ServerListener listener) {
    this(methods, executor, null, cancelListeners, ticker, random, maxConcurrentCalls, maxConnectionIdleNanos,
        maxConnectionAgeNanos, maxConnectionAgeGraceNanos, minPingIntervalMillis, streamWindow, listener);
  }

  ServerRuntime(MethodRegistry methods, Executor executor, Executor blockingStreams, Executor cancelListeners,
      Ticker ticker,
      DoubleSupplier random, int maxConcurrentCalls, long maxConnectionIdleNanos, long maxConnectionAgeNanos,
      long maxConnectionAgeGraceNanos, long minPingIntervalMillis, int streamWindow, ServerListener listener) {
    this.streamWindow = streamWindow;
    this.minPingIntervalMillis = minPingIntervalMillis;
    this.listener = listener;
    this.methods = methods;
    this.executor = executor;
    this.blockingStreams = blockingStreams;
    this.cancelListeners = cancelListeners;
    this.ticker = ticker;
    this.random = random;
    this.maxConcurrentCalls = maxConcurrentCalls;
    this.maxConnectionIdleNanos = maxConnectionIdleNanos;
    this.maxConnectionAgeNanos = maxConnectionAgeNanos;
    this.maxConnectionAgeGraceNanos = maxConnectionAgeGraceNanos;
  }

  MethodRegistry methods() {
    return methods;
  }

  /**
   * Runs the call's handler on the executor, or right here on the event loop in direct mode; a blocking
   * streaming handler on the blocking-stream executor, in either mode.
   *
   * @throws java.util.concurrent.RejectedExecutionException if the executor has no room for it
   */
  void dispatch(ServerCall<?, ?> call, Frame frame) {
    if (blockingStreams != null && call.method.blockingStream) {
      blockingStreams.execute(() -> call.handle(frame));
    } else if (executor == null) {
      call.handle(frame);
    } else {
      executor.execute(() -> call.handle(frame));
    }
  }

  /**
   * Runs a call's {@code onCancel} listeners, handed over from the event loop that noticed the
   * cancellation (CANCEL, connection loss, or the deadline). They run on the server's own small pool of
   * listener threads: not on the event loop, where one that blocks would stall the connections
   * of that loop; and not on the handler executor, where a handler that waits for its own cancellation
   * (a common pattern) could occupy the very thread its listener needs. A listener that blocks holds up
   * only later listeners, once every listener thread is taken. In direct mode (handlers that never
   * block) they run right here, on the event loop; and here too if the pool refuses them (shut down).
   */
  void runCancelListeners(Runnable listeners) {
    if (cancelListeners == null) {
      listeners.run();
      return;
    }
    try {
      cancelListeners.execute(listeners);
    } catch (RejectedExecutionException e) {
      listeners.run();
    }
  }

  long minPingIntervalMillis() {
    return minPingIntervalMillis;
  }

  int maxConcurrentCalls() {
    return maxConcurrentCalls;
  }

  boolean isShuttingDown() {
    return shuttingDown;
  }

  /** Any thread; the first call tells the listener, before anything is refused or sent GOAWAY. */
  synchronized void startShutdown() {
    if (!shuttingDown) {
      listener.shutdownStarted();
      shuttingDown = true;
    }
  }
}
