package dev.ferry.internal;

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

  /**
   * A header with no trailers whose encoding is at most {@code maxSize} bytes: {@code message} is cut
   * at a character boundary (never inside a UTF-8 sequence or a surrogate pair) when it would not fit.
   * For the statuses a side sends in place of what the peer would not accept: with {@code maxSize} at
   * least {@link Settings#MIN_MAX_METADATA_SIZE}, any peer accepts the result.
   *
   * @throws IllegalArgumentException if {@code maxSize} leaves no room for the status and a message field
   */
  public static ResponseHead bounded(StatusCode status, String message, int maxSize) {
    requireNonNull(message, "message");
    int statusSize = status.value() == 0 ? 0 : 1 + WireFormat.varintSize(status.value());
    if (maxSize < statusSize + 3) { // + the message tag, a 1-2 byte length, and room for nothing
      throw new IllegalArgumentException("maxSize: " + maxSize + " (expected: >= " + (statusSize + 3) + ")");
    }
    ResponseHead full = of(status, message, Metadata.EMPTY);
    if (full.size <= maxSize) {
      return full;
    }
    // Room for the message bytes: what is left after the status and the field's tag and length.
    int room = maxSize - statusSize - 1;
    room -= WireFormat.varintSize(room);
    return of(status, message.substring(0, utf8Prefix(message, room)), Metadata.EMPTY);
  }

  /** The length of the longest prefix of {@code s} (whole characters) that is at most {@code maxBytes} in UTF-8. */
  private static int utf8Prefix(String s, int maxBytes) {
    int bytes = 0;
    int i = 0;
    while (i < s.length()) {
      int cp = s.codePointAt(i);
      // A lone surrogate is encoded as '?' (1 byte), like String.getBytes and Netty's writeUtf8.
      int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : Character.isSurrogate((char) cp) ? 1 : cp < 0x10000 ? 3 : 4;
      if (bytes + n > maxBytes) {
        break;
      }
      bytes += n;
      i += Character.charCount(cp);
    }
    return i;
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
    return parse(buf, buf.readerIndex(), buf.readableBytes());
  }

  /** As {@link #parse(ByteBuf)}, for the {@code length} bytes of {@code buf} at {@code index}. */
  public static ResponseHead parse(ByteBuf buf, int index, int length) {
    if (length == 0) {
      return OK;
    }
    byte[] bytes = WireFormat.arrayOf(buf, index, length);
    int from = WireFormat.arrayOffset(buf, index);
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
