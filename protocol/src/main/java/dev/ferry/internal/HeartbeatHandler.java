package dev.ferry.internal;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a quiet connection provably alive and declares a silent peer dead (PROTOCOL.md, "Heartbeats").
 *
 * <ul>
 *   <li>Once the handshake completes it installs an {@link IdleStateHandler} at the head of the
 *       pipeline, so that any bytes read count as liveness, even part of a large frame.
 *   <li><b>Writer idle</b> (this side wrote nothing for the interval): send PING. A busy connection
 *       never goes writer-idle and so sends no PINGs. The interval is raised to the peer's
 *       MIN_PING_INTERVAL_MS when that is longer, so the peer never sees us ping too often.
 *   <li><b>Reader idle</b> (nothing read for the timeout): the peer is dead. The timeout is at least
 *       twice the longest gap a live peer may leave on an idle connection (the shorter of our PING
 *       interval, which it must PONG, and its own announced interval); when neither side pings there is
 *       no timeout, since silence would prove nothing. On epoll, TCP_USER_TIMEOUT is set to the same
 *       value, so unacknowledged writes cannot hide a half-open link from it either. Fires
 *       {@link HeartbeatTimeoutException}; the pipeline's error handling closes the connection and the
 *       side's handler fails its calls. It never pings in response: a silent peer is closed, not probed.
 *       While reading is paused because the peer is slow to read (the channel is not writable), the
 *       timeout only applies if none of what this side sent drained during it; the exception then says
 *       the peer is not reading. While reading is paused until there is memory for the peer's next frame
 *       ({@link FrameDecoder#isWaitingForMemory()}), the silence is this side's and does not count.
 *   <li>PING from the peer: answer PONG at once. PONG: nothing beyond the liveness it proves. PINGs
 *       that keep arriving well under this side's MIN_PING_INTERVAL_MS fire {@link TooManyPingsEvent}.
 * </ul>
 *
 * <p>Stateful: one per connection. Runs on the channel's event loop.
 */
public final class HeartbeatHandler extends ChannelDuplexHandler {
  private static final int STRIKES_BEFORE_EVENT = 3;

  private final long intervalMillis;
  private final long timeoutMillis;
  private final long minPingIntervalMillis;
  private long effectiveIntervalMillis;
  private long effectiveTimeoutMillis;
  private String adjustment; // why the values in use differ from those configured; null if they do not
  private String timeoutNote = "heartbeat timeout";
  private long pingsSent;
  private long pongsReceived;
  private long pingsReceived;
  private long lastPingReceivedNanos;
  private int strikes;
  private Object outputHead; // the outbound buffer's head message when last looked at, for outputMoved
  private long outputProgress;

  /**
   * @param intervalMillis PING after this long without writing; 0 = send no heartbeats
   * @param timeoutMillis declare the peer dead after this long without reading; 0 = never
   * @param minPingIntervalMillis the shortest PING interval tolerated from the peer (announced in
   *     SETTINGS); 0 = any
   */
  public HeartbeatHandler(long intervalMillis, long timeoutMillis, long minPingIntervalMillis) {
    if (intervalMillis < 0 || timeoutMillis < 0 || minPingIntervalMillis < 0) {
      throw new IllegalArgumentException("heartbeat times must be >= 0: interval=" + intervalMillis
          + ", timeout=" + timeoutMillis + ", minPingInterval=" + minPingIntervalMillis);
    }
    this.intervalMillis = intervalMillis;
    this.timeoutMillis = timeoutMillis;
    this.minPingIntervalMillis = minPingIntervalMillis;
  }

  /** The interval in use after the handshake (ours, or the peer's minimum if longer); 0 before it. */
  public long effectiveIntervalMillis() {
    return effectiveIntervalMillis;
  }

  /** PINGs this side has sent. */
  public long pingsSent() {
    return pingsSent;
  }

  /** PONGs this side has received. */
  public long pongsReceived() {
    return pongsReceived;
  }

  /** PINGs this side has received (and answered). */
  public long pingsReceived() {
    return pingsReceived;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof HandshakeCompleted) {
      start(ctx, ((HandshakeCompleted) evt).remote());
    } else if (evt instanceof IdleStateEvent) {
      onIdle(ctx, (IdleStateEvent) evt);
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  private void start(ChannelHandlerContext ctx, Settings remote) {
    effectiveIntervalMillis = intervalMillis == 0 ? 0 : Math.max(intervalMillis, remote.minPingIntervalMillis());
    // How often a live peer is bound to send something on an idle connection: the PONG to our PING, or
    // its own PING. Without either, silence proves nothing, and no timeout applies.
    // The peer pings at its announced interval raised to our own minimum (it adapts to it as we do).
    long peerInterval = remote.heartbeatIntervalMillis() == 0
        ? 0 : Math.max(remote.heartbeatIntervalMillis(), minPingIntervalMillis);
    long guaranteedGap = minPositive(effectiveIntervalMillis, peerInterval);
    effectiveTimeoutMillis = timeoutMillis == 0 || guaranteedGap == 0 ? 0 : Math.max(timeoutMillis, 2 * guaranteedGap);
    adjustment = describeAdjustment(remote, guaranteedGap);
    if (timeoutMillis != 0 && effectiveTimeoutMillis > timeoutMillis) {
      timeoutNote = "heartbeat timeout, raised from the configured " + timeoutMillis + " ms to twice the "
          + guaranteedGap + " ms a live peer may stay quiet";
    }
    if (effectiveIntervalMillis == 0 && effectiveTimeoutMillis == 0) {
      return;
    }
    ctx.pipeline().addFirst("heartbeat-idle",
        new IdleStateHandler(effectiveTimeoutMillis, effectiveIntervalMillis, 0, TimeUnit.MILLISECONDS));
    Transports.setUserTimeout(ctx.channel(), effectiveTimeoutMillis);
  }

  /** Why the interval or timeout in use differs from the configured one; null when neither does. */
  private String describeAdjustment(Settings remote, long guaranteedGap) {
    StringBuilder why = new StringBuilder();
    if (intervalMillis != 0 && effectiveIntervalMillis != intervalMillis) {
      why.append("PING interval ").append(intervalMillis).append(" ms -> ").append(effectiveIntervalMillis)
          .append(" ms, the peer's minimum PING interval (MIN_PING_INTERVAL_MS ")
          .append(remote.minPingIntervalMillis()).append(" ms)");
    }
    if (timeoutMillis != 0 && effectiveTimeoutMillis != timeoutMillis) {
      if (why.length() > 0) {
        why.append("; ");
      }
      why.append("dead-peer timeout ").append(timeoutMillis).append(" ms -> ");
      if (effectiveTimeoutMillis == 0) {
        why.append("none, since neither side sends PINGs (silence would prove nothing)");
      } else {
        why.append(effectiveTimeoutMillis).append(" ms, twice the longest a live peer may stay quiet on an ")
            .append("idle connection (").append(guaranteedGap).append(" ms), so that one late PONG is not a death");
      }
    }
    return why.length() == 0 ? null : why.toString();
  }

  private static long minPositive(long a, long b) {
    return a == 0 ? b : b == 0 ? a : Math.min(a, b);
  }

  /**
   * After the handshake: why the PING interval or dead-peer timeout in use differs from the one
   * configured (the peer's SETTINGS raised it), or null when both are as configured.
   */
  public String adjustment() {
    return adjustment;
  }

  /** The dead-peer timeout in use after the handshake; 0 = none. */
  public long effectiveTimeoutMillis() {
    return effectiveTimeoutMillis;
  }

  private void onIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
    switch (evt.state()) {
      case WRITER_IDLE:
        pingsSent++;
        ctx.writeAndFlush(Frame.ping(ctx.alloc(), ctx.executor().ticker().nanoTime()));
        break;
      case READER_IDLE:
        FrameDecoder decoder = ctx.pipeline().get(FrameDecoder.class);
        if (decoder != null && decoder.isWaitingForMemory()) {
          // We stopped reading until there is memory for the peer's next frame: its silence is ours.
          return;
        }
        if (!ctx.channel().isWritable()) {
          // Nothing was read because reading is paused while the peer is slow to read what we send (see
          // the side's handler). If our bytes still drain, it is alive and reading, slowly: wait on.
          if (outputMoved(ctx)) {
            return;
          }
          ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
          ctx.fireExceptionCaught(HeartbeatTimeoutException.notReading(ctx.channel().remoteAddress(),
              effectiveTimeoutMillis, out == null ? 0 : out.totalPendingWriteBytes(), timeoutNote));
        } else {
          ctx.fireExceptionCaught(
              new HeartbeatTimeoutException(ctx.channel().remoteAddress(), effectiveTimeoutMillis, timeoutNote));
        }
        break;
      default:
        break;
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!ctx.channel().isWritable()) {
      outputMoved(ctx); // where the backlog stands when it starts
    }
    ctx.fireChannelWritabilityChanged();
  }

  /**
   * Whether any of the bytes waiting to be sent went out since the last call: the message at the head of
   * the outbound buffer changed, or more of it was written (the same test as IdleStateHandler's
   * {@code observeOutput}).
   */
  private boolean outputMoved(ChannelHandlerContext ctx) {
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    if (out == null) {
      return false;
    }
    Object head = out.current();
    long progress = out.currentProgress();
    boolean moved = head != outputHead || progress != outputProgress;
    outputHead = head;
    outputProgress = progress;
    return moved;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Frame) {
      Frame frame = (Frame) msg;
      if (frame.type() == FrameType.PING) {
        long data = frame.pingData();
        frame.release();
        pingsReceived++;
        checkPingRate(ctx);
        ctx.writeAndFlush(Frame.pong(ctx.alloc(), data));
        return;
      }
      if (frame.type() == FrameType.PONG) {
        frame.release();
        pongsReceived++;
        return;
      }
    }
    ctx.fireChannelRead(msg);
  }

  private void checkPingRate(ChannelHandlerContext ctx) {
    long now = ctx.executor().ticker().nanoTime();
    long sinceLast = TimeUnit.NANOSECONDS.toMillis(now - lastPingReceivedNanos);
    boolean first = pingsReceived == 1;
    lastPingReceivedNanos = now;
    if (minPingIntervalMillis == 0 || first) {
      return;
    }
    // A strike for a PING at less than half the allowed interval: clocks and timers are not exact.
    if (sinceLast < minPingIntervalMillis / 2) {
      if (++strikes == STRIKES_BEFORE_EVENT) {
        ctx.fireUserEventTriggered(TooManyPingsEvent.INSTANCE);
      }
    } else {
      strikes = 0;
    }
  }
}
