package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.StatusCode;
import dev.ferry.internal.Addresses;
import dev.ferry.internal.Settings;
import dev.ferry.internal.WriteQueue;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.FutureListener;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One connection to the server (TCP, or in-process), from the connect through the handshake to the close.
 *
 * <p>{@link #open} starts connecting and returns at once; it never waits. Calls handed to
 * {@link #start} wait for the handshake with a listener, and are then moved onto the event loop
 * through the connection's {@link WriteQueue}, where {@link ClientCallHandler} assigns their request
 * ids and writes them, one flush per batch. If the connect or handshake fails, the waiting calls fail
 * with UNAVAILABLE naming the address and the cause.
 *
 * <p>Threads: every method may be called from any thread. State lives in the handler, which only the
 * connection's event loop touches; the methods here only hand work over to that loop.
 */
final class ClientConnection {
  /** Hears about one connection's life: told first which connection it is, then when it drains. */
  interface Listener {
    /** Called once, right after the connection object exists (before any other callback). */
    void bind(ClientConnection connection);

    /** The connection takes no new calls any more (GOAWAY, ids exhausted, drained); called on its event loop. */
    void draining();

    /** The connection is dead: the server sent nothing for the heartbeat timeout. Event loop. */
    default void heartbeatTimedOut() {}
  }

  private final AtomicInteger inFlight = new AtomicInteger();
  private final EventLoop eventLoop;
  private final Channel channel;
  private final ClientCallHandler handler;
  private final WriteQueue writeQueue;
  private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
  /** The endpoint this connection belongs to; set once, before the connection is offered to any call. */
  private Subchannel subchannel;

  /**
   * What a connection needs to know, fixed for the channel's life.
   *
   * @param host the server's host name or address, looked up again before each connect; for an
   *     in-process server, its name
   * @param port the server's port (0 for an in-process server)
   * @param localSettings what this side announces in its SETTINGS
   * @param connectTimeoutMillis how long the TCP connect may take
   * @param handshakeTimeoutMillis how long the server has to send its preface and SETTINGS
   * @param inProcess whether {@code host} names an in-process server (Netty's local transport)
   * @param resolver looks up {@code host} off the event loop
   * @param heartbeatAdjusted told, on an event loop, why a connection's heartbeat interval or timeout
   *     differs from {@code heartbeat} (the server's SETTINGS raised it)
   * @param ticker the channel's clock, which call deadlines are measured on
   * @param listener the channel's listener (GOAWAYs, dead connections, retries)
   * @param label what messages call the server, or null for {@code host:port}
   */
  record Config(String host, int port, Settings localSettings, int connectTimeoutMillis,
      long handshakeTimeoutMillis, HeartbeatOptions heartbeat, boolean inProcess, HostResolver resolver,
      Consumer<String> heartbeatAdjusted, Ticker ticker, ChannelListener listener, String label) {
    // (TLS is passed to open() separately: it can be replaced while the channel runs.)
    Config {
      requireNonNull(host, "host");
      requireNonNull(localSettings, "localSettings");
      requireNonNull(heartbeat, "heartbeat");
      requireNonNull(resolver, "resolver");
      requireNonNull(heartbeatAdjusted, "heartbeatAdjusted");
      requireNonNull(ticker, "ticker");
      requireNonNull(listener, "listener");
    }

    String authority() {
      return label != null ? label : inProcess ? "in-process:" + host : Addresses.hostPort(host, port);
    }

    /**
     * The configuration of connections to {@code endpoint}: its host (for TLS, and for the lookup before
     * each connect unless its address is resolved already) and port.
     */
    Config forEndpoint(Endpoint endpoint) {
      java.net.InetSocketAddress address = endpoint.address();
      HostResolver r = address.isUnresolved() ? resolver
          : (h, p) -> java.util.concurrent.CompletableFuture.completedFuture(address);
      return new Config(endpoint.host(), endpoint.port(), localSettings, connectTimeoutMillis, handshakeTimeoutMillis,
          heartbeat, inProcess, r, heartbeatAdjusted, ticker, listener, endpoint.label());
    }
  }

  private ClientConnection(EventLoop eventLoop, Channel channel, ClientCallHandler handler) {
    this.eventLoop = eventLoop;
    this.channel = channel;
    this.handler = handler;
    this.writeQueue = new WriteQueue(channel);
  }

  /**
   * Starts connecting to the server through {@code transport}, on {@code eventLoop} unless the transport
   * brings its own; does not wait.
   *
   * @param tls the TLS configuration, or null for plaintext
   * @param redispatch starts a call on another connection (see {@link ClientCallHandler#write})
   * @param droppedResponses the channel's counter of responses that matched no call
   */
  static ClientConnection open(Config config, ClientTransport transport, ClientTls tls, EventLoop eventLoop,
      Consumer<ClientCall<?, ?>> redispatch, AtomicLong droppedResponses, Listener listener) {
    ClientCallHandler handler = new ClientCallHandler(config.authority(), eventLoop.newPromise(), redispatch,
        droppedResponses, listener::draining, listener::heartbeatTimedOut, config.heartbeatAdjusted(),
        config.ticker(), config.listener());
    ChannelFuture connected = transport.connect(eventLoop, new ClientChannelInitializer(config.localSettings(),
        config.handshakeTimeoutMillis(), config.heartbeat(), handler, tls, config.host(), config.port()), config);
    Channel channel = connected.channel();
    ClientConnection connection = new ClientConnection(channel.eventLoop(), channel, handler);
    listener.bind(connection);
    channel.closeFuture().addListener(f -> connection.closeFuture.complete(null));
    connected.addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        connection.connectFailed(f.cause());
      }
    });
    return connection;
  }

  /** The lookup, the registration or the connect failed: no call can be pending yet. Any thread. */
  private void connectFailed(Throwable cause) {
    handler.connectFailed(cause);
    channel.close();
    closeFuture.complete(null);
  }

  /** The endpoint this connection belongs to, or null for a connection opened outside a balancer. */
  Subchannel subchannel() {
    return subchannel;
  }

  /** Called once, by the subchannel that opened this connection, before any call can be bound to it. */
  void subchannel(Subchannel s) {
    this.subchannel = s;
  }

  /** Succeeds with the server's settings once calls may be written; fails if the connection never got there. */
  Future<Settings> handshakeFuture() {
    return handler.handshakeFuture();
  }

  /** Whether the handshake is done and the connection takes new calls. */
  boolean isReady() {
    return handler.handshakeFuture().isSuccess() && handler.acceptsNewCalls();
  }

  /** Calls assigned to this connection and not yet completed. */
  int inFlight() {
    return inFlight.get();
  }

  /** The server's MAX_CONCURRENT_CALLS (unlimited before the handshake). */
  int maxConcurrentCalls() {
    Settings remote = handler.remoteSettings();
    return remote == null ? Integer.MAX_VALUE : remote.maxConcurrentCalls();
  }

  /** Counts one more call here if that stays under the server's limit. Any thread. */
  boolean tryAcquire() {
    int max = maxConcurrentCalls();
    for (;;) {
      int n = inFlight.get();
      if (n >= max) {
        return false;
      }
      if (inFlight.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** A call counted here completed or moved elsewhere. Any thread. */
  void release() {
    inFlight.decrementAndGet();
  }

  /** Starts {@code call} here: writes its request once the handshake is done, or fails it if that fails. */
  void start(ClientCall<?, ?> call) {
    Future<Settings> handshake = handler.handshakeFuture();
    if (handshake.isSuccess()) {
      enqueueWrite(call);
      return;
    }
    handshake.addListener((FutureListener<Settings>) f -> {
      if (f.isSuccess()) {
        enqueueWrite(call);
      } else {
        Throwable failure = f.cause();
        call.fail(StatusCode.UNAVAILABLE, Failures.describe(failure),
            failure instanceof Failures.ConnectFailure ? failure.getCause() : failure);
      }
    });
  }

  /** Queues {@code call}'s write: the call is its own command (see {@link ClientCall#run}). */
  private void enqueueWrite(ClientCall<?, ?> call) {
    writeQueue.enqueue(call);
  }

  /** The queued write of {@code call}, which is bound here, runs. */
  void writeQueued(ClientCall<?, ?> call) {
    if (eventLoop.inEventLoop()) {
      try {
        handler.write(call);
      } catch (RuntimeException e) {
        // A bug, or a request message that throws while being measured: the call still completes.
        call.fail(StatusCode.INTERNAL, "could not write the request: " + Failures.describe(e), e);
      }
    } else {
      // The write queue runs commands on the calling thread once the event loop is gone.
      call.fail(StatusCode.UNAVAILABLE, "connection's event loop was shut down", null);
    }
  }

  /**
   * Forgets {@code call}, which just completed: removes it from the pending map and sends CANCEL if
   * its request was written and no response came (see {@link ClientCallHandler#forget}).
   */
  void forget(ClientCall<?, ?> call) {
    if (eventLoop.inEventLoop()) {
      handler.forget(call);
    } else if (handler.handshakeFuture().isSuccess()) {
      // Before the handshake the call cannot be pending (its write waits for the handshake and skips
      // completed calls), so there is nothing to do.
      writeQueue.enqueue(() -> {
        if (eventLoop.inEventLoop()) {
          handler.forget(call);
        }
      });
    }
  }

  /** Queues a stream message's frame, counted in the channel's writability until written. Any thread. */
  void enqueueStreamMessage(Runnable frame, int bytes) {
    writeQueue.enqueueStreamMessage(frame, bytes);
  }

  /** Queues {@code command} to run on the event loop, in order with this connection's writes. Any thread. */
  void enqueue(Runnable command) {
    writeQueue.enqueue(command);
  }

  /** Whether the channel takes more frames now (its write buffer below the high-water mark). Any thread. */
  boolean isWritable() {
    return channel.isWritable();
  }

  /** Whether {@code call} is in flight here: its stream's frames still mean something to the server. Event loop. */
  boolean isPending(ClientCall<?, ?> call) {
    return handler.isPending(call);
  }

  /** Writes a stream's frame without flushing (the write queue's batch flushes). Event loop. */
  void write(Object frame) {
    channel.write(frame, channel.voidPromise());
  }

  /** Runs {@code task} on the event loop, or right here if the loop is shut down. */
  void execute(Runnable task) {
    try {
      eventLoop.execute(task);
    } catch (RejectedExecutionException e) {
      task.run();
    }
  }

  /** Fails every call in flight here with UNAVAILABLE {@code reason}, then closes the connection. */
  void close(String reason) {
    execute(() -> {
      if (eventLoop.inEventLoop()) {
        handler.shutDown(reason);
      }
      channel.close();
    });
  }

  /**
   * Takes no new calls from now on, as if the server had sent GOAWAY: calls in flight finish, calls
   * not yet written move to another connection, and the connection closes after its last call.
   */
  void drain(String reason) {
    execute(() -> {
      if (eventLoop.inEventLoop()) {
        handler.drain(reason);
      } else {
        channel.close();
      }
    });
  }

  /** Completes when the connection is closed (or never opened). */
  CompletionStage<Void> closeFuture() {
    return closeFuture;
  }

  /** The event loop this connection runs on. */
  EventLoop eventLoop() {
    return eventLoop;
  }

  /** For tests: the number of calls in the pending map (waits for the event loop). */
  int pendingCount() {
    if (eventLoop.inEventLoop()) {
      return handler.pendingCount(); // a test that runs the loop itself (an embedded channel)
    }
    try {
      return eventLoop.submit(handler::pendingCount).syncUninterruptibly().getNow();
    } catch (RejectedExecutionException e) {
      return 0;
    }
  }

  /** For tests: the server's settings, or {@code null} before the handshake completed. */
  Settings remoteSettings() {
    Future<Settings> handshake = handler.handshakeFuture();
    return handshake.isSuccess() ? handshake.getNow() : null;
  }

  @Override
  public String toString() {
    return "ClientConnection{" + channel + '}';
  }
}
