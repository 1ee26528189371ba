package dev.ferry.internal;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;

/**
 * Installs the handlers both sides share, in order:
 *
 * <pre>
 *   flush-consolidation   FlushConsolidationHandler  (outbound: batches flushes during a read burst)
 *   preface-decoder       PrefaceDecoder             (removes itself once the peer's preface checked out)
 *   frame-decoder         FrameDecoder
 *   frame-encoder         FrameEncoder
 *   handshake             HandshakeHandler
 *   heartbeat             HeartbeatHandler           (optional, {@link #addHeartbeat}; installs
 *                                                     "heartbeat-idle", an IdleStateHandler, at the head)
 *   ... the side's own handlers ...
 *   connection-errors     ConnectionErrorHandler     (add last, with {@link #addErrorHandler})
 * </pre>
 */
public final class ProtocolPipeline {
  private ProtocolPipeline() {}

  /** Adds the codec and handshake handlers to an empty pipeline. */
  public static void addCodec(ChannelPipeline p, Settings local, long handshakeTimeoutMillis) {
    addCodec(p, local, handshakeTimeoutMillis, 0);
  }

  /**
   * As {@link #addCodec(ChannelPipeline, Settings, long)}, with a frame read timeout (see
   * {@link FrameDecoder}); 0 = none.
   */
  public static void addCodec(ChannelPipeline p, Settings local, long handshakeTimeoutMillis,
      long frameReadTimeoutMillis) {
    addCodec(p, local, handshakeTimeoutMillis, frameReadTimeoutMillis, null);
  }

  /**
   * As {@link #addCodec(ChannelPipeline, Settings, long, long)}, with the memory the frame decoder
   * reserves received frames from (see {@link InboundBudget}); null = no budget.
   */
  public static void addCodec(ChannelPipeline p, Settings local, long handshakeTimeoutMillis,
      long frameReadTimeoutMillis, InboundBudget budget) {
    p.addLast("flush-consolidation", new FlushConsolidationHandler(256, false));
    p.addLast("preface-decoder", new PrefaceDecoder());
    p.addLast("frame-decoder",
        new FrameDecoder(local.maxFrameSize(), local.maxMetadataSize(), frameReadTimeoutMillis, budget));
    p.addLast("frame-encoder", new FrameEncoder());
    p.addLast("handshake", new HandshakeHandler(local, handshakeTimeoutMillis));
  }

  /** Adds heartbeats (see {@link HeartbeatHandler}); call right after {@link #addCodec}. */
  public static void addHeartbeat(ChannelPipeline p, long intervalMillis, long timeoutMillis,
      long minPingIntervalMillis) {
    p.addLast("heartbeat", new HeartbeatHandler(intervalMillis, timeoutMillis, minPingIntervalMillis));
  }

  /** Adds the closing error handler; call after the side's own handlers. */
  public static void addErrorHandler(ChannelPipeline p) {
    p.addLast("connection-errors", ConnectionErrorHandler.INSTANCE);
  }
}
