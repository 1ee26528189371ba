package dev.ferry.server;

import dev.ferry.internal.ErrorCode;
import io.netty.channel.Channel;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

/**
 * How long a connection may live: max connection idle (no call in flight for that long) and max
 * connection age (give or take 10%, so that connections opened together do not all go away together).
 * Either ends the connection gracefully, through {@code goAway}. Like gRPC's MaxConnectionIdleManager,
 * apart from the handler that serves the calls.
 *
 * <p>Timers run on the connection's event loop and read the server's clock, so a test drives them on
 * fake time. Threads: the connection's event loop only.
 */
final class ConnectionLifetime {
  private final Channel channel;
  private final ServerRuntime server;
  private final BooleanSupplier busy;
  private final BiConsumer<ErrorCode, String> goAway;
  private ScheduledFuture<?> maxAgeTask;
  private ScheduledFuture<?> idleCheck;
  private long idleSinceNanos;

  /**
   * @param busy whether the connection has calls in flight or is closing already (no idle close then)
   * @param goAway starts the graceful close, with a reason
   */
  ConnectionLifetime(Channel channel, ServerRuntime server, BooleanSupplier busy,
      BiConsumer<ErrorCode, String> goAway) {
    this.channel = channel;
    this.server = server;
    this.busy = busy;
    this.goAway = goAway;
  }

  /** The connection opened: idle from now, and aging. */
  void start() {
    if (server.maxConnectionIdleNanos > 0) {
      markIdle();
    }
    if (server.maxConnectionAgeNanos > 0) {
      long age = (long) (server.maxConnectionAgeNanos * (0.9 + 0.2 * server.random.getAsDouble()));
      maxAgeTask = channel.eventLoop().schedule(
          () -> goAway.accept(ErrorCode.NO_ERROR, "maximum connection age reached"), age, TimeUnit.NANOSECONDS);
    }
  }

  /** The connection's last call in flight ended: it is idle from now. */
  void becameIdle() {
    if (server.maxConnectionIdleNanos > 0) {
      markIdle();
    }
  }

  private void markIdle() {
    idleSinceNanos = server.ticker.nanoTime();
    if (idleCheck == null) {
      idleCheck = channel.eventLoop().schedule(this::checkIdle, server.maxConnectionIdleNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void checkIdle() {
    idleCheck = null;
    if (busy.getAsBoolean() || !channel.isActive()) {
      return; // a busy connection re-arms the check when its last call ends
    }
    long idleFor = server.ticker.nanoTime() - idleSinceNanos;
    if (idleFor >= server.maxConnectionIdleNanos) {
      goAway.accept(ErrorCode.NO_ERROR, "connection idle for " + TimeUnit.NANOSECONDS.toMillis(idleFor)
          + " ms (maxConnectionIdle)");
    } else {
      idleCheck = channel.eventLoop().schedule(this::checkIdle, server.maxConnectionIdleNanos - idleFor,
          TimeUnit.NANOSECONDS);
    }
  }

  /** The connection closed: no more timers. */
  void stop() {
    if (idleCheck != null) {
      idleCheck.cancel(false);
      idleCheck = null;
    }
    if (maxAgeTask != null) {
      maxAgeTask.cancel(false);
      maxAgeTask = null;
    }
  }
}
