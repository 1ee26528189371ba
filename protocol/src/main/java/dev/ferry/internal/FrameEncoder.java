package dev.ferry.internal;

import com.google.protobuf.MessageLite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import org.slf4j.LoggerFactory;

/**
 * Writes {@link Frame}s, {@link OutgoingCall}s ({@link CallFrame}s and calls that describe their own
 * frame) and {@link StreamFrame}s as bytes. Anything else (the
 * preface's raw bytes) passes through unchanged.
 *
 * <p>A call frame becomes one pooled buffer of exactly the frame's size: the header is written,
 * then the protobuf call header and body are serialised straight into it. A {@link Frame} with a
 * small payload is copied behind its header into one buffer; a large payload is not copied but
 * written behind the header as a second buffer, which the transport gathers into one write.
 *
 * <p>An encoding failure (a message that cannot be serialised) affects that frame only: nothing of it
 * has been written, so the connection stays in step. A REQUEST's write fails with
 * {@link EncodeException}; a RESPONSE is replaced by one with status INTERNAL, so the call is still
 * answered (and the failure is logged here). Stateless and
 * {@link Sharable}; runs on the channel's event loop.
 */
@Sharable
public final class FrameEncoder extends ChannelOutboundHandlerAdapter {
  /** The shared instance. */
  public static final FrameEncoder INSTANCE = new FrameEncoder();

  private static final int COPY_THRESHOLD = 1024;

  private FrameEncoder() {}

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof OutgoingCall) {
      writeCallFrame(ctx, (OutgoingCall) msg, promise);
    } else if (msg instanceof Frame) {
      writeFrame(ctx, (Frame) msg, promise);
    } else if (msg instanceof StreamFrame) {
      writeStreamFrame(ctx, (StreamFrame) msg, promise);
    } else {
      ctx.write(msg, promise);
    }
  }

  private static void writeCallFrame(ChannelHandlerContext ctx, OutgoingCall frame, ChannelPromise promise) {
    ByteBuf buf = encode(ctx, frame, promise);
    if (buf == null && frame.type() == FrameType.RESPONSE && frame.body() != null) {
      // A response message that cannot be serialised still answers its call: with INTERNAL.
      CallFrame internal = new CallFrame(FrameType.RESPONSE, frame.requestId(), ResponseHead.bounded(
          dev.ferry.StatusCode.INTERNAL, "internal error: the response could not be encoded",
          Settings.MIN_MAX_METADATA_SIZE), null);
      buf = encode(ctx, internal, ctx.newPromise());
    }
    if (buf != null) {
      ctx.write(buf, promise);
    } else {
      promise.tryFailure(new EncodeException(frame.requestId(), new IllegalStateException("not encoded")));
    }
  }

  /**
   * Encodes {@code frame} into one new buffer from {@code alloc}, exactly as this encoder writes it.
   *
   * @throws EncodeException if its message cannot be serialised
   */
  public static ByteBuf encode(ByteBufAllocator alloc, OutgoingCall frame) {
    ByteBuf buf = null;
    try {
      buf = serialise(alloc, frame);
      return buf;
    } catch (Throwable t) {
      if (buf != null) {
        buf.release();
      }
      throw new EncodeException(frame.requestId(), t);
    }
  }

  private static ByteBuf serialise(ByteBufAllocator alloc, OutgoingCall frame) throws java.io.IOException {
    CallHeader header = frame.header();
    MessageLite body = frame.body();
    int headerSize = header.serializedSize();
    int bodySize = body == null ? 0 : body.getSerializedSize();
    long length = (long) Frame.HEADER_SIZE + headerSize + bodySize;
    if (length > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(frame.type() + " frame of " + length + " bytes is too large");
    }
    ByteBuf buf = alloc.ioBuffer((int) length);
    try {
      writeHeader(buf, (int) length, frame.type(), frame.flags(), frame.requestId(), headerSize);
      header.writeTo(buf);
      if (body != null) {
        Protobufs.writeTo(body, bodySize, buf);
      }
    } catch (Throwable t) {
      buf.release();
      throw t;
    }
    return buf;
  }

  /** The frame's bytes, or null after failing {@code promise} (nothing of the frame was written). */
  private static ByteBuf encode(ChannelHandlerContext ctx, OutgoingCall frame, ChannelPromise promise) {
    try {
      return serialise(ctx.alloc(), frame);
    } catch (Throwable t) {
      if (frame.type() == FrameType.RESPONSE) {
        LoggerFactory.getLogger(FrameEncoder.class).error(
            "Could not encode the response to request {} on {}", frame.requestId(), ctx.channel(), t);
      } else {
        promise.tryFailure(new EncodeException(frame.requestId(), t));
      }
      return null;
    }
  }

  /** A call frame could not be encoded (its message failed to serialise); nothing of it was written. */
  public static final class EncodeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int requestId;

    EncodeException(int requestId, Throwable cause) {
      super("could not encode the frame of request " + requestId + ": " + cause, cause);
      this.requestId = requestId;
    }

    /** The request id of the frame that failed. */
    public int requestId() {
      return requestId;
    }
  }

  /**
   * A stream message: one buffer of exactly the frame's size, the message serialised behind the header.
   * A message that cannot be serialised is reported to its stream (which ends the call), not to the
   * connection: nothing of the frame was written, so the connection stays in step.
   */
  private static void writeStreamFrame(ChannelHandlerContext ctx, StreamFrame frame, ChannelPromise promise) {
    MessageLite message = frame.message();
    ByteBuf buf = null;
    try {
      int size = message.getSerializedSize();
      buf = ctx.alloc().ioBuffer(Frame.HEADER_SIZE + size);
      writeHeader(buf, Frame.HEADER_SIZE + size, FrameType.STREAM_MESSAGE, frame.flags(), frame.requestId(), 0);
      Protobufs.writeTo(message, size, buf);
    } catch (Throwable t) {
      if (buf != null) {
        buf.release();
      }
      frame.encodeFailed(t);
      if (!promise.isVoid()) {
        promise.tryFailure(new EncodeException(frame.requestId(), t));
      }
      return;
    }
    ctx.write(buf, promise);
  }

  private static void writeFrame(ChannelHandlerContext ctx, Frame frame, ChannelPromise promise) {
    ByteBuf payload = frame.content();
    int payloadLength = payload.readableBytes();
    try {
      if (payloadLength <= COPY_THRESHOLD) {
        ByteBuf buf = ctx.alloc().ioBuffer(Frame.HEADER_SIZE + payloadLength);
        writeHeader(buf, frame);
        buf.writeBytes(payload, payload.readerIndex(), payloadLength);
        ctx.write(buf, promise);
      } else {
        ByteBuf header = ctx.alloc().ioBuffer(Frame.HEADER_SIZE);
        writeHeader(header, frame);
        ctx.write(ctx.alloc().compositeBuffer(2).addComponents(true, header, payload.retain()), promise);
      }
    } finally {
      frame.release();
    }
  }

  private static void writeHeader(ByteBuf buf, Frame frame) {
    writeHeader(buf, frame.frameLength(), frame.type(), frame.flags(), frame.requestId(), frame.metaLength());
  }

  /** Writes the 16-byte frame header. */
  static void writeHeader(ByteBuf buf, int length, FrameType type, int flags, int requestId, int metaLength) {
    buf.writeInt(length)
        .writeByte(type.code())
        .writeByte(flags)
        .writeShort(0)
        .writeInt(requestId)
        .writeInt(metaLength);
  }
}
