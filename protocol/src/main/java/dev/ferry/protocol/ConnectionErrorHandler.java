package dev.ferry.protocol;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last inbound handler of every Ferry pipeline: closes the connection on any exception that
 * reached it, with a logged reason. A {@link ProtocolException} that asks for it is answered with an
 * ERROR frame first, so the peer learns why. Only the offending connection is closed.
 *
 * <p>Log levels: a protocol violation by a Ferry peer is WARN; something that is not Ferry at all, a
 * connection that ended mid-frame, and I/O errors such as a reset are INFO or DEBUG, since they are
 * facts about the network rather than faults here, except a write that timed out (the peer is gone or
 * does not read: WARN, like a heartbeat timeout); any other exception is a bug and is logged at
 * ERROR with its stack trace. A failed TLS handshake (untrusted or expired certificate, wrong name, a
 * peer not speaking TLS) is WARN, or INFO when the peer does not speak TLS at all. Stateless and
 * {@link Sharable}.
 */
@Sharable
public final class ConnectionErrorHandler extends ChannelInboundHandlerAdapter {
  /** The shared instance. */
  public static final ConnectionErrorHandler INSTANCE = new ConnectionErrorHandler();

  private static final Logger log = LoggerFactory.getLogger(ConnectionErrorHandler.class);
  private static final AttributeKey<Boolean> TIMEOUT_LOGGED =
      AttributeKey.valueOf(ConnectionErrorHandler.class, "timeoutLogged");

  private ConnectionErrorHandler() {}

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Nothing more the peer sends is decoded: not the rest of this read, not later reads.
    FrameDecoder decoder = ctx.pipeline().get(FrameDecoder.class);
    if (decoder != null) {
      decoder.discardFurtherInput();
    }
    ctx.channel().config().setAutoRead(false);
    Throwable c = unwrap(cause);
    javax.net.ssl.SSLException tls = TlsSupport.tlsFailure(cause);
    if (tls != null) {
      if (tls instanceof io.netty.handler.ssl.NotSslRecordException) {
        log.info("Closing connection with {}: {}", ctx.channel().remoteAddress(), TlsSupport.describe(tls, ctx.channel()));
      } else {
        log.warn("Closing connection with {}: {}", ctx.channel().remoteAddress(), TlsSupport.describe(tls, ctx.channel()));
      }
    } else if (c instanceof ProtocolException) {
      ProtocolException pe = (ProtocolException) c;
      if (pe instanceof ProtocolException.NotFerryPeer) {
        log.info("Closing connection from {}: {}", ctx.channel().remoteAddress(), pe.getMessage());
      } else if (pe instanceof ProtocolException.PeerError) {
        log.warn("Connection to {} failed: {}", ctx.channel().remoteAddress(), pe.getMessage());
      } else if (pe instanceof ProtocolException.Truncated) {
        log.debug("Connection to {} ended: {}", ctx.channel().remoteAddress(), pe.getMessage());
      } else {
        log.warn("Closing connection to {}: {} ({})", ctx.channel().remoteAddress(), pe.getMessage(),
            pe.errorCode());
      }
      if (pe.replyWithError() && ctx.channel().isActive()) {
        ctx.writeAndFlush(Frame.error(ctx.alloc(), pe.errorCode(), pe.getMessage()))
            .addListener(ChannelFutureListener.CLOSE);
        return;
      }
    } else if (c instanceof HeartbeatTimeoutException) {
      log.warn("Closing connection: {}", c.getMessage());
    } else if (c instanceof IOException && String.valueOf(c.getMessage()).contains("timed out")) {
      // The kernel gave up on unacknowledged data (TCP_USER_TIMEOUT, retransmissions): the peer is gone, or
      // it has stopped reading and its receive window stayed shut. Each write still queued reports the
      // same failure; one line is enough.
      if (ctx.channel().attr(TIMEOUT_LOGGED).setIfAbsent(Boolean.TRUE) == null) {
        log.warn("Closing connection to {}: the peer acknowledged nothing we sent for too long: it is gone "
            + "or not reading ({})", ctx.channel().remoteAddress(), c.getMessage());
      }
    } else if (c instanceof IOException) {
      log.debug("Closing connection to {} after I/O error: {}", ctx.channel().remoteAddress(), c.toString());
    } else {
      log.error("Closing connection to {} after an unexpected error", ctx.channel().remoteAddress(), c);
    }
    ctx.close();
  }

  private static Throwable unwrap(Throwable t) {
    // ByteToMessageDecoder passes ProtocolException (a DecoderException) through unwrapped; other
    // handlers' exceptions may arrive wrapped once.
    if (!(t instanceof ProtocolException) && t.getCause() instanceof ProtocolException) {
      return t.getCause();
    }
    return t;
  }
}
