package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.protocol.ProtocolPipeline;
import dev.ferry.protocol.Settings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;

/**
 * Builds a client connection's pipeline:
 *
 * <pre>
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

  ClientChannelInitializer(Settings local, long handshakeTimeoutMillis, HeartbeatOptions heartbeat,
      ClientCallHandler handler) {
    this.local = requireNonNull(local, "local");
    this.handshakeTimeoutMillis = handshakeTimeoutMillis;
    this.heartbeat = requireNonNull(heartbeat, "heartbeat");
    this.handler = requireNonNull(handler, "handler");
  }

  @Override
  protected void initChannel(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    ProtocolPipeline.addCodec(p, local, handshakeTimeoutMillis);
    ProtocolPipeline.addHeartbeat(p, heartbeat.interval().toMillis(), heartbeat.timeout().toMillis(), 0);
    p.addLast("client-calls", handler);
    ProtocolPipeline.addErrorHandler(p);
  }
}
