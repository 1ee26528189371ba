package dev.ferry.server;

import dev.ferry.internal.Addresses;
import dev.ferry.internal.ConnectionErrorHandler;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.LogAggregator;
import dev.ferry.internal.Preface;
import dev.ferry.internal.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * First in a TLS server's pipeline: looks at the first bytes a client sends. If they are the plaintext
 * Ferry preface, the client has TLS off: the handler takes the {@code SslHandler} out, sends this side's
 * preface in plaintext and fails the connection with ERROR(REFUSED, "this server requires TLS"), so the
 * client reports that at once instead of a bare close. Anything else is left to the {@code SslHandler}
 * (which rejects what is not TLS); the handler then removes itself. The refusal is logged through the
 * server's aggregated log of such refusals ({@link LogAggregator}: the first in full, then a count a
 * second), not once per connection: a client pool opens several, and a misconfigured fleet many.
 *
 * <p>One per connection; event loop only.
 */
final class PlaintextRefuser extends ByteToMessageDecoder {
  static final String NAME = "plaintext-refuser";
  static final String REASON = "this server requires TLS; the client connected in plaintext";

  private final LogAggregator refusals;

  PlaintextRefuser(LogAggregator refusals) {
    this.refusals = refusals;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int match = Preface.matchMagic(in);
    if (match < 0) {
      ctx.pipeline().remove(this); // not Ferry in plaintext: the buffered bytes go on to the SslHandler
      return;
    }
    if (match == 0) {
      return; // so far it could be either: wait for more
    }
    in.skipBytes(in.readableBytes());
    if (ctx.pipeline().get(TLS_HANDLER) != null) {
      ctx.pipeline().remove(TLS_HANDLER); // drops the (never sent) TLS-wrapped preface and SETTINGS
    }
    ctx.write(Preface.encode(ctx.alloc()));
    refusals.log("Refused connection from {}: {}", Addresses.describe(ctx.channel().remoteAddress()), REASON);
    ConnectionErrorHandler.alreadyReported(ctx.channel());
    throw new ProtocolException(ErrorCode.REFUSED, REASON);
  }

  /** The name of the server's SslHandler in the pipeline. */
  static final String TLS_HANDLER = "tls";
}
