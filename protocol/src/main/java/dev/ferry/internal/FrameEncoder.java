package dev.ferry.internal;

import com.google.protobuf.MessageLite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import java.util.Arrays;
import org.slf4j.LoggerFactory;

/**
 * Writes {@link Frame}s, {@link OutgoingCall}s ({@link CallFrame}s and calls that describe their own
 * frame) and {@link StreamFrame}s as bytes. Anything else (the preface's raw bytes) passes through
 * unchanged. One instance per channel.
 *
 * <p><b>Call frames are written in batches.</b> A call frame written with the void promise is
 * serialised into the batch: one pooled buffer that collects such frames, one after the other, until
 * the next flush (or until it is full, or something else is written, which keeps the order on the
 * wire). The batch then goes down the pipeline as one buffer, so that a burst of calls costs one
 * allocation, one outbound-buffer entry and one write promise instead of one of each per call. Each
 * frame of a batch is told how its write ended through {@link OutgoingCall#written}: whole on the
 * transport, or failed; a batch that failed part of the way through tells the frames that were
 * written whole so (the transport advances the buffer's reader index over what it wrote; batches are
 * made only of direct buffers, which transports write as they are, and an allocator that gives heap
 * buffers gets a buffer per frame instead; behind TLS
 * that index says what the TLS handler took, which may be more than reached the socket, so a frame may
 * be told it was written when it was not: that errs towards at most once, since a call whose request
 * was written is never sent again). A frame
 * larger than {@value #MAX_BATCHED_FRAME} bytes gets a buffer of its own, written the same way. A call
 * frame written with a promise of its own is encoded into a buffer of its own, and the promise
 * completes with its write.
 *
 * <p>A {@link Frame} with a small payload is copied behind its header into one buffer; a large payload
 * is not copied but written behind the header as a second buffer, which the transport gathers into one
 * write.
 *
 * <p>An encoding failure (a message that cannot be serialised) affects that frame only: nothing of it
 * has been written, so the connection stays in step. A REQUEST fails with {@link EncodeException}
 * (through its promise, or {@link OutgoingCall#written}); a RESPONSE is replaced by one with status
 * INTERNAL, so the call is still answered (and the failure is logged here). Runs on the channel's
 * event loop.
 */
public final class FrameEncoder extends ChannelDuplexHandler {
  private static final int COPY_THRESHOLD = 1024;
  /** Call frames up to this size go into the batch; larger ones get a buffer of their own. */
  static final int MAX_BATCHED_FRAME = 8 * 1024;
  private static final int MIN_BATCH = 1024;
  private static final int MAX_BATCH = 64 * 1024;

  /** The frames encoded since the batch was last written down the pipeline; null if none. */
  private ByteBuf batch;
  /** The frames of {@link #batch} to tell when it is written, and where each ends in it. */
  private OutgoingCall[] frames = new OutgoingCall[16];
  private int[] ends = new int[16];
  private int count;
  /** The arrays of a batch whose write has ended, for the next batch; null if none. */
  private OutgoingCall[] spareFrames;
  private int[] spareEnds;
  /** The capacity of the next batch: about what was written between the last two flushes. */
  private int nextBatchSize = MIN_BATCH;
  /** Bytes of call frames collected since the last flush. */
  private int sinceFlush;
  /** False once the allocator gave a heap buffer: then each frame gets a buffer of its own. */
  private boolean directBatches = true;
  /** The channel is closed: nothing is collected any more (nothing would flush it). */
  private boolean inactive;

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof OutgoingCall) {
      if (promise.isVoid()) {
        writeBatched(ctx, (OutgoingCall) msg);
      } else {
        writeBatch(ctx);
        writeCallFrame(ctx, (OutgoingCall) msg, promise);
      }
      return;
    }
    writeBatch(ctx);
    if (msg instanceof Frame) {
      writeFrame(ctx, (Frame) msg, promise);
    } else if (msg instanceof StreamFrame) {
      writeStreamFrame(ctx, (StreamFrame) msg, promise);
    } else {
      ctx.write(msg, promise);
    }
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    writeBatch(ctx);
    if (sinceFlush > 0) {
      nextBatchSize = Math.min(MAX_BATCH, Math.max(MIN_BATCH, sinceFlush));
      sinceFlush = 0;
    }
    ctx.flush();
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    writeBatch(ctx); // unflushed, as any write before a close: the channel fails it as it closes
    ctx.close(promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    inactive = true;
    writeBatch(ctx); // fails at once: the frames in it are told so
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    inactive = true;
    writeBatch(ctx);
  }

  /** Serialises {@code frame} into the batch (or a buffer of its own if it is large). */
  private void writeBatched(ChannelHandlerContext ctx, OutgoingCall frame) {
    CallHeader header = frame.header();
    MessageLite body = frame.body();
    int headerSize;
    int bodySize;
    int length;
    try {
      headerSize = header.serializedSize();
      bodySize = body == null ? 0 : body.getSerializedSize();
      length = frameLength(frame, headerSize, bodySize);
    } catch (Throwable t) {
      encodeFailed(ctx, frame, t);
      return;
    }
    if (batch == null && !inactive && !ctx.channel().isActive()) {
      inactive = true; // closed, and channelInactive is on its way: nothing would flush a new batch
    }
    if (length > MAX_BATCHED_FRAME || inactive || !directBatches) {
      writeBatch(ctx);
      ByteBuf own = allocate(ctx, length, frame);
      if (own == null) {
        return;
      }
      if (serialiseInto(ctx, own, frame, header, headerSize, body, bodySize, length)) {
        track(frame, own.writerIndex());
        writeBatch(ctx, own);
      } else {
        own.release();
      }
      return;
    }
    if (batch != null && batch.writableBytes() < length) {
      nextBatchSize = Math.min(MAX_BATCH, batch.capacity() * 2); // full before the flush: a bigger one
      writeBatch(ctx);
    }
    if (batch == null) {
      ByteBuf b = allocate(ctx, Math.max(nextBatchSize, length), frame);
      if (b == null) {
        return;
      }
      if (!b.isDirect()) {
        // A transport copies a heap buffer into a direct one to write it, and the copy's reader index
        // is not this buffer's: how far a failed batch got could not be told. Frames go one per buffer
        // on this channel from now on, where a failed write means the frame did not go out whole.
        directBatches = false;
        b.release();
        writeBatched(ctx, frame);
        return;
      }
      batch = b;
    }
    if (serialiseInto(ctx, batch, frame, header, headerSize, body, bodySize, length)) {
      track(frame, batch.writerIndex());
      sinceFlush += length;
    }
  }

  /** A buffer of {@code capacity}, or null after telling {@code frame} (out of direct memory: nothing of it was written). */
  private static ByteBuf allocate(ChannelHandlerContext ctx, int capacity, OutgoingCall frame) {
    try {
      return ctx.alloc().ioBuffer(capacity);
    } catch (Throwable t) {
      frame.written(t);
      return null;
    }
  }

  /**
   * Bytes of call frames collected in the batch, not yet written down the pipeline: they are not in the
   * channel's outbound buffer yet, so whoever weighs what is queued on the channel adds them.
   */
  public int pendingBytes() {
    ByteBuf b = batch;
    return b == null ? 0 : b.readableBytes();
  }

  /**
   * Writes the frame at {@code buf}'s writer index; on failure, leaves {@code buf} as it was, handles
   * the failure (see {@link #encodeFailed}) and returns false.
   */
  private boolean serialiseInto(ChannelHandlerContext ctx, ByteBuf buf, OutgoingCall frame, CallHeader header,
      int headerSize, MessageLite body, int bodySize, int length) {
    int at = buf.writerIndex();
    try {
      writeCall(buf, frame, header, headerSize, body, bodySize, length);
      return true;
    } catch (Throwable t) {
      buf.writerIndex(at);
      encodeFailed(ctx, frame, t);
      return false;
    }
  }

  /**
   * {@code frame} could not be encoded and nothing of it was written: a REQUEST is told it failed, a
   * RESPONSE is replaced by INTERNAL, which is then written in its place (and tells it as it would have).
   */
  private void encodeFailed(ChannelHandlerContext ctx, OutgoingCall frame, Throwable t) {
    if (frame.type() == FrameType.RESPONSE && frame.body() != null) {
      LoggerFactory.getLogger(FrameEncoder.class).error(
          "Could not encode the response to request {} on {}", frame.requestId(), ctx.channel(), t);
      writeBatched(ctx, new InternalError(frame));
    } else {
      frame.written(new EncodeException(frame.requestId(), t));
    }
  }

  /** {@code frame}'s RESPONSE replaced by INTERNAL; told of its write as the original would have been. */
  private static final class InternalError implements OutgoingCall {
    private static final ResponseHead HEAD = ResponseHead.bounded(dev.ferry.StatusCode.INTERNAL,
        "internal error: the response could not be encoded", Settings.MIN_MAX_METADATA_SIZE);
    private final OutgoingCall original;

    InternalError(OutgoingCall original) {
      this.original = original;
    }

    @Override
    public FrameType type() {
      return FrameType.RESPONSE;
    }

    @Override
    public int requestId() {
      return original.requestId();
    }

    @Override
    public int flags() {
      return 0;
    }

    @Override
    public CallHeader header() {
      return HEAD;
    }

    @Override
    public MessageLite body() {
      return null;
    }

    @Override
    public void written(Throwable failure) {
      original.written(failure);
    }
  }

  private void track(OutgoingCall frame, int end) {
    if (count == frames.length) {
      frames = Arrays.copyOf(frames, count * 2);
      ends = Arrays.copyOf(ends, count * 2);
    }
    frames[count] = frame;
    ends[count] = end;
    count++;
  }

  /** Writes the batch down the pipeline (not flushed), if there is one. */
  private void writeBatch(ChannelHandlerContext ctx) {
    ByteBuf b = batch;
    if (b != null) {
      batch = null;
      writeBatch(ctx, b);
    }
  }

  /** Writes {@code buf}, holding the frames tracked so far, with one promise that tells each of them. */
  private void writeBatch(ChannelHandlerContext ctx, ByteBuf buf) {
    if (count == 0) {
      buf.release(); // every frame of it failed to encode
      return;
    }
    // The batch's write takes the arrays; the next batch gets those of a batch whose write has ended.
    BatchWrite write = new BatchWrite(ctx, buf, frames, ends, count);
    count = 0;
    if (spareFrames != null) {
      frames = spareFrames;
      ends = spareEnds;
      spareFrames = null;
      spareEnds = null;
    } else {
      frames = new OutgoingCall[frames.length];
      ends = new int[frames.length];
    }
    ctx.write(buf.retain(), write); // retained: the listener reads how far a failed write got
  }

  /** A batch's write ended and it told its frames: its (cleared) arrays can serve a later batch. */
  private void returnArrays(OutgoingCall[] f, int[] e) {
    if (spareFrames == null) {
      spareFrames = f;
      spareEnds = e;
    }
  }

  /**
   * The promise of one batch's write, and its own listener, which tells each frame of the batch. Its
   * listener runs on the channel's event loop, as the encoder does.
   */
  private final class BatchWrite extends DefaultChannelPromise implements ChannelFutureListener {
    private final ByteBuf buf;
    private final OutgoingCall[] frames;
    private final int[] ends;
    private final int count;

    BatchWrite(ChannelHandlerContext ctx, ByteBuf buf, OutgoingCall[] frames, int[] ends, int count) {
      super(ctx.channel(), ctx.executor());
      this.buf = buf;
      this.frames = frames;
      this.ends = ends;
      this.count = count;
      addListener(this);
    }

    @Override
    public void operationComplete(ChannelFuture f) {
      Throwable failure = f.cause();
      // On failure, the transport has moved the reader index over what it wrote: the frames that end
      // there or before are on the wire whole.
      int written = failure == null ? Integer.MAX_VALUE : buf.readerIndex();
      buf.release();
      for (int i = 0; i < count; i++) {
        OutgoingCall frame = frames[i];
        frames[i] = null;
        try {
          frame.written(ends[i] <= written ? null : failure);
        } catch (Throwable t) {
          LoggerFactory.getLogger(FrameEncoder.class).error("Handling the write of a frame on {} failed", channel(), t);
        }
      }
      returnArrays(frames, ends);
    }
  }

  private static void writeCallFrame(ChannelHandlerContext ctx, OutgoingCall frame, ChannelPromise promise) {
    ByteBuf buf = encode(ctx, frame, promise);
    if (buf == null && frame.type() == FrameType.RESPONSE && frame.body() != null) {
      // A response message that cannot be serialised still answers its call: with INTERNAL.
      buf = encode(ctx, new InternalError(frame), ctx.newPromise());
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
    int length = frameLength(frame, headerSize, bodySize);
    ByteBuf buf = alloc.ioBuffer(length);
    try {
      writeCall(buf, frame, header, headerSize, body, bodySize, length);
    } catch (Throwable t) {
      buf.release();
      throw t;
    }
    return buf;
  }

  /** The length of {@code frame} with these parts, header included. */
  private static int frameLength(OutgoingCall frame, int headerSize, int bodySize) {
    long length = (long) Frame.HEADER_SIZE + headerSize + bodySize;
    if (length > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(frame.type() + " frame of " + length + " bytes is too large");
    }
    return (int) length;
  }

  /** Writes {@code frame}, {@code length} bytes in all, at {@code buf}'s writer index. */
  private static void writeCall(ByteBuf buf, OutgoingCall frame, CallHeader header, int headerSize, MessageLite body,
      int bodySize, int length) throws java.io.IOException {
    int at = buf.writerIndex();
    writeHeader(buf, length, frame.type(), frame.flags(), frame.requestId(), headerSize);
    header.writeTo(buf);
    if (body != null) {
      Protobufs.writeTo(body, bodySize, buf);
    }
    if (buf.writerIndex() - at != length) {
      throw new IllegalStateException("frame wrote " + (buf.writerIndex() - at) + " bytes, expected " + length);
    }
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
