package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;

/**
 * One frame with its payload in a buffer: what {@link FrameDecoder} produces, and what is written for
 * connection frames (SETTINGS, PING, PONG, GOAWAY, ERROR), CANCEL and WINDOW_UPDATE. REQUEST and
 * RESPONSE frames are written as {@link OutgoingCall}s (the call objects themselves, or
 * {@link CallFrame}s), stream messages as {@link StreamFrame}s, which serialise their protobuf parts
 * straight into the outgoing buffer.
 *
 * <p>A frame owns its payload ({@link #content()}): whoever receives one releases it. A decoded frame's
 * payload lies in the buffer the decoder collected it in ({@link #buffer()}, from
 * {@link #callHeaderIndex()}), which the frame holds a reference to: no slice is made for it unless
 * {@link #content()} is asked for.
 */
public final class Frame implements ByteBufHolder {
  /** Size of the fixed frame header. */
  public static final int HEADER_SIZE = 16;
  /** The largest request id (31 bits; the top bit is reserved). */
  public static final int MAX_REQUEST_ID = Integer.MAX_VALUE;

  /** REQUEST flag: the call's request messages follow in STREAM_MESSAGE frames (client- and bidi-streaming). */
  public static final int FLAG_CLIENT_STREAM = 0x02;
  /** REQUEST flag: the call's response messages come in STREAM_MESSAGE frames (server- and bidi-streaming). */
  public static final int FLAG_SERVER_STREAM = 0x04;
  /** STREAM_MESSAGE flag: the sender sends nothing more on this stream after this frame. */
  public static final int FLAG_END_STREAM = 0x01;
  /** STREAM_MESSAGE flag: the frame carries no message, only END_STREAM (its payload is empty). */
  public static final int FLAG_NO_MESSAGE = 0x02;

  private final FrameType type;
  private final int flags;
  private final int requestId;
  private final int metaLength;
  /**
   * The frame's one reference: the payload itself while {@link #offset} is -1, else the buffer that
   * holds the payload's {@link #length} bytes at {@link #offset} (a decoded frame, until
   * {@link #content()} makes the payload a buffer of its own).
   */
  private ByteBuf buf;
  private int offset;
  private int length;

  /**
   * A frame. {@code payload} is everything after the 16-byte header: for REQUEST and RESPONSE its first
   * {@code metaLength} bytes are the call header and the rest is the message body.
   */
  public Frame(FrameType type, int flags, int requestId, int metaLength, ByteBuf payload) {
    this(type, flags, requestId, metaLength, payload, payload.readerIndex(), payload.readableBytes());
    this.offset = -1; // the payload is the whole buffer, its reader index and readable bytes as they are
  }

  /**
   * A frame whose payload is the {@code length} bytes of {@code buf} at {@code offset}; the frame takes
   * over one reference to {@code buf} (a decoder retains what it collected frames in once per frame).
   */
  public Frame(FrameType type, int flags, int requestId, int metaLength, ByteBuf buf, int offset, int length) {
    this.buf = requireNonNull(buf, "buf");
    this.type = requireNonNull(type, "type");
    this.flags = flags & 0xFF;
    this.requestId = requestId;
    this.metaLength = metaLength;
    this.offset = offset;
    this.length = length;
    if (metaLength < 0 || metaLength > length) {
      throw new IllegalArgumentException("metaLength: " + metaLength + " (expected: 0 to " + length + ")");
    }
  }

  public FrameType type() {
    return type;
  }

  public int flags() {
    return flags;
  }

  public int requestId() {
    return requestId;
  }

  /** Length of the call header at the start of the payload (0 for frames without one). */
  public int metaLength() {
    return metaLength;
  }

  /** Length of the whole frame on the wire, header included. */
  public int frameLength() {
    return HEADER_SIZE + payloadLength();
  }

  private int payloadIndex() {
    return offset >= 0 ? offset : buf.readerIndex();
  }

  private int payloadLength() {
    return offset >= 0 ? length : buf.readableBytes();
  }

  /**
   * The buffer the payload lies in, at {@link #callHeaderIndex()} for {@link #frameLength()} minus
   * {@link #HEADER_SIZE} bytes: what parsers read from by index, without a slice. Valid while this
   * frame is.
   */
  public ByteBuf buffer() {
    return buf;
  }

  /** The call header bytes: a view of the payload, not a copy, valid while this frame is. */
  public ByteBuf callHeader() {
    return buf.slice(payloadIndex(), metaLength);
  }

  /**
   * Where the payload, and so the call header, starts in {@link #buffer()}: with {@link #metaLength()},
   * what a parser reads the header from without a {@link #callHeader()} slice.
   */
  public int callHeaderIndex() {
    return payloadIndex();
  }

  /** Where the message body starts in {@link #buffer()}; it runs for {@link #bodyLength()} bytes. */
  public int bodyIndex() {
    return payloadIndex() + metaLength;
  }

  /** The message body's length in bytes (the payload after the call header). */
  public int bodyLength() {
    return payloadLength() - metaLength;
  }

  /** The message body (payload after the call header): a view, not a copy, valid while this frame is. */
  public ByteBuf body() {
    return buf.slice(payloadIndex() + metaLength, payloadLength() - metaLength);
  }

  // ---- connection frames ----

  /** A SETTINGS frame announcing {@code settings}. */
  public static Frame settings(ByteBufAllocator alloc, Settings settings) {
    ByteBuf p = alloc.buffer(settings.encodedSize());
    settings.encode(p);
    return new Frame(FrameType.SETTINGS, 0, 0, 0, p);
  }

  public static Frame ping(ByteBufAllocator alloc, long data) {
    return new Frame(FrameType.PING, 0, 0, 0, alloc.buffer(8).writeLong(data));
  }

  public static Frame pong(ByteBufAllocator alloc, long data) {
    return new Frame(FrameType.PONG, 0, 0, 0, alloc.buffer(8).writeLong(data));
  }

  /** The 8 opaque bytes of a PING or PONG. */
  public long pingData() {
    return buf.getLong(payloadIndex());
  }

  public static Frame cancel(int requestId) {
    return new Frame(FrameType.CANCEL, 0, requestId, 0, Unpooled.EMPTY_BUFFER);
  }

  /** WINDOW_UPDATE: {@code increment} more bytes of credit (1 to 2^31-1) for stream {@code requestId}. */
  public static Frame windowUpdate(ByteBufAllocator alloc, int requestId, int increment) {
    if (increment < 1) {
      throw new IllegalArgumentException("increment: " + increment + " (expected: > 0)");
    }
    return new Frame(FrameType.WINDOW_UPDATE, 0, requestId, 0, alloc.buffer(4).writeInt(increment));
  }

  /** A STREAM_MESSAGE with END_STREAM and NO_MESSAGE: the end of a client's request messages, with none. */
  public static Frame endOfStream(int requestId) {
    return new Frame(FrameType.STREAM_MESSAGE, FLAG_END_STREAM | FLAG_NO_MESSAGE, requestId, 0,
        Unpooled.EMPTY_BUFFER);
  }

  /** WINDOW_UPDATE: the credit granted (u32 on the wire; checked to be 1 to 2^31-1 by the decoder). */
  public long windowIncrement() {
    return buf.getUnsignedInt(payloadIndex());
  }

  /** STREAM_MESSAGE: whether it carries a message (it does unless NO_MESSAGE is set). */
  public boolean hasMessage() {
    return (flags & FLAG_NO_MESSAGE) == 0;
  }

  /** STREAM_MESSAGE: whether the sender sends nothing more on the stream after it. */
  public boolean endsStream() {
    return (flags & FLAG_END_STREAM) != 0;
  }

  public static Frame goAway(ByteBufAllocator alloc, int lastRequestId, ErrorCode code, String reason) {
    byte[] text = reason.getBytes(StandardCharsets.UTF_8);
    ByteBuf p = alloc.buffer(8 + text.length).writeInt(lastRequestId).writeInt(code.value()).writeBytes(text);
    return new Frame(FrameType.GOAWAY, 0, 0, 0, p);
  }

  public static Frame error(ByteBufAllocator alloc, ErrorCode code, String reason) {
    byte[] text = reason.getBytes(StandardCharsets.UTF_8);
    ByteBuf p = alloc.buffer(4 + text.length).writeInt(code.value()).writeBytes(text);
    return new Frame(FrameType.ERROR, 0, 0, 0, p);
  }

  /** GOAWAY: the highest request id the sender processed or will process. */
  public int goAwayLastRequestId() {
    return buf.getInt(payloadIndex());
  }

  /** GOAWAY or ERROR: the error code ({@link ErrorCode#INTERNAL_ERROR} for a number v1 does not know). */
  public ErrorCode errorCode() {
    return ErrorCode.fromValue(rawErrorCode());
  }

  /** GOAWAY or ERROR: the error code's number as sent. */
  public long rawErrorCode() {
    int offset = type == FrameType.GOAWAY ? 4 : 0;
    return buf.getUnsignedInt(payloadIndex() + offset);
  }

  /** GOAWAY or ERROR: the human-readable reason. */
  public String reason() {
    int skip = type == FrameType.GOAWAY ? 8 : 4;
    return buf.toString(payloadIndex() + skip, payloadLength() - skip, StandardCharsets.UTF_8);
  }

  // ---- ByteBufHolder: the payload as a buffer of its own, and the reference count of buffer() ----

  /**
   * The payload as a buffer of its own, its reader index at the call header (made once, a view sharing
   * {@link #buffer()}'s reference count, if the payload is only part of that buffer).
   */
  @Override
  public ByteBuf content() {
    ByteBuf b = buf;
    if (b.refCnt() == 0) {
      throw new io.netty.util.IllegalReferenceCountException(0);
    }
    if (offset >= 0) {
      b = b.slice(offset, length);
      buf = b;
      offset = -1;
    }
    return b;
  }

  @Override
  public Frame copy() {
    return replace(content().copy());
  }

  @Override
  public Frame duplicate() {
    return replace(content().duplicate());
  }

  @Override
  public Frame retainedDuplicate() {
    return replace(content().retainedDuplicate());
  }

  @Override
  public Frame replace(ByteBuf content) {
    return new Frame(type, flags, requestId, metaLength, content);
  }

  @Override
  public int refCnt() {
    return buf.refCnt();
  }

  @Override
  public Frame retain() {
    buf.retain();
    return this;
  }

  @Override
  public Frame retain(int increment) {
    buf.retain(increment);
    return this;
  }

  @Override
  public Frame touch() {
    buf.touch();
    return this;
  }

  @Override
  public Frame touch(Object hint) {
    buf.touch(hint);
    return this;
  }

  @Override
  public boolean release() {
    return buf.release();
  }

  @Override
  public boolean release(int decrement) {
    return buf.release(decrement);
  }

  @Override
  public String toString() {
    return type + "{id=" + requestId + ", flags=0x" + Integer.toHexString(flags) + ", meta=" + metaLength
        + ", payload=" + payloadLength() + '}';
  }
}
