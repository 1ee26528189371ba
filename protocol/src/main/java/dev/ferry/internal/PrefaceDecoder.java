package dev.ferry.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Checks the peer's connection preface, then removes itself and hands the bytes after it on to the
 * {@link FrameDecoder}.
 *
 * <p>The magic is checked byte by byte as it arrives, so a peer that is not Ferry (an HTTP request,
 * a TLS ClientHello, noise) is recognised at its first wrong byte and the connection is closed
 * without a reply ({@link ProtocolException.NotFerryPeer}). A preface with another protocol version
 * is answered with ERROR(UNSUPPORTED_VERSION) before the close. Stateful: one per connection.
 * Runs on the channel's event loop.
 */
public final class PrefaceDecoder extends ByteToMessageDecoder {
  private boolean failed;

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    int at = in.readerIndex();
    if (Preface.matchMagic(in) < 0) {
      failed = true;
      String description = describe(in);
      in.skipBytes(in.readableBytes());
      throw new ProtocolException.NotFerryPeer("not a Ferry peer: " + description);
    }
    if (in.readableBytes() < Preface.SIZE) {
      return;
    }
    int version = in.getUnsignedShort(at + 4);
    if (version != Preface.VERSION) {
      failed = true;
      in.skipBytes(in.readableBytes());
      throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "peer speaks Ferry protocol version "
          + version + "; this side speaks version " + Preface.VERSION);
    }
    in.skipBytes(Preface.SIZE);
    ctx.pipeline().remove(this);
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (!failed && in.isReadable()) {
      failed = true;
      int n = in.readableBytes();
      in.skipBytes(n);
      throw new ProtocolException.Truncated(
          "connection closed during the preface (" + n + " of " + Preface.SIZE + " bytes received)");
    }
  }

  /** Names what the first bytes look like, for the log. */
  static String describe(ByteBuf in) {
    int n = Math.min(in.readableBytes(), 8);
    int at = in.readerIndex();
    String hex = io.netty.buffer.ByteBufUtil.hexDump(in, at, n);
    if (n >= 2 && in.getUnsignedByte(at) == 0x16 && in.getUnsignedByte(at + 1) == 0x03) {
      return "first bytes " + hex + " look like a TLS handshake (is the client using TLS against a "
          + "plaintext server?)";
    }
    String text = in.toString(at, n, java.nio.charset.StandardCharsets.ISO_8859_1);
    if (text.length() >= 3) {
      if (text.startsWith("HTTP")) {
        return "first bytes " + hex + " look like an HTTP response (is this an HTTP server?)";
      }
      for (String method : new String[] {"GET ", "POST", "PUT ", "HEAD", "PRI ", "OPTI", "DELE", "CONN", "PATC"}) {
        if (text.startsWith(method.substring(0, Math.min(method.length(), text.length())))) {
          return "first bytes " + hex + " look like an HTTP request (\"" + text.trim() + "...\")";
        }
      }
    }
    return "first bytes " + hex + " are not the preface magic fe465259";
  }
}
