package dev.ferry.protocol;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

/**
 * A RESPONSE's call header ({@code ResponseHeader} in PROTOCOL.md section 9), encoded and decoded by
 * hand; the bytes are exactly protobuf's encoding. A successful response without trailers has an empty
 * header ({@link #OK}, zero bytes), and decoding it costs nothing.
 */
public final class ResponseHead implements CallHeader {
  /** Status OK, no trailers: encodes to zero bytes. */
  public static final ResponseHead OK = new ResponseHead(StatusCode.OK, "", Metadata.EMPTY);

  private final StatusCode status;
  private final String message;
  private final int messageBytes;
  private final Metadata trailers;
  private final int size;

  public ResponseHead(StatusCode status, String message, Metadata trailers) {
    this.status = requireNonNull(status, "status");
    this.message = requireNonNull(message, "message");
    this.trailers = requireNonNull(trailers, "trailers");
    this.messageBytes = message.isEmpty() ? 0 : ByteBufUtil.utf8Bytes(message);
    this.size = (status.value() == 0 ? 0 : 1 + WireFormat.varintSize(status.value()))
        + (messageBytes == 0 ? 0 : WireFormat.lengthDelimitedSize(messageBytes))
        + (trailers.isEmpty() ? 0 : WireFormat.metadataSize(trailers));
  }

  /** A response with status {@code status}: OK with no trailers is {@link #OK} itself. */
  public static ResponseHead of(StatusCode status, String message, Metadata trailers) {
    return status == StatusCode.OK && message.isEmpty() && trailers.isEmpty()
        ? OK : new ResponseHead(status, message, trailers);
  }

  public StatusCode status() {
    return status;
  }

  public String message() {
    return message;
  }

  public Metadata trailers() {
    return trailers;
  }

  @Override
  public int serializedSize() {
    return size;
  }

  @Override
  public void writeTo(ByteBuf out) {
    if (status.value() != 0) {
      out.writeByte(1 << 3 | WireFormat.VARINT);
      WireFormat.writeVarint(out, status.value());
    }
    if (messageBytes > 0) {
      out.writeByte(2 << 3 | WireFormat.LENGTH_DELIMITED);
      WireFormat.writeVarint(out, messageBytes);
      ByteBufUtil.reserveAndWriteUtf8(out, message, messageBytes);
    }
    if (!trailers.isEmpty()) {
      WireFormat.writeMetadata(out, trailers);
    }
  }

  /**
   * Decodes the call header held by the readable bytes of {@code buf} (not moving its indexes).
   * Unknown status numbers read as {@link StatusCode#UNKNOWN}.
   *
   * @throws ProtocolException if the bytes are not a well-formed {@code ResponseHeader}
   * @throws IllegalArgumentException if a trailer key breaks Ferry's key rules
   */
  public static ResponseHead parse(ByteBuf buf) {
    if (!buf.isReadable()) {
      return OK;
    }
    int length = buf.readableBytes();
    byte[] bytes = WireFormat.arrayOf(buf);
    int from = WireFormat.arrayOffset(buf);
    WireFormat.Reader r = new WireFormat.Reader(bytes, from, from + length);
    long status = 0;
    String message = "";
    WireFormat.MetadataCollector metadata = new WireFormat.MetadataCollector();
    while (r.hasMore()) {
      int tag = r.readTag();
      int field = tag >>> 3;
      int wireType = tag & 7;
      if (field == 1 && wireType == WireFormat.VARINT) {
        status = r.readVarint() & 0xFFFF_FFFFL; // uint32: protobuf keeps the low 32 bits
      } else if (field == 2 && wireType == WireFormat.LENGTH_DELIMITED) {
        message = r.readString();
      } else if (field == 3 && wireType == WireFormat.LENGTH_DELIMITED) {
        r.readMetadataEntry(r.readLengthDelimited(), metadata);
      } else {
        r.skip(tag);
      }
    }
    if (metadata.error() != null) {
      throw new IllegalArgumentException(metadata.error());
    }
    StatusCode code = status > Integer.MAX_VALUE ? StatusCode.UNKNOWN : StatusCode.fromValue((int) status);
    return of(code, message, metadata.result());
  }
}
