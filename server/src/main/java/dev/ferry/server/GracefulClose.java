package dev.ferry.server;

import dev.ferry.internal.Addresses;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameDecoder;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's graceful close (PROTOCOL.md 15.1): GOAWAY with the highest request id admitted, a
 * forced close once the grace period is over, and, as soon as the calls it admitted are done, a
 * half-close: everything written goes out, then FIN, and from then on what the client sends is read
 * and discarded, never acted upon, until it closes its side (a Ferry client does as soon as it has
 * read the last response) or the grace period ends. Closing outright could meet requests still on
 * their way, and a socket closed with unread data sends a reset, which makes the client's kernel throw
 * away the responses and the GOAWAY it has not read yet.
 *
 * <p>Threads: the connection's event loop only.
 */
final class GracefulClose {
  private static final Logger log = LoggerFactory.getLogger(GracefulClose.class);

  private final Channel channel;
  private final FrameDecoder decoder;
  private final ServerListener listener;
  private final IntSupplier callsInFlight;
  private boolean goAwaySent;
  private boolean outputShutdown;
  private ScheduledFuture<?> forcedCloseTask;

  GracefulClose(Channel channel, FrameDecoder decoder, ServerListener listener, IntSupplier callsInFlight) {
    this.channel = channel;
    this.decoder = decoder;
    this.listener = listener;
    this.callsInFlight = callsInFlight;
  }

  /** Whether GOAWAY was sent: calls that arrive now are refused. */
  boolean goAwaySent() {
    return goAwaySent;
  }

  /** Whether this side half-closed: nothing more is written, and what arrives is not acted upon. */
  boolean outputShutdown() {
    return outputShutdown;
  }

  /**
   * Sends GOAWAY saying requests up to {@code lastRequestId} are processed, closes the connection
   * regardless after {@code graceNanos}, and half-closes at once if no call is in flight. Once.
   */
  void goAway(int lastRequestId, ErrorCode code, String reason, long graceNanos) {
    if (goAwaySent || !channel.isActive()) {
      return;
    }
    goAwaySent = true;
    listener.goAwaySent();
    log.debug("GOAWAY to {} (last request id {}, {}): {}", Addresses.describe(channel.remoteAddress()),
        lastRequestId, code, reason);
    channel.writeAndFlush(Frame.goAway(channel.alloc(), lastRequestId, code, reason));
    // Calls it admitted get the grace period to finish; then the connection closes regardless, so a call
    // without a deadline or a client that stopped reading cannot keep it open.
    forcedCloseTask = channel.eventLoop().schedule(() -> {
      if (channel.isActive()) {
        log.debug("Closing {} after GOAWAY: grace period over with {} calls in flight",
            Addresses.describe(channel.remoteAddress()), callsInFlight.getAsInt());
        channel.close();
      }
    }, graceNanos, TimeUnit.NANOSECONDS);
    closeIfDrained();
  }

  /** After GOAWAY, once no call is in flight: half-close (see the class comment). */
  void closeIfDrained() {
    if (goAwaySent && callsInFlight.getAsInt() == 0 && channel.isActive() && !outputShutdown) {
      outputShutdown = true;
      // From here on nothing the client sends is acted upon, not even a malformed frame: it is read
      // (unread bytes would make the close a reset) and discarded undecoded.
      decoder.discardFurtherInput();
      channel.config().setAutoRead(true);
      channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
        if (channel instanceof DuplexChannel) {
          ((DuplexChannel) channel).shutdownOutput();
        } else {
          channel.close();
        }
      });
    }
  }

  /** The connection closed: no forced close pending. */
  void stop() {
    if (forcedCloseTask != null) {
      forcedCloseTask.cancel(false);
      forcedCloseTask = null;
    }
  }
}
