package dev.ferry.internal;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;

/** Serialises protobuf messages into, and parses them from, Netty buffers without extra copies. */
public final class Protobufs {
  private static final byte[] EMPTY = new byte[0];
  /**
   * What each parser made of zero bytes. Messages are immutable, so one instance serves every empty
   * body of its type: parsing zero bytes still costs a {@code CodedInputStream} and a new message, the
   * largest allocations of a call with an empty body. Only successful parses are kept (zero bytes are
   * invalid for a message with required fields, and stay an error each time); the map stays as small
   * as the set of message types, which a bound guards against parsers made on the fly.
   */
  private static final ConcurrentHashMap<Parser<?>, Object> EMPTY_MESSAGES = new ConcurrentHashMap<>();
  static final int MAX_EMPTY_MESSAGES = 1024;

  private Protobufs() {}

  /**
   * Serialises {@code message}, whose serialised size is {@code size}, at the writer index of
   * {@code buf} and advances it. The buffer must have {@code size} writable bytes.
   */
  public static void writeTo(MessageLite message, int size, ByteBuf buf) throws IOException {
    if (size == 0) {
      return;
    }
    int at = buf.writerIndex();
    buf.ensureWritable(size);
    if (buf.hasArray()) {
      CodedOutputStream out = CodedOutputStream.newInstance(buf.array(), buf.arrayOffset() + at, size);
      message.writeTo(out);
      out.checkNoSpaceLeft();
    } else if (buf.nioBufferCount() == 1) {
      ByteBuffer nio = buf.internalNioBuffer(at, size);
      int start = nio.position();
      CodedOutputStream out = CodedOutputStream.newInstance(nio);
      message.writeTo(out);
      out.flush();
      if (nio.position() - start != size) {
        throw new IOException("message wrote " + (nio.position() - start) + " bytes, expected " + size);
      }
    } else {
      message.writeTo(new ByteBufOutputStream(buf));
      return;
    }
    buf.writerIndex(at + size);
  }

  /** The message zero bytes parse to, the same instance each time once it parsed. */
  @SuppressWarnings("unchecked")
  static <T> T parseEmpty(Parser<T> parser) throws InvalidProtocolBufferException {
    Object known = EMPTY_MESSAGES.get(parser);
    if (known != null) {
      return (T) known;
    }
    T message = parser.parseFrom(EMPTY);
    if (EMPTY_MESSAGES.size() < MAX_EMPTY_MESSAGES) {
      Object raced = EMPTY_MESSAGES.putIfAbsent(parser, message);
      if (raced != null) {
        return (T) raced;
      }
    }
    return message;
  }

  /**
   * Off-heap bodies above this size are copied once into an array of their own that their bytes fields
   * alias; smaller ones go through the per-thread scratch array (no allocation for the copy, and
   * protobuf copies each bytes field out of it).
   */
  static final int OWN_ARRAY_THRESHOLD = 16 * 1024;

  /**
   * Parses the readable bytes of {@code buf} (without moving its reader index): small messages from an
   * array (the buffer's own, or a per-thread scratch copy), large off-heap ones from one private copy
   * that their bytes fields alias.
   */
  public static <T> T parse(Parser<T> parser, ByteBuf buf) throws InvalidProtocolBufferException {
    return parse(parser, buf, buf.readerIndex(), buf.readableBytes());
  }

  /**
   * As {@link #parse(Parser, ByteBuf)}, for the {@code length} bytes of {@code buf} at {@code index}:
   * a part of a received frame is parsed where it lies, without a slice to describe it.
   */
  public static <T> T parse(Parser<T> parser, ByteBuf buf, int index, int length)
      throws InvalidProtocolBufferException {
    if (length == 0) {
      return parseEmpty(parser);
    }
    if (buf.hasArray() || length <= OWN_ARRAY_THRESHOLD) {
      // From an array: the fastest decoder, and no ByteBuffer views to allocate. Off-heap bytes are
      // copied once into a per-thread scratch array (protobuf copies bytes fields out of it anyway).
      return parser.parseFrom(WireFormat.arrayOf(buf, index, length), WireFormat.arrayOffset(buf, index), length);
    }
    // A large off-heap body: one copy into an array of its own, which its bytes fields then alias
    // instead of being copied a second time. Protobuf aliases only input it is told is immutable
    // (unsafeWrap's coded input says so; CodedInputStream.newInstance(byte[]) does not): nobody
    // writes to this array after the copy.
    byte[] own = ByteBufUtil.getBytes(buf, index, length);
    CodedInputStream in = UnsafeByteOperations.unsafeWrap(own).newCodedInput();
    in.enableAliasing(true);
    T message = parser.parseFrom(in);
    in.checkLastTagWas(0);
    return message;
  }
}
