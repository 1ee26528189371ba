package dev.ferry.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Turns bytes (after the connection preface) into {@link Frame}s.
 *
 * <p>Every rule that can be checked from the 16-byte header is checked before a single payload byte
 * is waited for: a frame over {@code maxFrameSize} is rejected from its header, so the decoder never
 * buffers more than the limit. Payloads are retained slices of the received bytes, not copies.
 * Extension frames (types 0x80-0xFF) are skipped as their bytes arrive.
 *
 * <p>With a frame read timeout, a frame whose first byte has arrived must be complete (header and
 * payload, or the skipped extension frame) within that much reading time, however steadily its bytes
 * trickle in: a peer that drips a frame a byte at a time (slowloris) is failed with
 * {@link ErrorCode#FRAME_TIMEOUT}. Heartbeat reader-idle cannot catch that peer, since it keeps
 * sending something. Only time in which this side was reading counts: while reading is paused
 * ({@link #pauseReadingForBackPressure}), the peer's bytes wait in the socket through no fault of its
 * own, so the clock stops. One timer per connection is armed only while a frame is incomplete.
 *
 * <p>With an {@link InboundBudget}, each frame's whole length is reserved from it as soon as the
 * header has arrived, before any payload is buffered; the buffer that collects the frame is then sized
 * for it once, not grown step by step. When the budget has no room, the decoder stops reading the
 * connection (its bytes wait in the socket, and the frame clock stands still) until the budget says
 * there may be room. A frame's reservation is given back once the frame has been passed on down the
 * pipeline; a handler that keeps a frame beyond that reserves its own (see {@link InboundBudget}).
 *
 * <p>This decoder owns the connection's {@code autoRead}: whoever wants reading paused asks it, so that
 * its frame clock knows. (A fatal error stops reading for good, outside of it.)
 *
 * <p>On a violation it throws {@link ProtocolException} and discards everything the peer sends after
 * it; the pipeline's error handling sends ERROR and closes the connection. Stateful: one instance per
 * connection. Runs on the channel's event loop.
 *
 * <pre>
 *   PrefaceDecoder → FrameDecoder → HandshakeHandler → ... (inbound)
 * </pre>
 */
public final class FrameDecoder extends ByteToMessageDecoder {
  private final int maxFrameSize;
  private final int maxMetadataSize;
  private static final int PAUSED_BY_BACK_PRESSURE = 1;
  private static final int PAUSED_FOR_MEMORY = 2;
  /** Frames up to this size are collected the usual way: the exact-size buffer pays off for large ones. */
  private static final int EXACT_CUMULATION_THRESHOLD = 64 * 1024;

  private final long frameReadTimeoutNanos; // 0 = no limit
  private final InboundBudget budget; // null = none
  private final Runnable roomMayBeAvailable = this::roomMayBeAvailable; // made once: every frame passes it
  private int reserved; // bytes reserved for the frame whose header was read, not yet passed on
  private long passedOn; // reservations of frames emitted, given back once the pipeline has them
  private int cumulationTarget; // bytes the frame being collected needs from the reader index, or 0
  private boolean retrying; // decoding again because the budget may have room
  private ChannelHandlerContext ctx;
  private boolean expectSettings;
  private int readPauses; // PAUSED_* bits: reading is on when none is set
  private final FrameReadClock clock = new FrameReadClock();
  private ScheduledFuture<?> frameTimer;
  private long skipRemaining;
  private boolean failed;

  /**
   * A decoder for the frames of a connection whose preface has been read: the first frame must be
   * SETTINGS; frames may be up to {@code maxFrameSize} bytes, header included, with call headers of
   * up to {@code maxMetadataSize} bytes.
   */
  public FrameDecoder(int maxFrameSize, int maxMetadataSize) {
    this(maxFrameSize, maxMetadataSize, 0);
  }

  /**
   * As {@link #FrameDecoder(int, int)}, failing a frame not complete {@code frameReadTimeoutMillis}
   * after its first byte arrived with {@link ErrorCode#FRAME_TIMEOUT}; 0 = no limit.
   */
  public FrameDecoder(int maxFrameSize, int maxMetadataSize, long frameReadTimeoutMillis) {
    this(maxFrameSize, maxMetadataSize, true, frameReadTimeoutMillis, null);
  }

  /**
   * As {@link #FrameDecoder(int, int, long)}, reserving each frame from {@code budget} before
   * buffering it (see {@link InboundBudget}); {@code budget} may be null.
   */
  public FrameDecoder(int maxFrameSize, int maxMetadataSize, long frameReadTimeoutMillis, InboundBudget budget) {
    this(maxFrameSize, maxMetadataSize, true, frameReadTimeoutMillis, budget);
  }

  /** A decoder for a stream of frames that need not start with SETTINGS, with no metadata limit (tests, tools). */
  public FrameDecoder(int maxFrameSize) {
    this(maxFrameSize, Integer.MAX_VALUE, false, 0, null);
  }

  /** Stops decoding: whatever the peer sent after this point is discarded. Event loop. */
  public void discardFurtherInput() {
    failed = true;
    releaseReserved();
  }

  /** Whether reading is paused until the inbound budget has room for the next frame. Event loop. */
  public boolean isWaitingForMemory() {
    return (readPauses & PAUSED_FOR_MEMORY) != 0;
  }

  /**
   * Pauses reading from the connection (true) because the peer is slow to read what this side sends,
   * or resumes it (false). While reading is paused the frame read timer stands still. Event loop.
   */
  public void pauseReadingForBackPressure(boolean pause) {
    setPaused(PAUSED_BY_BACK_PRESSURE, pause);
  }

  /** Whether reading is paused, for any reason. Event loop. */
  public boolean isReadingPaused() {
    return readPauses != 0;
  }

  private void setPaused(int reason, boolean pause) {
    int before = readPauses;
    readPauses = pause ? before | reason : before & ~reason;
    if ((before == 0) == (readPauses == 0) || ctx == null || failed) {
      return;
    }
    long now = ctx.executor().ticker().nanoTime();
    if (readPauses != 0) {
      clock.pause(now);
    } else {
      clock.resume(now);
      armFrameTimer();
    }
    ctx.channel().config().setAutoRead(readPauses == 0);
  }

  /** Whether the next frame must be SETTINGS (true for a new connection); for tools that decode mid-stream. */
  public void expectSettingsFirst(boolean expect) {
    this.expectSettings = expect;
  }

  private FrameDecoder(int maxFrameSize, int maxMetadataSize, boolean expectSettings, long frameReadTimeoutMillis,
      InboundBudget budget) {
    if (maxFrameSize < Frame.HEADER_SIZE) {
      throw new IllegalArgumentException("maxFrameSize: " + maxFrameSize + " (expected: >= 16)");
    }
    if (maxMetadataSize < 0) {
      throw new IllegalArgumentException("maxMetadataSize: " + maxMetadataSize + " (expected: >= 0)");
    }
    if (frameReadTimeoutMillis < 0) {
      throw new IllegalArgumentException("frameReadTimeoutMillis: " + frameReadTimeoutMillis + " (expected: >= 0)");
    }
    this.frameReadTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(frameReadTimeoutMillis);
    this.maxFrameSize = maxFrameSize;
    this.maxMetadataSize = maxMetadataSize;
    this.expectSettings = expectSettings;
    this.budget = budget;
    if (budget != null) {
      setCumulator(this::cumulate);
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    givePassedOnBack(); // the frames emitted before this call have been passed on
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (skipRemaining > 0) {
      skip(in);
      return;
    }
    if (in.readableBytes() < Frame.HEADER_SIZE) {
      return;
    }
    int at = in.readerIndex();
    long length = in.getUnsignedInt(at);
    int typeCode = in.getUnsignedByte(at + 4);
    int flags = in.getUnsignedByte(at + 5);
    long requestId = in.getUnsignedInt(at + 8);
    long metaLength = in.getUnsignedInt(at + 12);

    if (length < Frame.HEADER_SIZE) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR,
          "frame length " + length + " is shorter than the 16-byte header");
    }
    if (length > maxFrameSize) {
      throw fail(in, ErrorCode.FRAME_TOO_LARGE,
          "frame length " + length + " exceeds the maximum frame size " + maxFrameSize);
    }
    FrameType type = FrameType.forCode(typeCode);
    if (expectSettings) {
      // ERROR may stand in for SETTINGS: a peer refusing the connection says why and closes.
      if (type != FrameType.SETTINGS && type != FrameType.ERROR) {
        throw fail(in, ErrorCode.PROTOCOL_ERROR, "expected SETTINGS as the peer's first frame, got "
            + (type != null ? type : "type 0x" + Integer.toHexString(typeCode)));
      }
      expectSettings = false;
    }
    if (type == null) {
      if (FrameType.isExtension(typeCode)) {
        skipRemaining = length;
        skip(in);
        return;
      }
      throw fail(in, ErrorCode.PROTOCOL_ERROR, FrameType.isReservedForStreaming(typeCode)
          ? "frame type 0x" + Integer.toHexString(typeCode) + " is reserved for later streaming frames"
          : "unknown frame type 0x" + Integer.toHexString(typeCode));
    }
    long payloadLength = length - Frame.HEADER_SIZE;
    String violation = FrameRules.headerViolation(type, flags, requestId, metaLength, payloadLength,
        maxMetadataSize);
    if (violation != null) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR, violation);
    }
    if (budget != null && reserved == 0 && !reserve((int) length)) {
      return; // reading paused; the budget calls back when there may be room
    }
    if (in.readableBytes() < length) {
      if (length > EXACT_CUMULATION_THRESHOLD) {
        cumulationTarget = (int) length;
      }
      return;
    }
    cumulationTarget = 0;
    ProtocolException bad = FrameRules.payloadViolation(in, type, at + Frame.HEADER_SIZE, (int) payloadLength);
    if (bad != null) {
      throw fail(in, bad.errorCode(), bad.getMessage());
    }
    in.skipBytes(Frame.HEADER_SIZE);
    if (payloadLength == 0) {
      out.add(new Frame(type, flags, (int) requestId, (int) metaLength, Unpooled.EMPTY_BUFFER));
    } else {
      // The frame holds a reference to the collected bytes and describes where its payload lies in
      // them: no slice per frame (as readRetainedSlice would make).
      int payloadAt = in.readerIndex();
      in.skipBytes((int) payloadLength);
      out.add(new Frame(type, flags, (int) requestId, (int) metaLength, in.retain(), payloadAt, (int) payloadLength));
    }
    clock.frameEnded();
    passedOn += reserved;
    reserved = 0;
  }

  /**
   * Reserves the frame whose header was read, or pauses reading until the budget may have room. While
   * paused, only a retry asks again: one request for a wake-up at a time.
   */
  private boolean reserve(int length) {
    if (isWaitingForMemory() && !retrying) {
      return false;
    }
    if (!budget.tryReserve(length, roomMayBeAvailable)) {
      setPaused(PAUSED_FOR_MEMORY, true);
      return false;
    }
    reserved = length;
    if (isWaitingForMemory()) {
      setPaused(PAUSED_FOR_MEMORY, false);
    }
    return true;
  }

  /** From the budget, on any thread. */
  private void roomMayBeAvailable() {
    ChannelHandlerContext c = ctx;
    if (c != null) {
      try {
        c.executor().execute(this::retryReserve);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // The event loop is gone, and the connection with it.
      }
    }
  }

  /** Decodes what is buffered again: the frame waiting for memory asks for its reservation once more. */
  private void retryReserve() {
    if (!isWaitingForMemory() || failed || ctx.isRemoved() || !ctx.channel().isActive()) {
      return;
    }
    retrying = true;
    try {
      channelRead(ctx, Unpooled.EMPTY_BUFFER);
      channelReadComplete(ctx);
    } catch (Exception e) {
      ctx.fireExceptionCaught(e);
    } finally {
      retrying = false;
    }
  }

  private void givePassedOnBack() {
    if (passedOn > 0) {
      long n = passedOn;
      passedOn = 0;
      budget.release((int) n);
    }
  }

  /** Gives back every reservation: the frame in progress will not be passed on. */
  private void releaseReserved() {
    if (reserved > 0) {
      int n = reserved;
      reserved = 0;
      budget.release(n);
    }
    cumulationTarget = 0;
  }

  /**
   * Collects received bytes as Netty's default does, except that the buffer collecting a large frame
   * whose header has been read is allocated once at the frame's exact size: growing it by doubling would
   * copy it several times and hold up to twice its size, more than was reserved for it.
   */
  private ByteBuf cumulate(io.netty.buffer.ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
    int target = cumulationTarget;
    if (target > 0 && cumulation != in && cumulation.isReadable()
        && cumulation.readerIndex() + target > cumulation.capacity()) {
      int size = Math.max(target, cumulation.readableBytes() + in.readableBytes());
      ByteBuf exact = alloc.buffer(size);
      exact.writeBytes(cumulation, cumulation.readerIndex(), cumulation.readableBytes());
      cumulation.release();
      cumulation = exact;
    }
    return MERGE_CUMULATOR.cumulate(alloc, cumulation, in);
  }
  /** Skips what is here of the extension frame being skipped. */
  private void skip(ByteBuf in) {
    int n = (int) Math.min(skipRemaining, in.readableBytes());
    in.skipBytes(n);
    skipRemaining -= n;
    if (skipRemaining == 0) {
      clock.frameEnded();
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    super.channelRead(ctx, msg);
    if (budget != null) {
      givePassedOnBack();
    }
    if (frameReadTimeoutNanos > 0 && !failed) {
      clock.afterRead(actualReadableBytes() > 0 || skipRemaining > 0, ctx.executor().ticker().nanoTime());
      armFrameTimer();
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    if (isWaitingForMemory()) {
      // Not Netty's: with reading off and no frame out of this read, it would read again, and again,
      // piling the peer's bytes up behind the frame that waits for memory.
      discardSomeReadBytes();
      ctx.fireChannelReadComplete();
      return;
    }
    super.channelReadComplete(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    try {
      super.channelInactive(ctx);
    } finally {
      if (budget != null) {
        givePassedOnBack();
        releaseReserved();
      }
    }
  }

  private void armFrameTimer() {
    if (frameTimer == null && clock.running() && frameReadTimeoutNanos > 0) {
      long left = frameReadTimeoutNanos - clock.elapsed(ctx.executor().ticker().nanoTime());
      frameTimer = ctx.executor().schedule(this::checkFrameTimeout, Math.max(0, left), TimeUnit.NANOSECONDS);
    }
  }

  /** The timer fired: fail the frame in progress if it took too long, else wait for the time it has left. */
  private void checkFrameTimeout() {
    frameTimer = null;
    if (failed || !clock.running() || !ctx.channel().isActive()) {
      return; // re-armed when reading resumes, or by the next read that leaves a frame incomplete
    }
    long elapsed = clock.elapsed(ctx.executor().ticker().nanoTime());
    if (elapsed < frameReadTimeoutNanos) {
      armFrameTimer();
      return;
    }
    failed = true;
    String progress = describeProgress();
    ctx.fireExceptionCaught(new ProtocolException(ErrorCode.FRAME_TIMEOUT, "frame not complete after "
        + TimeUnit.NANOSECONDS.toMillis(elapsed) + " ms of reading since its first byte arrived (" + progress
        + "; frame read timeout " + TimeUnit.NANOSECONDS.toMillis(frameReadTimeoutNanos)
        + " ms; time with reading paused does not count)"));
  }

  private String describeProgress() {
    if (skipRemaining > 0) {
      return "extension frame with " + skipRemaining + " bytes still to come";
    }
    ByteBuf in = internalBuffer();
    int have = in.readableBytes();
    return have < Frame.HEADER_SIZE
        ? have + " of its 16 header bytes received"
        : have + " of its " + in.getUnsignedInt(in.readerIndex()) + " bytes received";
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    if (frameTimer != null) {
      frameTimer.cancel(false);
      frameTimer = null;
    }
    if (budget != null) {
      givePassedOnBack();
      releaseReserved();
    }
  }

  private ProtocolException fail(ByteBuf in, ErrorCode code, String message) {
    failed = true;
    if (budget != null) {
      releaseReserved();
    }
    in.skipBytes(in.readableBytes());
    return new ProtocolException(code, message);
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    // Complete frames were decoded before this is called; whatever is left is a partial frame.
    if (!failed && (in.isReadable() || skipRemaining > 0)) {
      failed = true;
      int partial = in.readableBytes();
      in.skipBytes(partial);
      throw new ProtocolException.Truncated(
          "connection closed in the middle of a frame (" + partial + " bytes of it received)");
    }
  }
}
