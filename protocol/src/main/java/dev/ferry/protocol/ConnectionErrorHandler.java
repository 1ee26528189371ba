package dev.ferry.protocol;

import io.netty.channel.Channel;
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
 * peer not speaking TLS) is WARN, or INFO when the peer does not speak TLS at all. A failure that was
 * reported already ({@link #alreadyReported}) is DEBUG, bugs excepted. Addresses are written as
 * {@link Addresses#describe} does. Stateless and {@link Sharable}.
 */
@Sharable
public final class ConnectionErrorHandler extends ChannelInboundHandlerAdapter {
  /** The shared instance. */
  public static final ConnectionErrorHandler INSTANCE = new ConnectionErrorHandler();

  private static final Logger log = LoggerFactory.getLogger(ConnectionErrorHandler.class);
  private static final AttributeKey<Boolean> TIMEOUT_LOGGED =
      AttributeKey.valueOf(ConnectionErrorHandler.class, "timeoutLogged");
  private static final AttributeKey<Boolean> REPORTED =
      AttributeKey.valueOf(ConnectionErrorHandler.class, "reported");

  private ConnectionErrorHandler() {}

  /**
   * Says that the failure about to reach this handler on {@code channel} has been reported already:
   * to the calls it failed (a client tells its callers why), or in a rate-limited log line. It is then
   * logged at DEBUG only, so that one failure makes one report. Any thread.
   */
  public static void alreadyReported(Channel channel) {
    channel.attr(REPORTED).set(Boolean.TRUE);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Nothing more the peer sends is decoded: not the rest of this read, not later reads.
    FrameDecoder decoder = ctx.pipeline().get(FrameDecoder.class);
    if (decoder != null) {
      decoder.discardFurtherInput();
    }
    ctx.channel().config().setAutoRead(false);
    Throwable c = unwrap(cause);
    String peer = Addresses.describe(ctx.channel().remoteAddress());
    boolean reported = Boolean.TRUE.equals(ctx.channel().attr(REPORTED).get());
    javax.net.ssl.SSLException tls = TlsSupport.tlsFailure(cause);
    if (tls != null) {
      if (reported || tls instanceof io.netty.handler.ssl.NotSslRecordException) {
        infoUnlessReported(reported, "Closing connection with {}: {}", peer, TlsSupport.describe(tls, ctx.channel()));
      } else {
        log.warn("Closing connection with {}: {}", peer, TlsSupport.describe(tls, ctx.channel()));
      }
    } else if (c instanceof ProtocolException) {
      ProtocolException pe = (ProtocolException) c;
      if (pe instanceof ProtocolException.NotFerryPeer) {
        infoUnlessReported(reported, "Closing connection from {}: {}", peer, pe.getMessage());
      } else if (pe instanceof ProtocolException.Truncated) {
        log.debug("Connection to {} ended: {}", peer, pe.getMessage());
      } else if (reported) {
        log.debug("Closing connection to {}: {} ({})", peer, pe.getMessage(), pe.errorCode());
      } else if (pe instanceof ProtocolException.PeerError) {
        log.warn("Connection to {} failed: {}", peer, pe.getMessage());
      } else {
        log.warn("Closing connection to {}: {} ({})", peer, pe.getMessage(), pe.errorCode());
      }
      if (pe.replyWithError() && ctx.channel().isActive()) {
        ctx.writeAndFlush(Frame.error(ctx.alloc(), pe.errorCode(), pe.getMessage()))
            .addListener(ChannelFutureListener.CLOSE);
        return;
      }
    } else if (c instanceof HeartbeatTimeoutException) {
      if (reported) {
        log.debug("Closing connection: {}", c.getMessage());
      } else {
        log.warn("Closing connection: {}", c.getMessage());
      }
    } else if (c instanceof IOException && String.valueOf(c.getMessage()).contains("timed out")) {
      // The kernel gave up on unacknowledged data (TCP_USER_TIMEOUT, retransmissions): the peer is gone, or
      // it has stopped reading and its receive window stayed shut. Each write still queued reports the
      // same failure; one line is enough.
      if (!reported && ctx.channel().attr(TIMEOUT_LOGGED).setIfAbsent(Boolean.TRUE) == null) {
        log.warn("Closing connection to {}: the peer acknowledged nothing we sent for too long: it is gone "
            + "or not reading ({})", peer, c.getMessage());
      }
    } else if (c instanceof IOException) {
      log.debug("Closing connection to {} after I/O error: {}", peer, c.toString());
    } else {
      log.error("Closing connection to {} after an unexpected error", peer, c);
    }
    ctx.close();
  }

  /** INFO, or DEBUG when the failure was reported elsewhere already. */
  private static void infoUnlessReported(boolean reported, String format, Object... args) {
    if (reported) {
      log.debug(format, args);
    } else {
      log.info(format, args);
    }
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
