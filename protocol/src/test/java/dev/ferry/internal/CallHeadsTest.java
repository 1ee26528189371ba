package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.internal.wire.MetadataEntry;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The hand-written call header codec writes exactly what protobuf writes for the same values, and
 * reads back whatever protobuf writes (including fields it does not know), for many random headers.
 */
class CallHeadsTest {
  private static final String[] TEXT = {"", "a", "zoë", "ключ", "✓ ok", "🚢 ferry", "x".repeat(300)};
  private static final String[] KEYS = {"a", "x-trace-id", "user", "k.v_1-2"};

  private static Metadata randomMetadata(Random r) {
    Metadata.Builder b = Metadata.builder();
    for (int i = r.nextInt(4); i > 0; i--) {
      b.add(KEYS[r.nextInt(KEYS.length)], TEXT[r.nextInt(TEXT.length)]);
    }
    return b.build();
  }

  private static Iterable<MetadataEntry> wire(Metadata md) {
    return WireMetadata.toWire(md);
  }

  private static String hex(CallHeader h) {
    ByteBuf buf = Unpooled.buffer();
    h.writeTo(buf);
    assertThat(buf.readableBytes()).isEqualTo(h.serializedSize());
    String hex = ByteBufUtil.hexDump(buf);
    buf.release();
    return hex;
  }

  @Test
  void requestHeadsMatchProtobufBothWays() throws Exception {
    Random r = new Random(7);
    for (int i = 0; i < 2_000; i++) {
      String method = r.nextInt(10) == 0 ? "" : "pkg.Svc/" + TEXT[r.nextInt(TEXT.length)];
      long timeout = r.nextBoolean() ? 0 : r.nextInt(3) == 0 ? Long.MAX_VALUE >>> r.nextInt(60) : r.nextInt(1000);
      timeout = Math.min(timeout, RequestHead.MAX_TIMEOUT_MICROS); // larger ones: timeoutsAboveTheMaximum
      Metadata md = randomMetadata(r);
      RequestHeader proto = RequestHeader.newBuilder().setMethod(method).setTimeoutMicros(timeout)
          .addAllMetadata(wire(md)).build();
      RequestHead mine = new RequestHead(RequestHead.methodBytes(method), timeout, md);
      assertThat(hex(mine)).isEqualTo(ByteBufUtil.hexDump(proto.toByteArray()));

      // Decoding what protobuf wrote, with an unknown field appended as a later version might.
      ByteBuf buf = Unpooled.wrappedBuffer(proto.toBuilder()
          .setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder()
              .addField(9, com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(5).build()).build())
          .build().toByteArray());
      RequestHead.Parsed<String> unknown = RequestHead.parse(buf, (b, off, len) -> null);
      assertThat(unknown.methodName()).isEqualTo(method);
      RequestHead.Parsed<String> parsed = RequestHead.parse(buf,
          (b, off, len) -> new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8).equals(method) ? "found" : null);
      assertThat(parsed.method()).isEqualTo(method.isEmpty() ? null : "found"); // an empty name is not sent
      assertThat(parsed.timeoutMicros()).isEqualTo(timeout);
      assertThat(parsed.metadata()).isEqualTo(md);
    }
  }

  @Test
  void responseHeadsMatchProtobufBothWays() {
    Random r = new Random(11);
    for (int i = 0; i < 2_000; i++) {
      StatusCode code = StatusCode.values()[r.nextInt(StatusCode.values().length)];
      String message = code == StatusCode.OK ? "" : TEXT[r.nextInt(TEXT.length)];
      Metadata md = randomMetadata(r);
      ResponseHeader proto = ResponseHeader.newBuilder().setStatus(code.value()).setMessage(message)
          .addAllMetadata(wire(md)).build();
      ResponseHead mine = ResponseHead.of(code, message, md);
      assertThat(hex(mine)).isEqualTo(ByteBufUtil.hexDump(proto.toByteArray()));
      ResponseHead parsed = ResponseHead.parse(Unpooled.wrappedBuffer(proto.toByteArray()));
      assertThat(parsed.status()).isEqualTo(code);
      assertThat(parsed.message()).isEqualTo(message);
      assertThat(parsed.trailers()).isEqualTo(md);
    }
    assertThat(ResponseHead.OK.serializedSize()).isZero();
    assertThat(ResponseHead.parse(Unpooled.EMPTY_BUFFER)).isSameAs(ResponseHead.OK);
    assertThat(ResponseHead.parse(Unpooled.wrappedBuffer(ResponseHeader.newBuilder().setStatus(42).build()
        .toByteArray())).status()).isEqualTo(StatusCode.UNKNOWN);
  }

  @Test
  void timeoutsAboveTheMaximumAreSentAndReadAsTheMaximum() {
    long max = RequestHead.MAX_TIMEOUT_MICROS;
    assertThat(max).isEqualTo(1_000_000_000_000_000L); // PROTOCOL.md section 9.3
    byte[] method = RequestHead.methodBytes("a.B/C");
    // Sending: a longer timeout goes out as the maximum, byte for byte as protobuf writes it.
    for (long timeout : new long[] {max, max + 1, Long.MAX_VALUE}) {
      assertThat(hex(new RequestHead(method, timeout, Metadata.EMPTY))).isEqualTo(ByteBufUtil.hexDump(
          RequestHeader.newBuilder().setMethod("a.B/C").setTimeoutMicros(max).build().toByteArray()));
    }
    assertThatThrownBy(() -> new RequestHead(method, -1, Metadata.EMPTY))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("timeoutMicros: -1 (expected: >= 0)");
    // Receiving: any uint64 above the maximum, 2^63 and up included, reads as the maximum.
    for (long wire : new long[] {max + 1, Long.MAX_VALUE, Long.MIN_VALUE, -1L}) {
      byte[] header = RequestHeader.newBuilder().setMethod("a.B/C").setTimeoutMicros(wire).build().toByteArray();
      assertThat(RequestHead.parse(Unpooled.wrappedBuffer(header), (b, off, len) -> null).timeoutMicros())
          .as("wire value %s", Long.toUnsignedString(wire)).isEqualTo(max);
    }
    byte[] exact = RequestHeader.newBuilder().setTimeoutMicros(max).build().toByteArray();
    assertThat(RequestHead.parse(Unpooled.wrappedBuffer(exact), (b, off, len) -> null).timeoutMicros()).isEqualTo(max);
  }

  @Test
  void boundedResponseHeadsCutTheMessageAtACharacterBoundary() {
    // 1-, 2-, 3- and 4-byte UTF-8 characters (the last a surrogate pair in Java), many times over.
    String message = "aé✓🚢".repeat(400);
    for (int max = 5; max <= 1100; max++) {
      ResponseHead h = ResponseHead.bounded(StatusCode.RESOURCE_EXHAUSTED, message, max);
      assertThat(h.serializedSize()).as("size for max %d", max).isLessThanOrEqualTo(max);
      assertThat(h.status()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED);
      assertThat(h.trailers().isEmpty()).isTrue();
      assertThat(message).startsWith(h.message());
      String cut = h.message();
      assertThat(cut.isEmpty() || !Character.isHighSurrogate(cut.charAt(cut.length() - 1)))
          .as("no half of a surrogate pair").isTrue();
      // What it writes is what protobuf writes, and parses back to the same text.
      ResponseHeader proto = ResponseHeader.newBuilder().setStatus(8).setMessage(cut).build();
      assertThat(hex(h)).isEqualTo(ByteBufUtil.hexDump(proto.toByteArray()));
      // Nothing more than a character or two (plus a byte of length prefix) is given away.
      assertThat(h.serializedSize()).as("size for max %d", max).isGreaterThan(max - 6);
    }
    ResponseHead fits = ResponseHead.bounded(StatusCode.INTERNAL, "short", 1024);
    assertThat(fits.message()).isEqualTo("short");
    assertThat(ResponseHead.bounded(StatusCode.INTERNAL, "x".repeat(5_000), Settings.MIN_MAX_METADATA_SIZE)
        .serializedSize()).isLessThanOrEqualTo(Settings.MIN_MAX_METADATA_SIZE);
    // A lone surrogate is written as one byte ('?'), and counted so.
    ResponseHead lone = ResponseHead.bounded(StatusCode.INTERNAL, "\ud800".repeat(100), 50);
    assertThat(lone.serializedSize()).isLessThanOrEqualTo(50).isGreaterThan(44);
    assertThatThrownBy(() -> ResponseHead.bounded(StatusCode.RESOURCE_EXHAUSTED, "x", 4))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxSize: 4 (expected: >= 5)");
  }

  @Test
  void offHeapBuffersDecodeTheSame() {
    RequestHeader proto = RequestHeader.newBuilder().setMethod("pkg.Svc/Ünï").setTimeoutMicros(7)
        .addMetadata(MetadataEntry.newBuilder().setKey("k").setValue("✓")).build();
    ByteBuf direct = Unpooled.directBuffer().writeBytes(proto.toByteArray());
    try {
      RequestHead.Parsed<Object> p = RequestHead.parse(direct, (b, off, len) -> null);
      assertThat(p.methodName()).isEqualTo("pkg.Svc/Ünï");
      assertThat(p.timeoutMicros()).isEqualTo(7);
      assertThat(p.metadata().get("k")).isEqualTo("✓");
    } finally {
      direct.release();
    }
  }

  @Test
  void unknownGroupsAreSkipped() {
    // Field 12 as a group holding a fixed64 and a nested group (found by CallHeaderFuzzTest).
    byte[] group = GoldenVector.hex("63 61 0102030405060708 6b 68 00 6c 64");
    byte[] request = concat(RequestHeader.newBuilder().setMethod("a.B/C").setTimeoutMicros(5).build().toByteArray(), group);
    RequestHead.Parsed<Object> parsed = RequestHead.parse(Unpooled.wrappedBuffer(request), (b, off, len) -> null);
    assertThat(parsed.methodName()).isEqualTo("a.B/C");
    assertThat(parsed.timeoutMicros()).isEqualTo(5);
    byte[] response = concat(GoldenVector.hex("0801"), group);
    assertThat(ResponseHead.parse(Unpooled.wrappedBuffer(response)).status()).isEqualTo(StatusCode.CANCELLED);
    byte[] deep = new byte[2 * (WireFormat.MAX_GROUP_DEPTH + 1)];
    for (int i = 0; i <= WireFormat.MAX_GROUP_DEPTH; i++) {
      deep[i] = 0x63;
      deep[deep.length - 1 - i] = 0x64;
    }
    assertThatThrownBy(() -> ResponseHead.parse(Unpooled.wrappedBuffer(deep)))
        .isInstanceOf(ProtocolException.class).hasMessageContaining("nested");
  }

  @Test
  void statusIsReadAsTheUint32ProtobufReads() throws Exception {
    // 2^32 + 5 as a 5-byte varint: protobuf keeps the low 32 bits, 5 (NOT_FOUND).
    byte[] overlong = GoldenVector.hex("08 85 80 80 80 10");
    assertThat(ResponseHeader.parseFrom(overlong).getStatus()).isEqualTo(5);
    assertThat(ResponseHead.parse(Unpooled.wrappedBuffer(overlong)).status()).isEqualTo(StatusCode.NOT_FOUND);
    // 2^31 + 5 does not fit an int: UNKNOWN, as any number v1 does not know.
    assertThat(ResponseHead.parse(Unpooled.wrappedBuffer(GoldenVector.hex("08 85 80 80 80 08"))).status())
        .isEqualTo(StatusCode.UNKNOWN);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void malformedHeadersAreProtocolErrorsAndBadKeysAreReported() {
    byte[][] malformed = {
        {0x0a, 0x05, 'a'},                    // string longer than the header
        {0x10, (byte) 0x80},                  // truncated varint
        {0x0a, 0x02, (byte) 0xc3, 0x28},      // invalid UTF-8 in the method
        {0x0b},                               // a group that does not end
        {0x0b, 0x08, 0x01, 0x14},             // group 1 ended as group 2
        {0x0c},                               // the end of a group that was not started
        {0x0e},                               // wire type 6 does not exist
        {0x00, 0x01},                         // field number 0 (found by CallHeaderFuzzTest)
        {0x1a, 0x02, 0x00, 0x01},             // field number 0 inside a metadata entry
        {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x10, 0x01}, // field 0 once cut to 32 bits
    };
    for (byte[] bytes : malformed) {
      assertThatThrownBy(() -> RequestHead.parse(Unpooled.wrappedBuffer(bytes), (b, off, len) -> null))
          .isInstanceOfSatisfying(ProtocolException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR))
          .hasMessageContaining("malformed call header");
    }
    malformed[2] = new byte[] {0x12, 0x02, (byte) 0xc3, 0x28}; // invalid UTF-8 in the status message
    for (byte[] bytes : malformed) {
      assertThatThrownBy(() -> ResponseHead.parse(Unpooled.wrappedBuffer(bytes)))
          .isInstanceOf(ProtocolException.class).hasMessageContaining("malformed call header");
    }
    byte[] badKey = RequestHeader.newBuilder().setMethod("a.B/C")
        .addMetadata(MetadataEntry.newBuilder().setKey("Bad Key").setValue("v")).build().toByteArray();
    RequestHead.Parsed<Object> parsed = RequestHead.parse(Unpooled.wrappedBuffer(badKey), (b, off, len) -> null);
    assertThat(parsed.metadata()).isNull();
    assertThat(parsed.metadataError()).contains("Bad Key");
    // Local keys are lowercased for the user; on the wire an uppercase key stays an invalid key.
    byte[] upperKey = RequestHeader.newBuilder().setMethod("a.B/C")
        .addMetadata(MetadataEntry.newBuilder().setKey("X-Caller").setValue("v")).build().toByteArray();
    parsed = RequestHead.parse(Unpooled.wrappedBuffer(upperKey), (b, off, len) -> null);
    assertThat(parsed.metadata()).isNull();
    assertThat(parsed.metadataError()).contains("X-Caller");
  }

  /**
   * A header that names a known method and carries nothing else parses to the lookup's one instance for
   * that method; a header with anything more (or an unknown method) parses to a new one with its values.
   */
  @Test
  void plainRequestHeadsComeFromTheLookup() {
    RequestHead.Parsed<String> kept = RequestHead.Parsed.plain("pkg.Svc/Known");
    RequestHead.MethodLookup<String> lookup = new RequestHead.MethodLookup<>() {
      @Override
      public String find(byte[] bytes, int offset, int length) {
        String name = new String(bytes, offset, length, java.nio.charset.StandardCharsets.UTF_8);
        return name.equals("pkg.Svc/Known") ? name : null;
      }

      @Override
      public RequestHead.Parsed<String> plain(String method) {
        return kept;
      }
    };
    byte[] known = RequestHead.methodBytes("pkg.Svc/Known");
    assertThat(parse(new RequestHead(known, 0, Metadata.EMPTY), lookup)).isSameAs(kept);
    RequestHead.Parsed<String> timed = parse(new RequestHead(known, 5, Metadata.EMPTY), lookup);
    assertThat(timed).isNotSameAs(kept);
    assertThat(timed.timeoutMicros()).isEqualTo(5);
    RequestHead.Parsed<String> withMetadata = parse(
        new RequestHead(known, 0, Metadata.builder().add("k", "v").build()), lookup);
    assertThat(withMetadata.metadata().get("k")).isEqualTo("v");
    assertThat(parse(new RequestHead(known, 0, Metadata.EMPTY, 7), lookup).idleTimeoutMicros()).isEqualTo(7);
    RequestHead.Parsed<String> unknown = parse(new RequestHead(RequestHead.methodBytes("pkg.Svc/Other"), 0,
        Metadata.EMPTY), lookup);
    assertThat(unknown.method()).isNull();
    assertThat(unknown.methodName()).isEqualTo("pkg.Svc/Other");
  }

  private static RequestHead.Parsed<String> parse(RequestHead head, RequestHead.MethodLookup<String> lookup) {
    ByteBuf buf = Unpooled.buffer();
    try {
      head.writeTo(buf);
      return RequestHead.parse(buf, lookup);
    } finally {
      buf.release();
    }
  }
}
