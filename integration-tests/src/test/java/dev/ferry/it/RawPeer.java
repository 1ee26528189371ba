package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.MessageLite;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.CallHeader;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameDecoder;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.Preface;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.Settings;
import dev.ferry.internal.wire.RequestHeader;
import dev.ferry.internal.wire.ResponseHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A hand-driven peer on a blocking socket: writes exactly the bytes a test chooses and decodes what the
 * server sends back. For misbehaving-client tests that a well-behaved FerryChannel cannot produce.
 */
final class RawPeer implements AutoCloseable {
  private final Socket socket;
  private final EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder(Integer.MAX_VALUE));
  private boolean prefaceSkipped;
  private final ByteBuf pending = Unpooled.buffer();
  private int readSize = 8192;
  private long readPauseMillis;
  private long bytesRead;

  RawPeer(int port) throws IOException {
    this(port, 0);
  }

  /** A peer whose socket receive buffer is {@code receiveBufferBytes} (0 = the system default). */
  RawPeer(int port, int receiveBufferBytes) throws IOException {
    socket = new Socket();
    if (receiveBufferBytes > 0) {
      socket.setReceiveBufferSize(receiveBufferBytes); // before connecting, so the window is small
    }
    socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 10_000);
    socket.setSoTimeout(10_000);
  }

  /**
   * Makes {@link #next} a deliberately slow reader: at most {@code bytes} per socket read, with a pause of
   * {@code pauseMillis} before each (pacing, to play a client on a slow link).
   */
  RawPeer readSlowly(int bytes, long pauseMillis) {
    this.readSize = bytes;
    this.readPauseMillis = pauseMillis;
    return this;
  }

  /** This peer's local port, as the server's logs show it. */
  int localPort() {
    return socket.getLocalPort();
  }

  /** Half-closes: sends FIN, keeps reading. */
  void shutdownOutput() throws IOException {
    socket.shutdownOutput();
  }

  /** Writes {@code bytes} as they are. */
  RawPeer writeBytes(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
    return this;
  }

  /** The encoding of {@code frame} (released). */
  static byte[] encode(Object frame) {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(frame);
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf b; (b = enc.readOutbound()) != null; ) {
      all.writeBytes(b);
      b.release();
    }
    enc.finishAndReleaseAll();
    byte[] bytes = ByteBufUtil.getBytes(all);
    all.release();
    return bytes;
  }

  /** Sends preface and SETTINGS, like a well-behaved client. */
  RawPeer handshake() throws IOException {
    return handshake(Settings.DEFAULTS);
  }

  /** Sends preface and SETTINGS announcing {@code settings} (a stream window, for streaming). */
  RawPeer handshake(Settings settings) throws IOException {
    writeBytes(Preface.encode(UnpooledByteBufAllocator.DEFAULT));
    return send(Frame.settings(UnpooledByteBufAllocator.DEFAULT, settings));
  }

  /** A REQUEST for {@code method} with no metadata, whose body is {@code body} as given (valid or not). */
  static Frame request(int id, String method, byte[] body) {
    byte[] header = RequestHeader.newBuilder().setMethod(method).build().toByteArray();
    return new Frame(FrameType.REQUEST, 0, id, header.length, Unpooled.buffer().writeBytes(header).writeBytes(body));
  }

  /** A REQUEST for {@code method} with REQUEST {@code flags} (a streaming kind), encoded when sent. */
  static CallFrame request(int id, String method, int flags, MessageLite body) {
    return new CallFrame(FrameType.REQUEST, id, flags,
        CallHeader.of(RequestHeader.newBuilder().setMethod(method).build()), body);
  }

  /** The header of the next RESPONSE from the server, skipping other frames; it must be for {@code id}. */
  ResponseHeader response(int id) throws IOException {
    for (;;) {
      Frame f = next();
      assertThat(f).as("the connection stays open").isNotNull();
      try {
        if (f.type() == FrameType.RESPONSE) {
          assertThat(f.requestId()).isEqualTo(id);
          return Protobufs.parse(ResponseHeader.parser(), f.callHeader());
        }
      } finally {
        f.release();
      }
    }
  }

  RawPeer send(Object frame) throws IOException {
    EmbeddedChannel enc = new EmbeddedChannel(new FrameEncoder());
    enc.writeOutbound(frame);
    for (ByteBuf b; (b = enc.readOutbound()) != null; ) {
      writeBytes(b);
    }
    enc.finishAndReleaseAll();
    return this;
  }

  RawPeer writeBytes(ByteBuf b) throws IOException {
    try {
      socket.getOutputStream().write(ByteBufUtil.getBytes(b));
      socket.getOutputStream().flush();
    } finally {
      b.release();
    }
    return this;
  }

  /** The next frame from the server, skipping its preface and SETTINGS; null once the server closed. */
  Frame next() throws IOException {
    for (;;) {
      Object o = decoder.readInbound();
      if (o != null) {
        Frame f = (Frame) o;
        if (f.type() == dev.ferry.internal.FrameType.SETTINGS) {
          f.release();
          continue;
        }
        return f;
      }
      if (!readSome()) {
        return null;
      }
    }
  }

  /**
   * Reads once from the socket (what {@link #next} reads in one go), keeping the bytes for {@link #next};
   * false once the server closed.
   */
  boolean readSome() throws IOException {
    byte[] buf = new byte[readSize];
    int n;
    InputStream in = socket.getInputStream();
    try {
      if (readPauseMillis > 0) {
        Thread.sleep(readPauseMillis);
      }
      n = in.read(buf);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no frame from the server within 10 s");
    } catch (IOException e) {
      return false; // reset
    }
    if (n < 0) {
      return false;
    }
    bytesRead += n;
    pending.writeBytes(buf, 0, n);
    if (!prefaceSkipped) {
      if (pending.readableBytes() < Preface.SIZE) {
        return true;
      }
      pending.skipBytes(Preface.SIZE);
      prefaceSkipped = true;
    }
    // A copy: the decoder may keep these bytes for a frame it has only part of, so they must not be
    // shared with a buffer that is compacted below.
    decoder.writeInbound(Unpooled.copiedBuffer(pending));
    pending.clear();
    return true;
  }

  /** Bytes read from the server so far, its preface included. */
  long bytesRead() {
    return bytesRead;
  }

  /** Reads until the server closes; returns every frame it sent (caller releases). */
  List<Frame> untilClosed() throws IOException {
    List<Frame> frames = new ArrayList<>();
    for (Frame f; (f = next()) != null; ) {
      frames.add(f);
    }
    return frames;
  }

  @Override
  public void close() throws IOException {
    socket.close();
    pending.release();
    decoder.finishAndReleaseAll();
  }
}
