package dev.ferry.internal;

import com.google.protobuf.MessageLite;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A call header ready to be written at the start of a REQUEST or RESPONSE payload: its bytes are the
 * protobuf encoding of {@code ferry.wire.v1.RequestHeader} or {@code ResponseHeader} (PROTOCOL.md
 * section 9), written straight into the frame's buffer without building protobuf message objects.
 */
public interface CallHeader {
  /** The encoded size in bytes (the frame header's metaLength). */
  int serializedSize();

  /** Writes the encoding at {@code out}'s writer index. */
  void writeTo(ByteBuf out);

  /** A call header holding the encoding of a protobuf message (a {@code RequestHeader} or {@code ResponseHeader}). */
  static CallHeader of(MessageLite message) {
    int size = message.getSerializedSize();
    return new CallHeader() {
      @Override
      public int serializedSize() {
        return size;
      }

      @Override
      public void writeTo(ByteBuf out) {
        try {
          Protobufs.writeTo(message, size, out);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
  }
}
