package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ResourceLeakDetector;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the fuzz tests share: the input layout, a buffer allocator that checks every buffer was
 * released, a recorder for what reaches the end of a pipeline, and the frame round-trip check.
 *
 * <p>Input layout of the two decoder targets: byte 0 is a control byte (bits 0-3: how many split
 * points follow; bits 4-7: options of the target), then one byte per split point giving the length of
 * a chunk (0 is an empty read), then the wire bytes. The wire bytes are fed in those chunks, and the
 * rest in one last chunk, as separate reads; then the connection is closed.
 */
final class FuzzHarness {
  /** Whether Jazzer runs in fuzzing mode (rather than replaying the corpus). */
  static final boolean FUZZING = !System.getenv().getOrDefault("JAZZER_FUZZ", "").isEmpty();

  /**
   * Call from the static initialiser of each fuzz test class (before any handler class is loaded).
   * When fuzzing, millions of inputs run: the connection error log would dominate the run, so it is
   * turned off, and so is Netty's leak detector, whose stack traces cost more than the decoding; the
   * {@link TrackingAllocator} finds leaks exactly, per input, instead. Replaying the corpus in the
   * normal build changes nothing.
   */
  static void configure() {
    if (FUZZING && "false".equals(System.getProperty("jazzer.hooks"))) {
      throw new IllegalStateException("JAZZER_FUZZ is set but jazzer.hooks is false: fuzzing would run blind, "
          + "without coverage (the protocol pom's jazzer-fuzz profile turns hooks on when JAZZER_FUZZ is set)");
    }
    if (FUZZING) {
      System.setProperty("org.slf4j.simpleLogger.log.dev.ferry.internal.ConnectionErrorHandler", "off");
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }
  }

  private static final Field CUMULATION;

  static {
    try {
      CUMULATION = ByteToMessageDecoder.class.getDeclaredField("cumulation");
      CUMULATION.setAccessible(true);
    } catch (NoSuchFieldException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private FuzzHarness() {}

  /** A fuzz input split into its control bits, chunk lengths and wire bytes. */
  static final class Input {
    final int options;
    final int[] chunks;
    final byte[] wire;

    private Input(int options, int[] chunks, byte[] wire) {
      this.options = options;
      this.chunks = chunks;
      this.wire = wire;
    }

    static Input parse(byte[] data) {
      if (data.length == 0) {
        return new Input(0, new int[0], data);
      }
      int control = data[0] & 0xFF;
      int splits = Math.min(control & 0x0F, data.length - 1);
      int[] chunks = new int[splits];
      for (int i = 0; i < splits; i++) {
        chunks[i] = data[1 + i] & 0xFF;
      }
      return new Input(control >>> 4, chunks, Arrays.copyOfRange(data, 1 + splits, data.length));
    }

    /** The bytes of a seed: options, split points, wire bytes. */
    static byte[] encode(int options, int[] chunks, byte[] wire) {
      byte[] out = new byte[1 + chunks.length + wire.length];
      out[0] = (byte) (options << 4 | chunks.length);
      for (int i = 0; i < chunks.length; i++) {
        out[1 + i] = (byte) chunks[i];
      }
      System.arraycopy(wire, 0, out, 1 + chunks.length, wire.length);
      return out;
    }

    /** The reads, as [from, to) ranges of {@link #wire}; the last one holds whatever is left. */
    List<int[]> reads() {
      List<int[]> reads = new ArrayList<>();
      int at = 0;
      for (int c : chunks) {
        int to = Math.min(wire.length, at + c);
        reads.add(new int[] {at, to});
        at = to;
      }
      reads.add(new int[] {at, wire.length});
      return reads;
    }
  }

  /**
   * Allocates unpooled buffers and remembers each, so that a test can check that every buffer it
   * caused to be allocated was released: exact and immediate, where Netty's leak detector notices a
   * leak only once the garbage collector has reclaimed the buffer.
   */
  static final class TrackingAllocator extends AbstractByteBufAllocator {
    private final List<ByteBuf> allocated = new ArrayList<>();

    TrackingAllocator() {
      super(false);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      return track(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
    }

    private ByteBuf track(ByteBuf buf) {
      allocated.add(buf);
      return buf;
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }

    /** A new buffer holding {@code bytes[from, to)}. */
    ByteBuf copyOf(byte[] bytes, int from, int to) {
      return heapBuffer(to - from).writeBytes(bytes, from, to - from);
    }

    /** Fails if a buffer allocated here is still referenced. */
    void assertAllReleased() {
      for (ByteBuf b : allocated) {
        assertThat(b.refCnt()).as("reference count of a %d-byte buffer", b.capacity()).isZero();
      }
    }

    /** Releases what is left (after a failed check), so that one finding does not cascade. */
    void releaseAll() {
      for (ByteBuf b : allocated) {
        if (b.refCnt() > 0) {
          b.release(b.refCnt());
        }
      }
    }
  }

  /** Records what reaches the end of a pipeline; keeps exceptions from reaching the channel's tail. */
  static final class Recorder extends ChannelInboundHandlerAdapter {
    final List<Frame> frames = new ArrayList<>();
    final List<Throwable> errors = new ArrayList<>();
    final List<Object> others = new ArrayList<>();
    HandshakeCompleted handshake;
    int framesBeforeFirstError = -1;
    private final boolean passErrorsOn;

    /** @param passErrorsOn whether exceptions go on down the pipeline (to a ConnectionErrorHandler) */
    Recorder(boolean passErrorsOn) {
      this.passErrorsOn = passErrorsOn;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Frame) {
        frames.add((Frame) msg);
      } else {
        others.add(msg);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof HandshakeCompleted) {
        assertThat(handshake).as("a second HandshakeCompleted").isNull();
        handshake = (HandshakeCompleted) evt;
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (errors.isEmpty()) {
        framesBeforeFirstError = frames.size();
      }
      errors.add(cause);
      if (passErrorsOn) {
        ctx.fireExceptionCaught(cause);
      }
    }

    /** Checks what a receiver may raise: one {@link ProtocolException} at most, nothing after it. */
    void assertWellBehaved() {
      for (Throwable t : errors) {
        if (!(t instanceof ProtocolException)) {
          throw new AssertionError("undocumented exception from the decoder: " + t, t);
        }
      }
      assertThat(errors).as("exceptions raised").hasSizeLessThanOrEqualTo(1);
      if (!errors.isEmpty()) {
        assertThat(frames).as("frames delivered after the protocol error").hasSize(framesBeforeFirstError);
      }
      assertThat(others).as("messages other than frames").isEmpty();
    }

    void releaseAll() {
      frames.forEach(f -> {
        if (f.refCnt() > 0) {
          f.release();
        }
      });
      others.forEach(io.netty.util.ReferenceCountUtil::safeRelease);
    }
  }

  /** Readable bytes the decoder holds between reads (its cumulation buffer). */
  static int bufferedBytes(ByteToMessageDecoder decoder) {
    try {
      ByteBuf cumulation = (ByteBuf) CUMULATION.get(decoder);
      return cumulation == null ? 0 : cumulation.readableBytes();
    } catch (IllegalAccessException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Walks the frame headers in {@code wire} from {@code at} and checks that each decoded frame is,
   * re-encoded by {@link FrameEncoder}, exactly the bytes it came from (reserved header bytes as
   * zero, which is what senders send and receivers ignore). Extension frames are skipped, as the
   * decoder does (before the first frame only if {@code extensionsFirst}). Returns where the walk ended: past the last frame checked and any complete
   * extension frames after it.
   */
  static int assertRoundTrips(ByteBufAllocator alloc, byte[] wire, int at, List<Frame> frames,
      int maxFrameSize, boolean extensionsFirst) {
    EmbeddedChannel encoder = new EmbeddedChannel();
    encoder.config().setAllocator(alloc);
    encoder.pipeline().addLast(new FrameEncoder());
    try {
      boolean first = true;
      for (Frame f : frames) {
        if (!first || extensionsFirst) {
          at = skipExtensions(wire, at, maxFrameSize);
        }
        first = false;
        assertThat(wire.length - at).as("bytes left for the next frame").isGreaterThanOrEqualTo(Frame.HEADER_SIZE);
        long length = Unpooled.wrappedBuffer(wire).getUnsignedInt(at);
        assertThat(length).as("length of a delivered frame").isBetween((long) Frame.HEADER_SIZE, (long) wire.length - at);
        assertThat(f.frameLength()).as("length of %s", f).isEqualTo(length);
        byte[] expected = Arrays.copyOfRange(wire, at, at + (int) length);
        expected[6] = 0;
        expected[7] = 0;
        checkAccessors(f);
        encoder.writeOutbound(f.retainedDuplicate());
        ByteBuf encoded = Unpooled.buffer();
        for (ByteBuf b; (b = encoder.readOutbound()) != null; ) {
          encoded.writeBytes(b);
          b.release();
        }
        assertThat(ByteBufUtil.hexDump(encoded)).as("%s re-encoded", f).isEqualTo(ByteBufUtil.hexDump(expected));
        at += (int) length;
      }
      return frames.isEmpty() && !extensionsFirst ? at : skipExtensions(wire, at, maxFrameSize);
    } finally {
      encoder.finishAndReleaseAll();
    }
  }

  /** Past any complete extension frames at {@code at} that the decoder accepts (length 16 to max). */
  static int skipExtensions(byte[] wire, int at, int maxFrameSize) {
    ByteBuf b = Unpooled.wrappedBuffer(wire);
    while (wire.length - at >= Frame.HEADER_SIZE && FrameType.isExtension(b.getUnsignedByte(at + 4))) {
      long length = b.getUnsignedInt(at);
      if (length < Frame.HEADER_SIZE || length > maxFrameSize || length > wire.length - at) {
        break;
      }
      at += (int) length;
    }
    return at;
  }

  /** The type-specific views of a decoded frame never throw: the decoder checked what they read. */
  private static void checkAccessors(Frame f) {
    assertThat(f.requestId()).isBetween(0, Frame.MAX_REQUEST_ID);
    assertThat(f.callHeader().readableBytes() + f.body().readableBytes()).isEqualTo(f.content().readableBytes());
    switch (f.type()) {
      case PING:
      case PONG:
        f.pingData();
        break;
      case GOAWAY:
        assertThat(f.goAwayLastRequestId()).isNotNegative();
        assertThat(f.errorCode()).isNotNull();
        assertThat(f.reason()).isNotNull();
        break;
      case ERROR:
        assertThat(f.errorCode()).isNotNull();
        assertThat(f.reason()).isNotNull();
        break;
      case SETTINGS:
        Settings.decode(f.content());
        break;
      case WINDOW_UPDATE:
        assertThat(f.windowIncrement()).isBetween(1L, (long) Integer.MAX_VALUE);
        break;
      case STREAM_MESSAGE:
        assertThat(f.hasMessage() || (f.endsStream() && f.content().readableBytes() == 0)).isTrue();
        break;
      default:
        break;
    }
  }

  /** Hex of the first bytes of an input, for assertion messages. */
  static String preview(byte[] wire) {
    int n = Math.min(wire.length, 48);
    return ByteBufUtil.hexDump(wire, 0, n) + (n < wire.length ? "..." : "") + " (" + wire.length + " bytes)";
  }
}
