package dev.ferry.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

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
 * {@link Addresses#describe} does.
 *
 * <p>Every line about what a peer did is aggregated by kind ({@link LogAggregator}): a flood of hostile
 * connections writes the first in full and then a count per second, the rest at DEBUG. Connections a
 * server accepted and connections a client opened are counted apart, so that an attack on a server
 * cannot hide its own client's problems in the same process. Stateless apart from those counts, and
 * {@link Sharable}.
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

  /** Per kind of line, for one side's connections. */
  private static final class Kinds {
    final Map<ErrorCode, LogAggregator> violations = new EnumMap<>(ErrorCode.class);
    final LogAggregator notFerry = kind(Level.INFO, "connections from peers that do not speak Ferry closed");
    final LogAggregator peerErrors = kind(Level.WARN, "connections failed by the peer with ERROR");
    final LogAggregator heartbeatTimeouts = kind(Level.WARN, "connections closed by the heartbeat timeout");
    final LogAggregator tlsFailures = kind(Level.WARN, "connections closed after a failed TLS handshake");
    final LogAggregator notTls = kind(Level.INFO, "connections closed for not speaking TLS");
    final LogAggregator writeTimeouts = kind(Level.WARN,
        "connections closed because the peer acknowledged nothing for too long");

    Kinds() {
      for (ErrorCode code : ErrorCode.values()) {
        violations.put(code, kind(Level.WARN, "connections closed for " + code));
      }
    }

    private static LogAggregator kind(Level level, String what) {
      return LogAggregator.create(log, level, what);
    }
  }

  private static final Kinds ACCEPTED = new Kinds();
  private static final Kinds CONNECTED = new Kinds();

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
    // A server's connections have a parent (the listening channel); a client's do not.
    Kinds logs = ctx.channel().parent() != null ? ACCEPTED : CONNECTED;
    javax.net.ssl.SSLException tls = TlsSupport.tlsFailure(cause);
    if (tls != null) {
      if (reported) {
        log.debug("Closing connection with {}: {}", peer, TlsSupport.describe(tls, ctx.channel()));
      } else {
        LogAggregator kind = tls instanceof io.netty.handler.ssl.NotSslRecordException ? logs.notTls : logs.tlsFailures;
        kind.log("Closing connection with {}: {}", peer, TlsSupport.describe(tls, ctx.channel()));
      }
    } else if (c instanceof ProtocolException) {
      ProtocolException pe = (ProtocolException) c;
      if (pe instanceof ProtocolException.NotFerryPeer) {
        if (reported) {
          log.debug("Closing connection from {}: {}", peer, pe.getMessage());
        } else {
          logs.notFerry.log("Closing connection from {}: {}", peer, pe.getMessage());
        }
      } else if (pe instanceof ProtocolException.Truncated) {
        log.debug("Connection to {} ended: {}", peer, pe.getMessage());
      } else if (reported) {
        log.debug("Closing connection to {}: {} ({})", peer, pe.getMessage(), pe.errorCode());
      } else if (pe instanceof ProtocolException.PeerError) {
        logs.peerErrors.log("Connection to {} failed: {}", peer, pe.getMessage());
      } else {
        logs.violations.get(pe.errorCode()).log("Closing connection to {}: {} ({})", peer, pe.getMessage(),
            pe.errorCode());
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
        logs.heartbeatTimeouts.log("Closing connection: {}", c.getMessage());
      }
    } else if (c instanceof IOException && String.valueOf(c.getMessage()).contains("timed out")) {
      // The kernel gave up on unacknowledged data (TCP_USER_TIMEOUT, retransmissions): the peer is gone, or
      // it has stopped reading and its receive window stayed shut. Each write still queued reports the
      // same failure; one line is enough.
      if (!reported && ctx.channel().attr(TIMEOUT_LOGGED).setIfAbsent(Boolean.TRUE) == null) {
        logs.writeTimeouts.log("Closing connection to {}: the peer acknowledged nothing we sent for too long: it "
            + "is gone or not reading ({})", peer, c.getMessage());
      }
    } else if (c instanceof IOException) {
      log.debug("Closing connection to {} after I/O error: {}", peer, c.toString());
    } else {
      log.error("Closing connection to {} after an unexpected error", peer, c);
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
