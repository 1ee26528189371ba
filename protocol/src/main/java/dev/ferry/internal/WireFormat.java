package dev.ferry.internal;

import dev.ferry.Metadata;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.util.concurrent.FastThreadLocal;
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
  static final int START_GROUP = 3;
  static final int END_GROUP = 4;
  static final int FIXED32 = 5;

  /** How deeply unknown groups may nest (protobuf's default recursion limit). */
  static final int MAX_GROUP_DEPTH = 100;

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

  /** A per-thread scratch array for decoding small headers and bodies from off-heap buffers. */
  private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
    @Override
    protected byte[] initialValue() {
      return new byte[1024];
    }
  };

  /** Largest payload part copied to the scratch array for decoding; larger ones are decoded in place. */
  static final int MAX_SCRATCH = 64 * 1024;

  /**
   * The readable bytes of {@code buf} as an array region starting at {@link #arrayOffset}: its own
   * backing array when it has one, else a copy in this thread's scratch array (valid until the thread's
   * next call; a fresh array above {@link #MAX_SCRATCH} bytes).
   */
  static byte[] arrayOf(ByteBuf buf) {
    return arrayOf(buf, buf.readerIndex(), buf.readableBytes());
  }

  /** As {@link #arrayOf(ByteBuf)}, for the {@code length} bytes of {@code buf} at {@code index}. */
  static byte[] arrayOf(ByteBuf buf, int index, int length) {
    if (buf.hasArray()) {
      return buf.array();
    }
    byte[] target;
    if (length > MAX_SCRATCH) {
      target = new byte[length];
    } else {
      target = SCRATCH.get();
      if (target.length < length) {
        target = new byte[Math.min(MAX_SCRATCH, Math.max(length, target.length * 2))];
        SCRATCH.set(target);
      }
    }
    buf.getBytes(index, target, 0, length);
    return target;
  }

  /** Where {@link #arrayOf} put the first readable byte of {@code buf}. */
  static int arrayOffset(ByteBuf buf) {
    return arrayOffset(buf, buf.readerIndex());
  }

  /** Where {@link #arrayOf(ByteBuf, int, int)} put the byte of {@code buf} at {@code index}. */
  static int arrayOffset(ByteBuf buf, int index) {
    return buf.hasArray() ? buf.arrayOffset() + index : 0;
  }

  /** A cursor over one encoded message in an array; throws {@link ProtocolException} on malformed input. */
  static final class Reader {
    private final byte[] buf;
    private int at;
    private final int end;

    Reader(byte[] buf, int from, int to) {
      this.buf = buf;
      this.at = from;
      this.end = to;
    }

    boolean hasMore() {
      return at < end;
    }

    long readVarint() {
      long result = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (at >= end) {
          throw malformed("truncated varint");
        }
        byte b = buf[at++];
        result |= (long) (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          return result;
        }
      }
      throw malformed("varint longer than 10 bytes");
    }

    /**
     * Reads a field tag: as protobuf does, the low 32 bits of a varint (field number, then 3 bits of
     * wire type). Field number 0 is not a valid tag.
     */
    int readTag() {
      int tag = (int) readVarint();
      if (tag >>> 3 == 0) {
        throw malformed("field number 0");
      }
      return tag;
    }

    /** Reads a length prefix and returns the start of the bytes; the cursor is then past them. */
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
      return string(buf, start, at - start);
    }

    /** Skips the value of an unknown field whose tag was just read. */
    void skip(int tag) {
      skip(tag, 0);
    }

    private void skip(int tag, int depth) {
      int wireType = tag & 7;
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
        case START_GROUP:
          skipGroup(tag >>> 3, depth + 1);
          break;
        case FIXED32:
          advance(4);
          break;
        case END_GROUP:
          throw malformed("end of group " + (tag >>> 3) + " that was not started");
        default:
          throw malformed("invalid wire type " + wireType);
      }
    }

    /** Skips the fields of a group (a deprecated but valid encoding) up to its end tag. */
    private void skipGroup(int field, int depth) {
      if (depth > MAX_GROUP_DEPTH) {
        throw malformed("groups nested more than " + MAX_GROUP_DEPTH + " deep");
      }
      while (true) {
        if (!hasMore()) {
          throw malformed("group " + field + " without its end");
        }
        int tag = readTag();
        if ((tag & 7) == END_GROUP) {
          if (tag >>> 3 != field) {
            throw malformed("group " + field + " ended as group " + (tag >>> 3));
          }
          return;
        }
        skip(tag, depth);
      }
    }

    private void advance(int n) {
      if (end - at < n) {
        throw malformed("truncated field");
      }
      at += n;
    }

    /** Reads the metadata entry whose bytes are [start, cursor) into {@code metadata}. */
    void readMetadataEntry(int start, MetadataCollector metadata) {
      Reader entry = new Reader(buf, start, at);
      String key = "";
      String value = "";
      while (entry.hasMore()) {
        int tag = entry.readTag();
        int field = tag >>> 3;
        int wireType = tag & 7;
        if (field == 1 && wireType == LENGTH_DELIMITED) {
          key = entry.readString();
        } else if (field == 2 && wireType == LENGTH_DELIMITED) {
          value = entry.readString();
        } else {
          entry.skip(tag);
        }
      }
      metadata.add(key, value);
    }

    static ProtocolException malformed(String why) {
      return new ProtocolException(ErrorCode.PROTOCOL_ERROR, "malformed call header: " + why);
    }
  }

  /** Decodes UTF-8, rejecting malformed input (protobuf's rule for string fields). */
  static String string(byte[] bytes, int start, int length) {
    if (!isValidUtf8(bytes, start, length)) {
      throw Reader.malformed("string field is not valid UTF-8");
    }
    return new String(bytes, start, length, StandardCharsets.UTF_8);
  }

  /** Strict UTF-8 validation (no overlong forms, no surrogates, nothing above U+10FFFF). */
  static boolean isValidUtf8(byte[] b, int start, int length) {
    int i = start;
    int end = start + length;
    while (i < end) {
      int c = b[i] & 0xFF;
      if (c < 0x80) {
        i++;
        continue;
      }
      int n;
      int min;
      if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        min = 0x80;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        min = 0x800;
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        min = 0x10000;
      } else {
        return false;
      }
      if (end - i <= n) {
        return false;
      }
      int cp = c & (0x3F >> n);
      for (int k = 1; k <= n; k++) {
        int cc = b[i + k] & 0xFF;
        if ((cc & 0xC0) != 0x80) {
          return false;
        }
        cp = (cp << 6) | (cc & 0x3F);
      }
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return false;
      }
      i += n + 1;
    }
    return true;
  }

  /**
   * Collects the metadata entries of a call header (repeated field 3). A key that breaks Ferry's rules
   * is not a malformed header: the first such error is kept for the caller to report at call level.
   */
  static final class MetadataCollector {
    private Metadata.Builder builder;
    private String error;

    void add(String key, String value) {
      if (builder == null) {
        builder = Metadata.builder();
      }
      try {
        // Strict: on the wire a key must already be lowercase (Metadata.Builder would lowercase it).
        builder.add(Metadata.checkKey(key), value);
      } catch (IllegalArgumentException e) {
        error = error == null ? e.getMessage() : error;
      }
    }

    /** Why a key was invalid, or null. */
    String error() {
      return error;
    }

    /** The metadata read, or null if a key was invalid. */
    Metadata result() {
      return error != null ? null : builder == null ? Metadata.EMPTY : builder.build();
    }
  }
}
