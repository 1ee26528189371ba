package dev.ferry.client;

import dev.ferry.internal.Transports;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * A channel's event loops and its end: which group runs its connections (its own, the caller's, or the
 * JVM's shared in-process one), whether a thread is one of them, and termination: once the channel
 * closes and its last connection has closed, the listener is told, a group the channel created is shut
 * down, and {@link FerryChannel#awaitTermination} returns.
 *
 * <p>Threads: any. Closing and the check for termination share one small lock, so that a connection
 * closing while the channel starts to close cannot be missed; termination happens once.
 */
final class ChannelLifecycle {
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final Object lock = new Object();
  /** Guarded by {@link #lock}: no connection may be opened any more. */
  private boolean closing;
  private final AtomicBoolean terminating = new AtomicBoolean();
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private BooleanSupplier allClosed = () -> true;
  private Runnable onTerminated = () -> {};

  /**
   * The loops a channel built by {@code b} runs on.
   *
   * @throws IllegalArgumentException if the builder's group cannot run its transport
   */
  ChannelLifecycle(FerryChannelBuilder b) {
    if (b.eventLoopGroup != null && b.inProcess != Transports.isInProcess(b.eventLoopGroup)) {
      throw new IllegalArgumentException(b.inProcess
          ? "eventLoopGroup: a socket group cannot run in-process connections (expected: a group of Netty's "
              + "LocalIoHandler, or none)"
          : "eventLoopGroup: an in-process group cannot run TCP connections (expected: NIO or epoll)");
    }
    // In-process channels run on the JVM's shared in-process loops, which are nobody's to shut down.
    this.ownsGroup = b.eventLoopGroup == null && !b.inProcess;
    this.group = b.eventLoopGroup != null ? b.eventLoopGroup
        : b.inProcess ? Transports.inProcessEventLoopGroup()
        : Transports.newEventLoopGroup(1, "ferry-client");
  }

  /**
   * What termination waits for ({@code allClosed}: every connection closed) and does first
   * ({@code onTerminated}: tell the listener). Called once, while the channel is built.
   */
  void terminateWhen(BooleanSupplier allClosed, Runnable onTerminated) {
    this.allClosed = allClosed;
    this.onTerminated = onTerminated;
  }

  EventLoopGroup group() {
    return group;
  }

  /** No connection may be opened any more; the channel terminates once the last one closed. */
  void startClosing() {
    synchronized (lock) {
      closing = true;
    }
  }

  /** Terminates the channel if it is closing and every connection has closed (once). */
  void maybeTerminated() {
    boolean done;
    synchronized (lock) {
      done = closing && allClosed.getAsBoolean();
    }
    if (!done || !terminating.compareAndSet(false, true)) {
      return;
    }
    onTerminated.run();
    if (ownsGroup) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).addListener(f -> terminated.complete(null));
    } else {
      terminated.complete(null);
    }
  }

  /** Waits for termination; false if {@code timeout} passed first. */
  boolean awaitTermination(Duration timeout) throws InterruptedException {
    try {
      terminated.get(CallOptions.saturatedNanos(timeout), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true;
    }
  }

  boolean isTerminated() {
    return terminated.isDone();
  }

  /** Whether the current thread is one of the channel's event loops. */
  boolean onOwnEventLoop() {
    for (EventExecutor e : group) {
      if (e.inEventLoop()) {
        return true;
      }
    }
    return false;
  }

  /** Refuses to wait ({@code what}) on one of the channel's event loops, which must stay free to complete calls. */
  void checkNotOnEventLoop(String what) {
    if (onOwnEventLoop()) {
      throw new IllegalStateException(what + " called on the channel's event loop thread "
          + Thread.currentThread().getName() + ", which must stay free to complete calls (it would deadlock)");
    }
  }
}
