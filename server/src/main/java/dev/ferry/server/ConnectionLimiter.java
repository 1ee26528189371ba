package dev.ferry.server;

import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.LogAggregator;
import dev.ferry.internal.Preface;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Counts a server's open connections and refuses those over {@code maxConnections}: the refused peer
 * gets the preface and ERROR({@code REFUSED}) in place of SETTINGS (PROTOCOL.md sections 5 and 11), so
 * a Ferry client reports a failed connection attempt with the reason instead of waiting. Refusals are
 * logged at WARN, aggregated ({@link LogAggregator}): the first in full, then a count per second while
 * they go on.
 *
 * <p>Thread-safe: {@link #admit} runs on the event loops of new connections.
 */
final class ConnectionLimiter {
  private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);
  /** How long a refused connection is kept to read (and drop) what the client sent before closing. */
  static final long REFUSED_LINGER_MILLIS = 1_000;

  private final int maxConnections;
  private final AtomicInteger open = new AtomicInteger();
  private final LogAggregator refusals = LogAggregator.create(log, Level.WARN, "connections refused (maxConnections)");

  ConnectionLimiter(int maxConnections) {
    this.maxConnections = maxConnections;
  }

  /**
   * Counts {@code ch} until it closes and returns true; or, at the limit, refuses it (preface,
   * ERROR(REFUSED), close) and returns false, leaving its pipeline to this class.
   */
  boolean admit(Channel ch) {
    if (open.incrementAndGet() <= maxConnections) {
      ch.closeFuture().addListener(f -> open.decrementAndGet());
      return true;
    }
    open.decrementAndGet();
    String reason = "server at its limit of " + maxConnections + " connections (maxConnections)";
    refusals.log("Refused connection from {}: {}", dev.ferry.internal.Addresses.describe(ch.remoteAddress()), reason);
    refuse(ch, reason);
    return false;
  }

  /** The connections admitted and not yet closed. */
  int openConnections() {
    return open.get();
  }

  /**
   * Writes the preface and ERROR, then half-closes: the client reads the reason and closes its side,
   * and what it sent meanwhile is read and dropped. Closing outright with its preface unread would
   * send a reset, which can make the client's kernel discard the ERROR before it is read.
   *
   * <p>Over TLS the refusal is written once the handshake is done, so that no buffer waits inside the
   * SslHandler for a handshake that may never finish (one was leaked there, once, on a loaded machine);
   * a handshake that fails or times out closes the connection itself.
   */
  private static void refuse(Channel ch, String reason) {
    ch.pipeline().addLast(new FrameEncoder(), new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
      }
    });
    // Counted from the refusal, not from its sending: a TLS peer that never finishes its handshake is
    // closed as soon as one that reads nothing.
    ch.eventLoop().schedule(() -> ch.close(), REFUSED_LINGER_MILLIS, TimeUnit.MILLISECONDS);
    SslHandler tls = ch.pipeline().get(SslHandler.class);
    if (tls == null || tls.handshakeFuture().isDone()) {
      sendRefusal(ch, reason);
    } else {
      tls.handshakeFuture().addListener(f -> {
        if (f.isSuccess()) {
          sendRefusal(ch, reason);
        }
      });
    }
  }

  private static void sendRefusal(Channel ch, String reason) {
    ch.write(Preface.encode(ch.alloc()));
    ch.writeAndFlush(Frame.error(ch.alloc(), ErrorCode.REFUSED, reason)).addListener(f -> {
      if (f.isSuccess() && ch instanceof DuplexChannel) {
        ((DuplexChannel) ch).shutdownOutput();
      } else {
        ch.close();
      }
    });
  }
}
