package dev.ferry.internal;

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
  /**
   * The largest timeout_micros (PROTOCOL.md section 9.3): 10^15 microseconds, about 31.7 years.
   * Senders send a longer timeout as this value, receivers read a larger value as this value, so
   * that a deadline computed as "now + timeout" on a 64-bit nanosecond clock cannot overflow.
   */
  public static final long MAX_TIMEOUT_MICROS = 1_000_000_000_000_000L;

  private final byte[] method;
  private final long timeoutMicros;
  private final Metadata metadata;
  private final long idleTimeoutMicros;
  private final int size;

  /**
   * @param methodUtf8 the method name's UTF-8 bytes (see {@link #methodBytes}); not copied, not modified
   * @param timeoutMicros time left to the deadline, 0 for none; more than {@link #MAX_TIMEOUT_MICROS}
   *     is sent as that
   */
  public RequestHead(byte[] methodUtf8, long timeoutMicros, Metadata metadata) {
    this(methodUtf8, timeoutMicros, metadata, 0);
  }

  /**
   * As above, for a streaming call with an idle timeout: {@code idleTimeoutMicros} (0 for none, more
   * than {@link #MAX_TIMEOUT_MICROS} sent as that) is the longest the stream may go without a message.
   */
  public RequestHead(byte[] methodUtf8, long timeoutMicros, Metadata metadata, long idleTimeoutMicros) {
    this.method = requireNonNull(methodUtf8, "methodUtf8");
    if (timeoutMicros < 0) {
      throw new IllegalArgumentException("timeoutMicros: " + timeoutMicros + " (expected: >= 0)");
    }
    if (idleTimeoutMicros < 0) {
      throw new IllegalArgumentException("idleTimeoutMicros: " + idleTimeoutMicros + " (expected: >= 0)");
    }
    this.timeoutMicros = Math.min(timeoutMicros, MAX_TIMEOUT_MICROS);
    this.metadata = requireNonNull(metadata, "metadata");
    this.idleTimeoutMicros = Math.min(idleTimeoutMicros, MAX_TIMEOUT_MICROS);
    this.size = (method.length == 0 ? 0 : WireFormat.lengthDelimitedSize(method.length))
        + (this.timeoutMicros == 0 ? 0 : 1 + WireFormat.varintSize(this.timeoutMicros))
        + (metadata.isEmpty() ? 0 : WireFormat.metadataSize(metadata))
        + (this.idleTimeoutMicros == 0 ? 0 : 1 + WireFormat.varintSize(this.idleTimeoutMicros));
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
    if (idleTimeoutMicros != 0) {
      out.writeByte(4 << 3 | WireFormat.VARINT);
      WireFormat.writeVarint(out, idleTimeoutMicros);
    }
  }

  /** Finds what a method name stands for, from its UTF-8 bytes; null if nothing. */
  @FunctionalInterface
  public interface MethodLookup<T> {
    T find(byte[] bytes, int offset, int length);

    /**
     * The parsed form of a header that names {@code method} and carries nothing else (no deadline, no
     * metadata, no idle timeout), as most calls' headers do: a lookup may keep one per method, since
     * it is immutable, rather than have one made per call.
     */
    default Parsed<T> plain(T method) {
      return Parsed.plain(method);
    }
  }

  /**
   * A decoded REQUEST header.
   *
   * @param method what the lookup found for the method name, or null
   * @param methodName the method name, decoded only when the lookup found nothing (for messages)
   * @param timeoutMicros time left to the deadline when sent; 0 for none; at most
   *     {@link #MAX_TIMEOUT_MICROS} (a larger value on the wire reads as that)
   * @param metadata the request metadata, or null if a key broke the rules (see {@code metadataError})
   * @param metadataError why the metadata is invalid, or null
   * @param idleTimeoutMicros a streaming call's idle timeout; 0 for none; at most {@link #MAX_TIMEOUT_MICROS}
   * @param <T> what method names are looked up as
   */
  public record Parsed<T>(T method, String methodName, long timeoutMicros, Metadata metadata,
      String metadataError, long idleTimeoutMicros) {
    /** A header that names {@code method} (found) and carries nothing else. */
    public static <T> Parsed<T> plain(T method) {
      return new Parsed<>(requireNonNull(method, "method"), null, 0, Metadata.EMPTY, null, 0);
    }
  }

  /**
   * Decodes the call header held by the readable bytes of {@code buf} (not moving its indexes), looking
   * the method name up with {@code lookup} straight from its bytes.
   *
   * @throws ProtocolException if the bytes are not a well-formed {@code RequestHeader}
   */
  public static <T> Parsed<T> parse(ByteBuf buf, MethodLookup<T> lookup) {
    return parse(buf, buf.readerIndex(), buf.readableBytes(), lookup);
  }

  /** As {@link #parse(ByteBuf, MethodLookup)}, for the {@code length} bytes of {@code buf} at {@code index}. */
  public static <T> Parsed<T> parse(ByteBuf buf, int index, int length, MethodLookup<T> lookup) {
    byte[] bytes = WireFormat.arrayOf(buf, index, length);
    int from = WireFormat.arrayOffset(buf, index);
    WireFormat.Reader r = new WireFormat.Reader(bytes, from, from + length);
    T method = null;
    String methodName = "";
    long timeout = 0;
    long idleTimeout = 0;
    WireFormat.MetadataCollector metadata = new WireFormat.MetadataCollector();
    while (r.hasMore()) {
      int tag = r.readTag();
      int field = tag >>> 3;
      int wireType = tag & 7;
      if (field == 1 && wireType == WireFormat.LENGTH_DELIMITED) {
        int start = r.readLengthDelimited();
        int len = r.lengthSince(start);
        method = lookup.find(bytes, start, len);
        methodName = method != null ? null : WireFormat.string(bytes, start, len);
      } else if (field == 2 && wireType == WireFormat.VARINT) {
        timeout = r.readVarint(); // a uint64: above 2^63-1 it is negative here, hence the unsigned test
        if (Long.compareUnsigned(timeout, MAX_TIMEOUT_MICROS) > 0) {
          timeout = MAX_TIMEOUT_MICROS;
        }
      } else if (field == 3 && wireType == WireFormat.LENGTH_DELIMITED) {
        r.readMetadataEntry(r.readLengthDelimited(), metadata);
      } else if (field == 4 && wireType == WireFormat.VARINT) {
        idleTimeout = r.readVarint();
        if (Long.compareUnsigned(idleTimeout, MAX_TIMEOUT_MICROS) > 0) {
          idleTimeout = MAX_TIMEOUT_MICROS;
        }
      } else {
        r.skip(tag);
      }
    }
    Metadata m = metadata.result();
    if (method != null && timeout == 0 && idleTimeout == 0 && m == Metadata.EMPTY) {
      return lookup.plain(method);
    }
    return new Parsed<>(method, methodName, timeout, m, metadata.error(), idleTimeout);
  }
}
