package dev.ferry.benchmarks.jmh;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import dev.ferry.Metadata;
import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameDecoder;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.RequestHead;
import dev.ferry.internal.wire.RequestHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Microbenchmarks of the codec: encoding a REQUEST frame, decoding a frame, parsing the call header
 * (Ferry's hand-written decoder against protobuf's generated one, with and without aliasing) and the
 * message body, from heap and direct buffers.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar org.openjdk.jmh.Main CodecBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class CodecBenchmark {
  @Param({"heap", "direct"})
  public String buffers;

  @Param({"0", "1024"})
  public int payloadSize;

  private ByteBufAllocator alloc;
  private CallFrame request;
  private ByteBuf encodedFrame;
  private ByteBuf header;
  private ByteBuf body;
  private EmbeddedChannel decoder;

  @Setup(Level.Trial)
  public void setUp() {
    alloc = buffers.equals("heap") ? new UnpooledByteBufAllocator(false) : PooledByteBufAllocator.DEFAULT;
    Payload payload = Payload.newBuilder().setData(ByteString.copyFrom(new byte[payloadSize])).build();
    RequestHead head = new RequestHead(RequestHead.methodBytes("ferry.bench.Bench/Echo"), 1_500_000,
        Metadata.of("x-request-id", "42"));
    request = new CallFrame(FrameType.REQUEST, 1, head, payload);
    encodedFrame = FrameEncoder.encode(alloc, request);
    header = copy(alloc, encodedFrame, Frame.HEADER_SIZE, head.serializedSize());
    body = copy(alloc, encodedFrame, Frame.HEADER_SIZE + head.serializedSize(),
        encodedFrame.readableBytes() - Frame.HEADER_SIZE - head.serializedSize());
    decoder = new EmbeddedChannel(new FrameDecoder(Integer.MAX_VALUE));
  }

  private static ByteBuf copy(ByteBufAllocator alloc, ByteBuf from, int index, int length) {
    return alloc.buffer(length).writeBytes(from, index, length);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    encodedFrame.release();
    header.release();
    body.release();
    decoder.finishAndReleaseAll();
  }

  /** Header, call header and body serialised into one buffer of exactly the frame's size. */
  @Benchmark
  public int encodeRequestFrame() {
    ByteBuf buf = FrameEncoder.encode(alloc, request);
    int n = buf.readableBytes();
    buf.release();
    return n;
  }

  /** One whole frame through the decoder (includes an EmbeddedChannel pipeline hop). */
  @Benchmark
  public int decodeFrame() {
    decoder.writeInbound(encodedFrame.retainedDuplicate());
    Frame f = decoder.readInbound();
    int id = f.requestId();
    f.release();
    return id;
  }

  /** Ferry's call-header decoder, looking the method up from its bytes. */
  @Benchmark
  public Object parseHeaderFerry() {
    return RequestHead.parse(header, (bytes, offset, length) -> length).method();
  }

  /** protobuf's generated parser for the same header, copying (no aliasing). */
  @Benchmark
  public Object parseHeaderProtobuf() throws IOException {
    return RequestHeader.parseFrom(header.nioBuffer()).getMethod();
  }

  /** protobuf's generated parser with aliasing: bytes fields may point into the input. */
  @Benchmark
  public Object parseHeaderProtobufAliasing() throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(header.nioBuffer());
    in.enableAliasing(true);
    return RequestHeader.parseFrom(in).getMethod();
  }

  /** The message body, as Ferry parses it (an array: the buffer's, or a scratch copy). */
  @Benchmark
  public Object parseBodyFerry() throws IOException {
    return Protobufs.parse(Payload.parser(), body);
  }

  /** The message body parsed in place from a ByteBuffer view, with aliasing. */
  @Benchmark
  public Object parseBodyAliasing() throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(body.nioBuffer());
    in.enableAliasing(true);
    return Payload.parseFrom(in);
  }
}
