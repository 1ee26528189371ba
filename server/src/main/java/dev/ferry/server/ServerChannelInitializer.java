package dev.ferry.server;

import dev.ferry.internal.LogAggregator;
import dev.ferry.internal.ProtocolPipeline;
import dev.ferry.internal.Settings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslHandler;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Builds the pipeline of each connection the server accepts:
 *
 * <pre>
 *   plaintext-refuser     PlaintextRefuser        (only with TLS: a client that speaks plaintext is told TLS is required)
 *   tls                   SslHandler              (only with TLS)
 *   connection-limit      ConnectionLimiter       (admits, or sends the preface and ERROR(REFUSED) and closes)
 *   flush-consolidation, preface-decoder, frame-decoder, frame-encoder, handshake   (ProtocolPipeline.addCodec,
 *                                                  the decoder reserving frames from the memory budget)
 *   heartbeat             HeartbeatHandler        (PING quiet clients, close silent ones)
 *   ferry-server          ServerConnectionHandler (calls: admission, dispatch, responses, graceful close)
 *   connection-errors     ConnectionErrorHandler  (closes on any error, with a logged reason)
 * </pre>
 *
 * <p>TLS comes before the limiter, so a refusal to a TLS client is written through TLS like everything
 * else. Shared by every connection of a server (it carries only the server's configuration); runs on
 * each connection's event loop.
 */
@Sharable
final class ServerChannelInitializer extends ChannelInitializer<Channel> {
  /** What the server's settings are made of, fixed for its life. */
  record Config(Settings local, long handshakeTimeoutMillis, long frameReadTimeoutMillis,
      long heartbeatIntervalMillis, long heartbeatTimeoutMillis) {}

  private final Config config;
  private final Supplier<ServerTls> tls; // the current TLS material (it can be replaced), or null
  private final ConnectionLimiter limiter;
  private final LogAggregator plaintextRefusals;
  private final MemoryBudget memoryBudget;
  private final ServerRuntime runtime;
  private final Consumer<ServerConnectionHandler> opened;

  /**
   * @param opened told, on the event loop, of each admitted connection's handler (before it is active)
   */
  ServerChannelInitializer(Config config, Supplier<ServerTls> tls, ConnectionLimiter limiter,
      LogAggregator plaintextRefusals, MemoryBudget memoryBudget, ServerRuntime runtime,
      Consumer<ServerConnectionHandler> opened) {
    this.config = config;
    this.tls = tls;
    this.limiter = limiter;
    this.plaintextRefusals = plaintextRefusals;
    this.memoryBudget = memoryBudget;
    this.runtime = runtime;
    this.opened = opened;
  }

  @Override
  protected void initChannel(Channel ch) {
    ServerTls currentTls = tls.get();
    if (currentTls != null) {
      SslHandler ssl = currentTls.context().newHandler(ch.alloc());
      ssl.setHandshakeTimeoutMillis(config.handshakeTimeoutMillis());
      ch.pipeline().addLast(PlaintextRefuser.NAME, new PlaintextRefuser(plaintextRefusals));
      ch.pipeline().addLast(PlaintextRefuser.TLS_HANDLER, ssl);
    }
    if (!limiter.admit(ch)) {
      return; // refused: preface and ERROR(REFUSED), then closed
    }
    Settings local = config.local();
    ConnectionMemory memory = new ConnectionMemory(memoryBudget, local.maxFrameSize(), ch.remoteAddress());
    ProtocolPipeline.addCodec(ch.pipeline(), local, config.handshakeTimeoutMillis(),
        config.frameReadTimeoutMillis(), memory);
    ProtocolPipeline.addHeartbeat(ch.pipeline(), config.heartbeatIntervalMillis(), config.heartbeatTimeoutMillis(),
        local.minPingIntervalMillis());
    ServerConnectionHandler handler = new ServerConnectionHandler(runtime, memory);
    ch.pipeline().addLast("ferry-server", handler);
    ProtocolPipeline.addErrorHandler(ch.pipeline());
    opened.accept(handler);
  }
}
