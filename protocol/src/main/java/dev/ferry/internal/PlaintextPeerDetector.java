package dev.ferry.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Goes in front of a TLS client's {@code SslHandler} and looks at the first bytes the server sends: if
 * they are the plaintext Ferry preface, the server has TLS off, and the connection fails with
 * {@link TlsSupport.PlaintextPeerException} saying so (rather than the SslHandler's bare "not an SSL/TLS
 * record"). Anything else goes on to the SslHandler; the detector then removes itself.
 *
 * <p>One per connection; event loop only.
 */
public final class PlaintextPeerDetector extends ByteToMessageDecoder {
  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    int match = Preface.matchMagic(in);
    if (match < 0) {
      ctx.pipeline().remove(this); // the buffered bytes go on to the SslHandler
    } else if (match > 0) {
      in.skipBytes(in.readableBytes());
      throw new TlsSupport.PlaintextPeerException(
          "the server answered in plaintext Ferry, not TLS (is TLS enabled on the server?)");
    }
  }
}
