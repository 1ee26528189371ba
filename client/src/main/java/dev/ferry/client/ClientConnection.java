package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.StatusCode;
import dev.ferry.protocol.Settings;
import dev.ferry.protocol.Transports;
import dev.ferry.protocol.WriteQueue;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.resolver.NoopAddressResolverGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.FutureListener;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One TCP connection to the server, from the connect through the handshake to the close.
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

    /** The connection takes no new calls any more (GOAWAY, ids exhausted); called on its event loop. */
    void draining();
  }

  private final AtomicInteger inFlight = new AtomicInteger();
  private final EventLoop eventLoop;
  private final Channel channel;
  private final ClientCallHandler handler;
  private final WriteQueue writeQueue;
  private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();

  /**
   * What a connection needs to know, fixed for the channel's life.
   *
   * @param host the server's host name or address; looked up again before each connect
   * @param port the server's port
   * @param localSettings what this side announces in its SETTINGS
   * @param connectTimeoutMillis how long the TCP connect may take
   * @param handshakeTimeoutMillis how long the server has to send its preface and SETTINGS
   * @param resolver looks up {@code host} off the event loop
   * @param heartbeatAdjusted told, on an event loop, why a connection's heartbeat interval or timeout
   *     differs from {@code heartbeat} (the server's SETTINGS raised it)
   * @param listener the channel's listener (GOAWAYs, dead connections, retries)
   */
  record Config(String host, int port, Settings localSettings, int connectTimeoutMillis,
      long handshakeTimeoutMillis, HeartbeatOptions heartbeat, HostResolver resolver,
      Consumer<String> heartbeatAdjusted, ChannelListener listener) {
    // (TLS is passed to open() separately: it can be replaced while the channel runs.)
    Config {
      requireNonNull(host, "host");
      requireNonNull(localSettings, "localSettings");
      requireNonNull(heartbeat, "heartbeat");
      requireNonNull(resolver, "resolver");
      requireNonNull(heartbeatAdjusted, "heartbeatAdjusted");
      requireNonNull(listener, "listener");
    }

    String authority() {
      return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
  }

  private ClientConnection(EventLoop eventLoop, Channel channel, ClientCallHandler handler) {
    this.eventLoop = eventLoop;
    this.channel = channel;
    this.handler = handler;
    this.writeQueue = new WriteQueue(channel);
  }

  /**
   * Starts connecting to the server on {@code eventLoop}; does not wait.
   *
   * @param tls the TLS configuration, or null for plaintext
   * @param redispatch starts a call on another connection (see {@link ClientCallHandler#write})
   * @param droppedResponses the channel's counter of responses that matched no call
   */
  static ClientConnection open(Config config, ClientTls tls, EventLoop eventLoop,
      Consumer<ClientCall<?, ?>> redispatch, AtomicLong droppedResponses, Listener listener) {
    ClientCallHandler handler = new ClientCallHandler(config.authority(), eventLoop.newPromise(), redispatch,
        droppedResponses, listener::draining, config.heartbeatAdjusted(), config.listener());
    Bootstrap bootstrap = new Bootstrap()
        .group(eventLoop)
        // NIO or epoll, whichever the (possibly shared) event loop runs.
        .channel(Transports.socketChannelType(eventLoop))
        // Addresses arrive resolved (see HostResolver): Netty's default resolver would block the loop.
        .resolver(NoopAddressResolverGroup.INSTANCE)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, config.connectTimeoutMillis())
        .handler(new ClientChannelInitializer(config.localSettings(), config.handshakeTimeoutMillis(),
            config.heartbeat(), handler, tls, config.host(), config.port()));
    // TCP_NODELAY, SO_KEEPALIVE, and TCP_USER_TIMEOUT on epoll (the heartbeat handler refines it once the
    // server's settings are known).
    Transports.configure(bootstrap, eventLoop, config.heartbeat().timeout().toMillis());
    // The channel exists (registered, pipeline in place) before the address is known, so calls can be
    // handed to the connection at once; they wait for its handshake.
    ChannelFuture registered = bootstrap.register();
    Channel channel = registered.channel();
    ClientConnection connection = new ClientConnection(eventLoop, channel, handler);
    listener.bind(connection);
    channel.closeFuture().addListener(f -> connection.closeFuture.complete(null));
    // Looked up again on every connect, so a server that moved is found; never on the loop, never here
    // (this may run under the pool's lock).
    config.resolver().resolve(config.host(), config.port()).whenComplete((address, lookupFailure) -> {
      try {
        eventLoop.execute(() -> connect(connection, registered, address, lookupFailure));
      } catch (RejectedExecutionException e) {
        connection.connectFailed(e); // the channel's event loops are shut down
      }
    });
    return connection;
  }

  /** Event loop: connects to the looked-up address, or fails the connection if the lookup failed. */
  private static void connect(ClientConnection connection, ChannelFuture registered, InetSocketAddress address,
      Throwable lookupFailure) {
    if (lookupFailure != null) {
      Throwable cause = lookupFailure instanceof java.util.concurrent.CompletionException
          && lookupFailure.getCause() != null ? lookupFailure.getCause() : lookupFailure;
      connection.connectFailed(cause);
      return;
    }
    registered.addListener((ChannelFutureListener) r -> {
      if (!r.isSuccess()) {
        connection.connectFailed(r.cause());
        return;
      }
      r.channel().connect(address).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          connection.connectFailed(f.cause());
        }
      });
    });
  }

  /** The lookup, the registration or the TCP connect failed: no call can be pending yet. Any thread. */
  private void connectFailed(Throwable cause) {
    handler.connectFailed(cause);
    channel.close();
    closeFuture.complete(null);
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
        call.fail(StatusCode.UNAVAILABLE, ClientCallHandler.describe(failure),
            failure instanceof ClientCallHandler.ConnectFailure ? failure.getCause() : failure);
      }
    });
  }

  private void enqueueWrite(ClientCall<?, ?> call) {
    writeQueue.enqueue(() -> {
      if (eventLoop.inEventLoop()) {
        try {
          handler.write(call);
        } catch (RuntimeException e) {
          // A bug, or a request message that throws while being measured: the call still completes.
          call.fail(StatusCode.INTERNAL, "could not write the request: " + ClientCallHandler.describe(e), e);
        }
      } else {
        // The write queue runs commands on the calling thread once the event loop is gone.
        call.fail(StatusCode.UNAVAILABLE, "connection's event loop was shut down", null);
      }
    });
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
