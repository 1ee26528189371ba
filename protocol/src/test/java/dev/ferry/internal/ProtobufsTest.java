package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.AbstractParser;
import com.google.protobuf.BytesValue;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProtobufsTest {
  private static BytesValue message(int size) {
    byte[] data = new byte[size];
    new Random(size).nextBytes(data);
    return BytesValue.of(ByteString.copyFrom(data));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 1024, Protobufs.OWN_ARRAY_THRESHOLD - 8, Protobufs.OWN_ARRAY_THRESHOLD + 1,
      64 * 1024, 1024 * 1024})
  void parsesHeapAndDirectBuffersAlike(int size) throws Exception {
    BytesValue m = message(size);
    byte[] bytes = m.toByteArray();
    ByteBuf direct = Unpooled.directBuffer(bytes.length + 7).writeZero(7).writeBytes(bytes).skipBytes(7);
    ByteBuf heap = Unpooled.buffer(bytes.length + 3).writeZero(3).writeBytes(bytes).skipBytes(3);
    try {
      assertThat(Protobufs.parse(BytesValue.parser(), direct)).isEqualTo(m);
      assertThat(Protobufs.parse(BytesValue.parser(), heap)).isEqualTo(m);
      assertThat(direct.readerIndex()).isEqualTo(7);
      assertThat(heap.readerIndex()).isEqualTo(3);
    } finally {
      direct.release();
      heap.release();
    }
  }

  /** A part of a buffer is parsed where it lies, whatever surrounds it and wherever its reader index is. */
  @ParameterizedTest
  @ValueSource(ints = {1, 1024, 64 * 1024})
  void parsesPartOfBufferInPlace(int size) throws Exception {
    BytesValue m = message(size);
    byte[] bytes = m.toByteArray();
    for (ByteBuf buf : new ByteBuf[] {Unpooled.directBuffer(), Unpooled.buffer()}) {
      try {
        buf.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF}).writeBytes(bytes).writeByte(0xFF);
        buf.skipBytes(1);
        assertThat(Protobufs.parse(BytesValue.parser(), buf, 3, bytes.length)).isEqualTo(m);
        assertThat(buf.readerIndex()).isEqualTo(1);
      } finally {
        buf.release();
      }
    }
  }

  /**
   * A large off-heap body is copied to the heap once, and its bytes field aliases that copy. Before,
   * protobuf copied the field a second time: it aliases only input marked immutable. (An aliased field
   * is a view into the copy, a BoundedByteString, where a copied one is a LiteralByteString of its own.)
   */
  @Test
  void largeDirectBodyIsCopiedOnce() throws Exception {
    int size = 256 * 1024;
    BytesValue m = message(size);
    ByteBuf direct = Unpooled.directBuffer(size + 16).writeBytes(m.toByteArray());
    try {
      BytesValue parsed = Protobufs.parse(BytesValue.parser(), direct);
      assertThat(parsed).isEqualTo(m);
      assertThat(parsed.getValue().getClass().getSimpleName()).isEqualTo("BoundedByteString");
      // The parsed bytes do not change when the buffer does: the copy is the message's own.
      direct.setByte(5, direct.getByte(5) + 1);
      assertThat(parsed).isEqualTo(m);
    } finally {
      direct.release();
    }
  }

  @Test
  void smallDirectBodyIsNotAliased() throws Exception {
    BytesValue m = message(1024);
    ByteBuf direct = Unpooled.directBuffer(2048).writeBytes(m.toByteArray());
    try {
      BytesValue parsed = Protobufs.parse(BytesValue.parser(), direct);
      // Parsed from the per-thread scratch array, which the next parse overwrites: copied out.
      assertThat(parsed.getValue().getClass().getSimpleName()).isNotEqualTo("BoundedByteString");
      ByteBuf other = Unpooled.directBuffer(2048).writeBytes(message(1000).toByteArray());
      try {
        Protobufs.parse(BytesValue.parser(), other); // overwrites the scratch array
      } finally {
        other.release();
      }
      assertThat(parsed).isEqualTo(m);
    } finally {
      direct.release();
    }
  }

  /** A parser that counts its parses and fails them while told to (as zero bytes fail a message with required fields). */
  private static final class CountingParser extends AbstractParser<BytesValue> {
    final AtomicInteger parses = new AtomicInteger();
    volatile boolean fail;

    @Override
    public BytesValue parsePartialFrom(CodedInputStream in, ExtensionRegistryLite registry)
        throws InvalidProtocolBufferException {
      parses.incrementAndGet();
      if (fail) {
        throw new InvalidProtocolBufferException("missing required fields");
      }
      return BytesValue.parser().parsePartialFrom(in, registry);
    }
  }

  /** An empty body is parsed once per message type; after that, its one immutable result serves. */
  @Test
  void emptyBodyIsParsedOncePerParser() throws Exception {
    CountingParser parser = new CountingParser();
    BytesValue first = Protobufs.parse(parser, Unpooled.EMPTY_BUFFER);
    ByteBuf read = Unpooled.directBuffer(8).writeZero(8).skipBytes(8);
    BytesValue second;
    try {
      second = Protobufs.parse(parser, read);
    } finally {
      read.release();
    }
    assertThat(first).isEqualTo(BytesValue.getDefaultInstance());
    assertThat(second).isSameAs(first);
    assertThat(parser.parses).hasValue(1);
  }

  /** Zero bytes that do not parse are not remembered: each empty body fails as protobuf says. */
  @Test
  void emptyBodyThatFailsToParseFailsEachTime() {
    CountingParser parser = new CountingParser();
    parser.fail = true;
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> Protobufs.parse(parser, Unpooled.EMPTY_BUFFER))
          .isInstanceOf(InvalidProtocolBufferException.class);
    }
    assertThat(parser.parses).hasValue(2);
  }
}
