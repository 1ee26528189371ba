package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the connection handshake of PROTOCOL.md: when the connection becomes active it sends this
 * side's preface and SETTINGS; it then requires the peer's first frame to be SETTINGS (or an ERROR
 * refusing the connection, reported as {@link ProtocolException.PeerError}), fires
 * {@link HandshakeCompleted}, and from then on rejects any further SETTINGS. A peer that has not
 * completed its handshake within the timeout gets ERROR(HANDSHAKE_TIMEOUT).
 *
 * <p>Stateful: one per connection. Runs on the channel's event loop.
 */
public final class HandshakeHandler extends ChannelDuplexHandler {
  private final Settings local;
  private final long timeoutMillis;
  private Settings remote;
  private boolean prefaceSent;
  private ScheduledFuture<?> timeout;

  /**
   * @param local the settings this side announces
   * @param timeoutMillis how long the peer has to send its preface and SETTINGS; 0 = no limit
   */
  public HandshakeHandler(Settings local, long timeoutMillis) {
    this.local = requireNonNull(local, "local");
    if (timeoutMillis < 0) {
      throw new IllegalArgumentException("timeoutMillis: " + timeoutMillis + " (expected: >= 0)");
    }
    this.timeoutMillis = timeoutMillis;
  }

  /** The peer's settings, or {@code null} before the handshake completed. */
  public Settings remoteSettings() {
    return remote;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start(ctx);
    ctx.fireChannelActive();
  }

  private void start(ChannelHandlerContext ctx) {
    if (prefaceSent) {
      return;
    }
    prefaceSent = true;
    ctx.write(Preface.encode(ctx.alloc()));
    ctx.writeAndFlush(Frame.settings(ctx.alloc(), local));
    if (timeoutMillis > 0) {
      timeout = ctx.executor().schedule(() -> {
        if (remote == null && ctx.channel().isActive()) {
          ctx.fireExceptionCaught(new ProtocolException(ErrorCode.HANDSHAKE_TIMEOUT,
              "no preface and SETTINGS from the peer within " + timeoutMillis + " ms"));
        }
      }, timeoutMillis, TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Frame)) {
      ctx.fireChannelRead(msg);
      return;
    }
    Frame frame = (Frame) msg;
    if (remote != null) {
      if (frame.type() == FrameType.SETTINGS) {
        frame.release();
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
            "second SETTINGS frame (version 1 sends SETTINGS once, as the first frame)");
      }
      ctx.fireChannelRead(frame);
      return;
    }
    try {
      if (frame.type() == FrameType.ERROR) {
        throw new ProtocolException.PeerError("peer refused the connection with ERROR " + frame.errorCode()
            + (frame.reason().isEmpty() ? "" : ": " + frame.reason()));
      }
      if (frame.type() != FrameType.SETTINGS) {
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
            "expected SETTINGS as the peer's first frame, got " + frame.type());
      }
      remote = Settings.decode(frame.content());
    } finally {
      ReferenceCountUtil.release(frame);
    }
    cancelTimeout();
    ctx.fireUserEventTriggered(new HandshakeCompleted(remote));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelTimeout();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancelTimeout();
  }

  private void cancelTimeout() {
    if (timeout != null) {
      timeout.cancel(false);
      timeout = null;
    }
  }
}
