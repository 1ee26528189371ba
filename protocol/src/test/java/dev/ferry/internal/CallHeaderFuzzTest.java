package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.internal.wire.MetadataEntry;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Fuzzes the decoding of what a frame carries besides its header: the hand-written call header
 * readers ({@link RequestHead#parse}, {@link ResponseHead#parse}, over {@link WireFormat}) and
 * {@link Settings#decode}. The input is the call header or SETTINGS payload itself.
 *
 * <p>Invariants: only the documented exceptions come out ({@link ProtocolException}; for trailers
 * also {@link IllegalArgumentException}); the result does not depend on where the bytes sit (an
 * array at offset 0, an array at an offset, off-heap); what the hand-written reader accepts,
 * protobuf accepts too and reads the same way; whatever protobuf reads, the hand-written reader
 * reads the same from protobuf's canonical encoding of it; SETTINGS follow an independent reading of
 * PROTOCOL.md section 8 and survive an encode/decode round trip.
 */
class CallHeaderFuzzTest {
  static {
    FuzzHarness.configure();
  }

  private static final List<String> KNOWN_METHODS = List.of("demo.Greeter/Hello", "pkg.Svc/M");

  /** Finds a method as a server does: only names it knows, straight from the bytes. */
  private static final RequestHead.MethodLookup<String> LOOKUP = (bytes, offset, length) -> {
    for (String m : KNOWN_METHODS) {
      byte[] name = m.getBytes(StandardCharsets.UTF_8);
      if (Arrays.equals(bytes, offset, offset + length, name, 0, name.length)) {
        return m;
      }
    }
    return null;
  };

  @FuzzTest(maxDuration = "2m")
  void requestHead(byte[] bytes) {
    Outcome<RequestHead.Parsed<String>> mine = parseEverywhere(bytes, buf -> RequestHead.parse(buf, LOOKUP));
    assertThat(mine.error).as("exception from RequestHead.parse").isSameAs(mine.protocolError);
    RequestHeader proto = parseProto(bytes, RequestHeader::parseFrom);
    if (mine.value != null) {
      assertThat(proto).as("protobuf accepts what Ferry accepts").isNotNull();
      assertSame(mine.value, proto);
    }
    if (proto != null) {
      byte[] canonical = proto.toByteArray();
      Outcome<RequestHead.Parsed<String>> again = parseEverywhere(canonical, buf -> RequestHead.parse(buf, LOOKUP));
      assertThat(again.error).as("Ferry reads protobuf's encoding of %s", proto).isNull();
      assertSame(again.value, proto);
    }
  }

  private static void assertSame(RequestHead.Parsed<String> mine, RequestHeader proto) {
    String method = mine.method() != null ? mine.method() : mine.methodName();
    assertThat(method).isEqualTo(proto.getMethod());
    assertThat(mine.method() != null).isEqualTo(KNOWN_METHODS.contains(proto.getMethod()));
    // PROTOCOL.md section 9.3: a uint64 above the maximum reads as the maximum.
    long expectedTimeout = Long.compareUnsigned(proto.getTimeoutMicros(), RequestHead.MAX_TIMEOUT_MICROS) > 0
        ? RequestHead.MAX_TIMEOUT_MICROS : proto.getTimeoutMicros();
    assertThat(mine.timeoutMicros()).isEqualTo(expectedTimeout);
    assertMetadata(mine.metadata(), mine.metadataError(), proto.getMetadataList());
  }

  @FuzzTest(maxDuration = "2m")
  void responseHead(byte[] bytes) {
    Outcome<ResponseHead> mine = parseEverywhere(bytes, ResponseHead::parse);
    ResponseHeader proto = parseProto(bytes, ResponseHeader::parseFrom);
    if (mine.value != null) {
      assertThat(proto).as("protobuf accepts what Ferry accepts").isNotNull();
      assertSame(mine.value, proto);
    } else if (mine.error instanceof IllegalArgumentException) {
      assertThat(proto).as("protobuf accepts a header with a bad trailer key").isNotNull();
      assertThat(validKeys(proto.getMetadataList())).as("keys of %s", proto.getMetadataList()).isFalse();
    }
    if (proto != null) {
      byte[] canonical = proto.toByteArray();
      Outcome<ResponseHead> again = parseEverywhere(canonical, ResponseHead::parse);
      if (validKeys(proto.getMetadataList())) {
        assertThat(again.error).as("Ferry reads protobuf's encoding of %s", proto).isNull();
        assertSame(again.value, proto);
      } else {
        assertThat(again.error).isInstanceOf(IllegalArgumentException.class);
      }
    }
  }

  /** ResponseHead.parse, with a result that prints its content (to compare the buffer layouts). */
  private static String describe(Object o) {
    if (o instanceof ResponseHead) {
      ResponseHead h = (ResponseHead) o;
      return "ResponseHead[" + h.status() + ", " + h.message() + ", " + h.trailers() + "]";
    }
    return String.valueOf(o);
  }

  private static void assertSame(ResponseHead mine, ResponseHeader proto) {
    assertThat(mine.status()).isEqualTo(StatusCode.fromValue(proto.getStatus()));
    assertThat(mine.message()).isEqualTo(proto.getMessage());
    assertMetadata(mine.trailers(), null, proto.getMetadataList());
  }

  private static void assertMetadata(Metadata mine, String error, List<MetadataEntry> proto) {
    if (validKeys(proto)) {
      assertThat(error).isNull();
      assertThat(mine).isEqualTo(WireMetadata.fromWire(proto));
    } else {
      assertThat(mine).isNull();
      assertThat(error).isNotNull();
    }
  }

  private static boolean validKeys(List<MetadataEntry> entries) {
    try {
      WireMetadata.fromWire(entries);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @FuzzTest(maxDuration = "2m")
  void settings(byte[] bytes) {
    Outcome<Settings> mine = parseEverywhere(bytes, Settings::decode);
    assertThat(mine.error).as("exception from Settings.decode").isSameAs(mine.protocolError);
    // PROTOCOL.md section 8, read independently: entries of 6 bytes, the last value of an id wins,
    // unknown ids are ignored, every MAX_FRAME_SIZE must be 16384 to 2^31-1, every MAX_METADATA_SIZE at
    // least 1024.
    boolean valid = bytes.length % 6 == 0;
    long[] values = {-1, Settings.DEFAULT_MAX_FRAME_SIZE, 0, Integer.MAX_VALUE, 0, Settings.DEFAULT_MAX_METADATA_SIZE};
    ByteBuf b = Unpooled.wrappedBuffer(bytes);
    for (int at = 0; valid && at < bytes.length; at += 6) {
      int id = b.getUnsignedShort(at);
      long value = b.getUnsignedInt(at + 2);
      if (id == Settings.ID_MAX_FRAME_SIZE && (value < 16384 || value > Integer.MAX_VALUE)) {
        valid = false;
      }
      if (id == Settings.ID_MAX_METADATA_SIZE && value < 1024) {
        valid = false;
      }
      if (id >= 1 && id <= 5) {
        values[id] = value;
      }
    }
    if (!valid) {
      assertThat(mine.protocolError).as("decoding invalid SETTINGS").isNotNull();
      return;
    }
    assertThat(mine.protocolError).as("decoding valid SETTINGS").isNull();
    Settings s = mine.value;
    assertThat(s.maxFrameSize()).isEqualTo(values[Settings.ID_MAX_FRAME_SIZE]);
    assertThat(s.heartbeatIntervalMillis()).isEqualTo(values[Settings.ID_HEARTBEAT_INTERVAL_MS]);
    assertThat(s.maxConcurrentCalls()).isEqualTo(Math.min(values[Settings.ID_MAX_CONCURRENT_CALLS], Integer.MAX_VALUE));
    assertThat(s.minPingIntervalMillis()).isEqualTo(values[Settings.ID_MIN_PING_INTERVAL_MS]);
    assertThat(s.maxMetadataSize()).isEqualTo(Math.min(values[Settings.ID_MAX_METADATA_SIZE], Integer.MAX_VALUE));
    ByteBuf encoded = Unpooled.buffer();
    s.encode(encoded);
    assertThat(encoded.readableBytes()).isEqualTo(s.encodedSize());
    assertThat(Settings.decode(encoded)).as("decoded again").isEqualTo(s);
  }

  /** What a decoder made of some bytes: a value, or the exception it threw. */
  private static final class Outcome<T> {
    T value;
    RuntimeException error;
    ProtocolException protocolError;
  }

  /**
   * Decodes {@code bytes} from an array at offset 0, from an array at an offset and off-heap; the
   * three must agree. Exceptions other than ProtocolException and IllegalArgumentException are
   * rethrown (a finding).
   */
  private static <T> Outcome<T> parseEverywhere(byte[] bytes, Function<ByteBuf, T> decode) {
    Outcome<T> first = null;
    ByteBuf[] layouts = {
      Unpooled.wrappedBuffer(bytes),
      Unpooled.buffer(bytes.length + 7).writeBytes(new byte[] {1, 2, 3}).writeBytes(bytes).skipBytes(3)
          .slice(), // reader index 0 of a slice at array offset 3
      Unpooled.directBuffer(bytes.length + 1).writeByte(9).writeBytes(bytes).skipBytes(1),
    };
    try {
      for (ByteBuf buf : layouts) {
        int readerIndex = buf.readerIndex();
        int writerIndex = buf.writerIndex();
        Outcome<T> o = new Outcome<>();
        try {
          o.value = decode.apply(buf);
        } catch (ProtocolException e) {
          o.error = e;
          o.protocolError = e;
        } catch (IllegalArgumentException e) {
          o.error = e;
        }
        assertThat(buf.readerIndex()).as("reader index after decoding").isEqualTo(readerIndex);
        assertThat(buf.writerIndex()).as("writer index after decoding").isEqualTo(writerIndex);
        if (first == null) {
          first = o;
        } else {
          assertThat(describe(o.value)).as("decoded off-heap or at an offset").isEqualTo(describe(first.value));
          assertThat(String.valueOf(o.error)).isEqualTo(String.valueOf(first.error));
        }
      }
      if (first.error != null && !(first.error instanceof ProtocolException)) {
        assertThat(first.error).as("IllegalArgumentException is for trailer keys only")
            .hasMessageStartingWith("metadata key:");
      }
      return first;
    } finally {
      for (ByteBuf buf : layouts) {
        buf.release();
      }
    }
  }

  @FunctionalInterface
  private interface ProtoParser<T> {
    T parse(byte[] bytes) throws InvalidProtocolBufferException;
  }

  private static <T> T parseProto(byte[] bytes, ProtoParser<T> parser) {
    try {
      return parser.parse(bytes);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }
}
