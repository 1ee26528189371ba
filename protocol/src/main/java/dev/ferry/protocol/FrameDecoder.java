package dev.ferry.protocol;

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
 * payload, or the skipped extension frame) within that time, however steadily its bytes trickle in:
 * a peer that drips a frame a byte at a time (slowloris) is failed with
 * {@link ErrorCode#FRAME_TIMEOUT}. Heartbeat reader-idle cannot catch that peer, since it keeps
 * sending something. One timer per connection is armed only while a frame is incomplete.
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
  private final long frameReadTimeoutNanos; // 0 = no limit
  private boolean expectSettings;
  private boolean frameInProgress; // a frame's first bytes have arrived, its last not yet
  private long frameStartNanos;
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
    this(maxFrameSize, maxMetadataSize, true, frameReadTimeoutMillis);
  }

  /** A decoder for a stream of frames that need not start with SETTINGS, with no metadata limit (tests, tools). */
  public FrameDecoder(int maxFrameSize) {
    this(maxFrameSize, Integer.MAX_VALUE, false, 0);
  }

  /** Stops decoding: whatever the peer sent after this point is discarded. Event loop. */
  public void discardFurtherInput() {
    failed = true;
  }

  /** Whether the next frame must be SETTINGS (true for a new connection); for tools that decode mid-stream. */
  public void expectSettingsFirst(boolean expect) {
    this.expectSettings = expect;
  }

  private FrameDecoder(int maxFrameSize, int maxMetadataSize, boolean expectSettings, long frameReadTimeoutMillis) {
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
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (skipRemaining > 0) {
      int n = (int) Math.min(skipRemaining, in.readableBytes());
      in.skipBytes(n);
      skipRemaining -= n;
      if (skipRemaining == 0) {
        frameInProgress = false;
      }
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
        int n = (int) Math.min(skipRemaining, in.readableBytes());
        in.skipBytes(n);
        skipRemaining -= n;
        frameInProgress = skipRemaining > 0;
        return;
      }
      throw fail(in, ErrorCode.PROTOCOL_ERROR, FrameType.isReservedForStreaming(typeCode)
          ? "frame type 0x" + Integer.toHexString(typeCode) + " is reserved for streaming, not in version 1"
          : "unknown frame type 0x" + Integer.toHexString(typeCode));
    }
    long payloadLength = length - Frame.HEADER_SIZE;
    checkHeader(in, type, requestId, metaLength, payloadLength);

    if (in.readableBytes() < length) {
      return;
    }
    checkPayloadContent(in, type, at + Frame.HEADER_SIZE, (int) payloadLength);
    in.skipBytes(Frame.HEADER_SIZE);
    ByteBuf payload = payloadLength == 0 ? Unpooled.EMPTY_BUFFER : in.readRetainedSlice((int) payloadLength);
    out.add(new Frame(type, flags, (int) requestId, (int) metaLength, payload));
    frameInProgress = false;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    super.channelRead(ctx, msg);
    if (frameReadTimeoutNanos > 0 && !failed) {
      trackFrameStart(ctx);
    }
  }

  /** After a read: notes when a frame started arriving, arming the timer if it is not armed. */
  private void trackFrameStart(ChannelHandlerContext ctx) {
    boolean incomplete = actualReadableBytes() > 0 || skipRemaining > 0;
    if (!incomplete) {
      frameInProgress = false;
      return;
    }
    if (!frameInProgress) {
      frameInProgress = true;
      frameStartNanos = ctx.executor().ticker().nanoTime();
    }
    if (frameTimer == null) {
      frameTimer = ctx.executor().schedule(() -> checkFrameTimeout(ctx), frameReadTimeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  /** The timer fired: fail the frame in progress if it is too old, else wait for the time it has left. */
  private void checkFrameTimeout(ChannelHandlerContext ctx) {
    frameTimer = null;
    if (failed || !frameInProgress || !ctx.channel().isActive()) {
      return; // re-armed by the next read that leaves a frame incomplete
    }
    long elapsed = ctx.executor().ticker().nanoTime() - frameStartNanos;
    if (elapsed < frameReadTimeoutNanos) {
      frameTimer = ctx.executor().schedule(() -> checkFrameTimeout(ctx), frameReadTimeoutNanos - elapsed,
          TimeUnit.NANOSECONDS);
      return;
    }
    failed = true;
    String progress = describeProgress();
    ctx.fireExceptionCaught(new ProtocolException(ErrorCode.FRAME_TIMEOUT, "frame not complete "
        + TimeUnit.NANOSECONDS.toMillis(elapsed) + " ms after its first byte arrived (" + progress
        + "; frame read timeout " + TimeUnit.NANOSECONDS.toMillis(frameReadTimeoutNanos) + " ms)"));
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
  }

  private void checkHeader(ByteBuf in, FrameType type, long requestId, long metaLength, long payloadLength) {
    if (requestId > Frame.MAX_REQUEST_ID) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR, type + " frame with request id " + requestId
          + " (the top bit is reserved)");
    }
    if (type.isCallFrame() && requestId == 0) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR, type + " frame with request id 0 (expected: >= 1)");
    }
    if (!type.isCallFrame() && requestId != 0) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR,
          type + " frame with request id " + requestId + " (expected: 0 for connection frames)");
    }
    if (metaLength > payloadLength) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR, type + " frame header length " + metaLength
          + " exceeds its payload of " + payloadLength + " bytes");
    }
    if (metaLength > maxMetadataSize) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR, type + " frame with a call header of " + metaLength
          + " bytes exceeds the maximum metadata size " + maxMetadataSize);
    }
    if (!type.hasCallHeader() && metaLength != 0) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR, type + " frame with header length " + metaLength
          + " (expected: 0)");
    }
    switch (type) {
      case CANCEL:
        checkPayload(in, type, payloadLength, payloadLength == 0, "0 bytes");
        break;
      case PING:
      case PONG:
        checkPayload(in, type, payloadLength, payloadLength == 8, "8 bytes");
        break;
      case GOAWAY:
        checkPayload(in, type, payloadLength, payloadLength >= 8, "at least 8 bytes");
        break;
      case ERROR:
        checkPayload(in, type, payloadLength, payloadLength >= 4, "at least 4 bytes");
        break;
      case SETTINGS:
        checkPayload(in, type, payloadLength, payloadLength % 6 == 0, "a multiple of 6 bytes");
        break;
      default:
        break;
    }
  }

  /** Checks what can only be checked once the whole payload is here: SETTINGS values, GOAWAY's id. */
  private void checkPayloadContent(ByteBuf in, FrameType type, int payloadAt, int payloadLength) {
    if (type == FrameType.SETTINGS) {
      try {
        Settings.decode(in.slice(payloadAt, payloadLength));
      } catch (ProtocolException e) {
        throw fail(in, e.errorCode(), e.getMessage());
      }
    } else if (type == FrameType.GOAWAY) {
      long lastId = in.getUnsignedInt(payloadAt);
      if (lastId > Frame.MAX_REQUEST_ID) {
        throw fail(in, ErrorCode.PROTOCOL_ERROR,
            "GOAWAY with last request id " + lastId + " (the top bit is reserved)");
      }
    }
  }

  private void checkPayload(ByteBuf in, FrameType type, long payloadLength, boolean ok, String expected) {
    if (!ok) {
      throw fail(in, ErrorCode.PROTOCOL_ERROR,
          type + " payload of " + payloadLength + " bytes (expected: " + expected + ")");
    }
  }

  private ProtocolException fail(ByteBuf in, ErrorCode code, String message) {
    failed = true;
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
