package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.internal.PlaintextPeerDetector;
import dev.ferry.internal.ProtocolPipeline;
import dev.ferry.internal.Settings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslHandler;

/**
 * Builds a client connection's pipeline:
 *
 * <pre>
 *   plaintext-detector   PlaintextPeerDetector  (only with {@link ClientTls}: a server without TLS)
 *   tls                  SslHandler          (only with {@link ClientTls})
 *   flush-consolidation, preface-decoder, frame-decoder, frame-encoder, handshake   (ProtocolPipeline.addCodec)
 *   heartbeat            HeartbeatHandler    (PING when quiet, dead-peer timeout; ProtocolPipeline.addHeartbeat)
 *   client-calls         ClientCallHandler   (pending calls by request id)
 *   connection-errors    ConnectionErrorHandler  (ProtocolPipeline.addErrorHandler)
 * </pre>
 *
 * <p>One instance per connection (it carries that connection's handler). Runs on the event loop.
 */
final class ClientChannelInitializer extends ChannelInitializer<Channel> {
  private final Settings local;
  private final long handshakeTimeoutMillis;
  private final ClientCallHandler handler;
  private final HeartbeatOptions heartbeat;
  private final ClientTls tls; // null = plaintext
  private final String host;
  private final int port;

  ClientChannelInitializer(Settings local, long handshakeTimeoutMillis, HeartbeatOptions heartbeat,
      ClientCallHandler handler, ClientTls tls, String host, int port) {
    this.local = requireNonNull(local, "local");
    this.tls = tls;
    this.host = requireNonNull(host, "host");
    this.port = port;
    this.handshakeTimeoutMillis = handshakeTimeoutMillis;
    this.heartbeat = requireNonNull(heartbeat, "heartbeat");
    this.handler = requireNonNull(handler, "handler");
  }

  @Override
  protected void initChannel(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    if (tls != null) {
      // The peer host and port name the server for hostname verification, SNI and session resumption.
      SslHandler ssl = tls.context().newHandler(ch.alloc(), tls.serverName().orElse(host), port);
      ssl.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
      p.addLast("plaintext-detector", new PlaintextPeerDetector());
      p.addLast("tls", ssl);
    }
    ProtocolPipeline.addCodec(p, local, handshakeTimeoutMillis);
    ProtocolPipeline.addHeartbeat(p, heartbeat.interval().toMillis(), heartbeat.timeout().toMillis(), 0);
    p.addLast("client-calls", handler);
    ProtocolPipeline.addErrorHandler(p);
  }
}
