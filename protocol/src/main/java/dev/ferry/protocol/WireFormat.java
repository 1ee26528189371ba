package dev.ferry.protocol;

import dev.ferry.Metadata;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The few pieces of the protobuf wire format that call headers use (varints, length-delimited fields,
 * skipping unknown fields), over Netty buffers, without allocating message objects.
 */
final class WireFormat {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LENGTH_DELIMITED = 2;
  static final int FIXED32 = 5;

  private WireFormat() {}

  static int varintSize(long value) {
    int n = 1;
    while ((value & ~0x7FL) != 0) {
      value >>>= 7;
      n++;
    }
    return n;
  }

  static void writeVarint(ByteBuf out, long value) {
    while ((value & ~0x7FL) != 0) {
      out.writeByte((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.writeByte((int) value);
  }

  /** Size of a length-delimited field (tag, length, bytes) holding {@code length} bytes. */
  static int lengthDelimitedSize(int length) {
    return 1 + varintSize(length) + length;
  }

  /** Encoded size of a metadata entry's body: key (field 1) and value (field 2), empty strings left out. */
  static int entrySize(int keyBytes, int valueBytes) {
    return (keyBytes == 0 ? 0 : lengthDelimitedSize(keyBytes)) + (valueBytes == 0 ? 0 : lengthDelimitedSize(valueBytes));
  }

  /** Size of the repeated metadata field (number {@code field}) for {@code md}. */
  static int metadataSize(Metadata md) {
    int size = 0;
    for (Map.Entry<String, String> e : md.entries()) {
      int body = entrySize(e.getKey().length(), ByteBufUtil.utf8Bytes(e.getValue()));
      size += lengthDelimitedSize(body);
    }
    return size;
  }

  /** Writes {@code md} as repeated field 3 (keys are ASCII, so their length in chars is their size). */
  static void writeMetadata(ByteBuf out, Metadata md) {
    List<Map.Entry<String, String>> entries = md.entries();
    for (int i = 0; i < entries.size(); i++) {
      Map.Entry<String, String> e = entries.get(i);
      int keyBytes = e.getKey().length();
      int valueBytes = ByteBufUtil.utf8Bytes(e.getValue());
      out.writeByte(3 << 3 | LENGTH_DELIMITED);
      writeVarint(out, entrySize(keyBytes, valueBytes));
      if (keyBytes > 0) {
        out.writeByte(1 << 3 | LENGTH_DELIMITED);
        writeVarint(out, keyBytes);
        out.writeCharSequence(e.getKey(), StandardCharsets.US_ASCII);
      }
      if (valueBytes > 0) {
        out.writeByte(2 << 3 | LENGTH_DELIMITED);
        writeVarint(out, valueBytes);
        ByteBufUtil.reserveAndWriteUtf8(out, e.getValue(), valueBytes);
      }
    }
  }

  /** A cursor over one encoded message in a buffer; throws {@link ProtocolException} on malformed input. */
  static final class Reader {
    private final ByteBuf buf;
    private int at;
    private final int end;

    Reader(ByteBuf buf, int from, int to) {
      this.buf = buf;
      this.at = from;
      this.end = to;
    }

    boolean hasMore() {
      return at < end;
    }

    int position() {
      return at;
    }

    long readVarint() {
      long result = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (at >= end) {
          throw malformed("truncated varint");
        }
        byte b = buf.getByte(at++);
        result |= (long) (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          return result;
        }
      }
      throw malformed("varint longer than 10 bytes");
    }

    /** Reads a length prefix and returns the start of the bytes; {@link #position} is then past them. */
    int readLengthDelimited() {
      long length = readVarint();
      if (length < 0 || length > end - at) {
        throw malformed("length " + length + " runs past the end of the call header");
      }
      int start = at;
      at += (int) length;
      return start;
    }

    /** The length of the field just read by {@link #readLengthDelimited}, given its start. */
    int lengthSince(int start) {
      return at - start;
    }

    String readString() {
      int start = readLengthDelimited();
      int length = at - start;
      if (!ByteBufUtil.isText(buf, start, length, StandardCharsets.UTF_8)) {
        throw malformed("string field is not valid UTF-8");
      }
      return buf.toString(start, length, StandardCharsets.UTF_8);
    }

    void skip(int wireType) {
      switch (wireType) {
        case VARINT:
          readVarint();
          break;
        case FIXED64:
          advance(8);
          break;
        case LENGTH_DELIMITED:
          readLengthDelimited();
          break;
        case FIXED32:
          advance(4);
          break;
        default:
          throw malformed("unsupported wire type " + wireType);
      }
    }

    private void advance(int n) {
      if (end - at < n) {
        throw malformed("truncated field");
      }
      at += n;
    }

    /** Reads the metadata entry whose bytes are [start, position) into {@code md}. */
    void readMetadataEntry(int start, Metadata.Builder md) {
      Reader entry = new Reader(buf, start, at);
      String key = "";
      String value = "";
      while (entry.hasMore()) {
        long tag = entry.readVarint();
        int field = (int) (tag >>> 3);
        int wireType = (int) (tag & 7);
        if (field == 1 && wireType == LENGTH_DELIMITED) {
          key = entry.readString();
        } else if (field == 2 && wireType == LENGTH_DELIMITED) {
          value = entry.readString();
        } else {
          entry.skip(wireType);
        }
      }
      try {
        md.add(key, value);
      } catch (IllegalArgumentException e) {
        throw new InvalidMetadataException(e.getMessage());
      }
    }

    static ProtocolException malformed(String why) {
      return new ProtocolException(ErrorCode.PROTOCOL_ERROR, "malformed call header: " + why);
    }
  }

  /** A well-formed header whose metadata breaks Ferry's key rules: a call-level error, not a connection one. */
  static final class InvalidMetadataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InvalidMetadataException(String message) {
      super(message, null, false, false);
    }
  }
}
