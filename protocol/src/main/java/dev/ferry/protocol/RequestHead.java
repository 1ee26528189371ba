package dev.ferry.protocol;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * A REQUEST's call header ({@code RequestHeader} in PROTOCOL.md section 9): encoded by hand, with the
 * method name's UTF-8 bytes computed once per method rather than once per call, and decoded from the
 * received buffer without building protobuf objects. The bytes are exactly protobuf's encoding.
 */
public final class RequestHead implements CallHeader {
  private final byte[] method;
  private final long timeoutMicros;
  private final Metadata metadata;
  private final int size;

  /**
   * @param methodUtf8 the method name's UTF-8 bytes (see {@link #methodBytes}); not copied, not modified
   * @param timeoutMicros time left to the deadline, 0 for none
   */
  public RequestHead(byte[] methodUtf8, long timeoutMicros, Metadata metadata) {
    this.method = requireNonNull(methodUtf8, "methodUtf8");
    this.timeoutMicros = timeoutMicros;
    this.metadata = requireNonNull(metadata, "metadata");
    this.size = (method.length == 0 ? 0 : WireFormat.lengthDelimitedSize(method.length))
        + (timeoutMicros == 0 ? 0 : 1 + WireFormat.varintSize(timeoutMicros))
        + (metadata.isEmpty() ? 0 : WireFormat.metadataSize(metadata));
  }

  /** The UTF-8 bytes of a method name, to pass to the constructor. */
  public static byte[] methodBytes(String fullName) {
    return fullName.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public int serializedSize() {
    return size;
  }

  @Override
  public void writeTo(ByteBuf out) {
    if (method.length > 0) {
      out.writeByte(1 << 3 | WireFormat.LENGTH_DELIMITED);
      WireFormat.writeVarint(out, method.length);
      out.writeBytes(method);
    }
    if (timeoutMicros != 0) {
      out.writeByte(2 << 3 | WireFormat.VARINT);
      WireFormat.writeVarint(out, timeoutMicros);
    }
    if (!metadata.isEmpty()) {
      WireFormat.writeMetadata(out, metadata);
    }
  }

  /**
   * A decoded REQUEST header. The method name is left in the buffer as a range (valid while the frame
   * is), so that the server can look it up without decoding a string.
   *
   * @param methodStart index of the method name's first byte in the buffer passed to {@link #parse}
   * @param methodLength its length in bytes
   * @param timeoutMicros time left to the deadline when sent; 0 for none
   * @param metadata the request metadata, or null if a key broke the rules (see {@code metadataError})
   * @param metadataError why the metadata is invalid, or null
   */
  public record Parsed(int methodStart, int methodLength, long timeoutMicros, Metadata metadata,
      String metadataError) {
    /** The method name as a string (for messages: lookups compare bytes). */
    public String method(ByteBuf buf) {
      return buf.toString(methodStart, methodLength, StandardCharsets.UTF_8);
    }
  }

  /**
   * Decodes the call header held by the readable bytes of {@code buf} (not moving its indexes).
   *
   * @throws ProtocolException if the bytes are not a well-formed {@code RequestHeader}
   */
  public static Parsed parse(ByteBuf buf) {
    WireFormat.Reader r = new WireFormat.Reader(buf, buf.readerIndex(), buf.writerIndex());
    int methodStart = buf.readerIndex();
    int methodLength = 0;
    long timeout = 0;
    Metadata.Builder md = null;
    String mdError = null;
    while (r.hasMore()) {
      long tag = r.readVarint();
      int field = (int) (tag >>> 3);
      int wireType = (int) (tag & 7);
      if (field == 1 && wireType == WireFormat.LENGTH_DELIMITED) {
        methodStart = r.readLengthDelimited();
        methodLength = r.lengthSince(methodStart);
        if (!io.netty.buffer.ByteBufUtil.isText(buf, methodStart, methodLength, StandardCharsets.UTF_8)) {
          throw WireFormat.Reader.malformed("method name is not valid UTF-8");
        }
      } else if (field == 2 && wireType == WireFormat.VARINT) {
        timeout = r.readVarint();
      } else if (field == 3 && wireType == WireFormat.LENGTH_DELIMITED) {
        int start = r.readLengthDelimited();
        if (md == null) {
          md = Metadata.builder();
        }
        try {
          r.readMetadataEntry(start, md);
        } catch (WireFormat.InvalidMetadataException e) {
          mdError = mdError == null ? e.getMessage() : mdError;
        }
      } else {
        r.skip(wireType);
      }
    }
    Metadata metadata = mdError != null ? null : md == null ? Metadata.EMPTY : md.build();
    return new Parsed(methodStart, methodLength, timeout, metadata, mdError);
  }
}
