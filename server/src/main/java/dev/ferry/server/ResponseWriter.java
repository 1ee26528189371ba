package dev.ferry.server;

import com.google.protobuf.MessageLite;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.internal.CallFrame;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.ResponseHead;
import dev.ferry.internal.Settings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.DefaultChannelPromise;

/**
 * Writes one connection's RESPONSE frames. Each is sized before it is encoded: what the client would
 * reject (over its MAX_FRAME_SIZE or MAX_METADATA_SIZE) and what the server's memory budget has no
 * room for are replaced by a short RESOURCE_EXHAUSTED, so that no encoding ever allocates memory the
 * budget did not grant (an encoder that runs out of direct memory stalls its event loop in garbage
 * collections). The memory of a response is given back once it has been written to the socket, or its
 * write failed.
 *
 * <p>Writes do not flush: a WriteQueue batch flushes once at its end, refusals written while reading
 * are flushed by the caller. Event loop only.
 */
final class ResponseWriter {
  private final Channel channel;
  private final ConnectionMemory memory;
  private Settings remote = Settings.DEFAULTS;
  /** The channel's frame encoder, whose batch holds responses not yet in the outbound buffer; null if none. */
  private final FrameEncoder encoder;

  ResponseWriter(Channel channel, ConnectionMemory memory, FrameEncoder encoder) {
    this.channel = channel;
    this.memory = memory;
    this.encoder = encoder;
  }

  /** The client's settings, once its SETTINGS arrived. */
  void remoteSettings(Settings remote) {
    this.remote = remote;
  }

  /**
   * Writes {@code call}'s recorded outcome. A response that goes out as recorded is encoded from the
   * call itself (no frame object per response), into the encoder's batch, and the call tells
   * {@link #written} how its write ended; one replaced by a refusal goes as a {@link CallFrame}.
   */
  void write(ServerCall<?, ?> call) {
    send(call.id, call.responseHead, call.responseBody, call);
  }

  /**
   * A response written as its call ended its write ({@code failure} null if it went out whole): its
   * memory is given back, and a failed write is reported as the void promise would.
   */
  void written(long bytes, Throwable failure) {
    memory.releaseResponse(bytes);
    if (failure != null && channel.isRegistered()) {
      channel.pipeline().fireExceptionCaught(failure);
    }
  }

  void write(int id, StatusCode code, String message, Metadata trailers, MessageLite body) {
    send(id, ResponseHead.of(code, message, trailers), body, null);
  }

  /** {@code asIs}: what encodes this very response (the call), or null to write it as a new frame. */
  private void send(int id, ResponseHead header, MessageLite body, ServerCall<?, ?> asIs) {
    int headerSize = header.serializedSize();
    long size = Frame.HEADER_SIZE + (long) headerSize + (body == null ? 0 : body.getSerializedSize());
    if (headerSize > remote.maxMetadataSize() || size > remote.maxFrameSize()) {
      // What the client would reject (and close the connection over) is replaced by a short status.
      String why = headerSize > remote.maxMetadataSize()
          ? "response header (status message and trailers) of " + headerSize
              + " bytes exceeds the client's maximum metadata size of " + remote.maxMetadataSize() + " bytes"
          : "response of " + size + " bytes exceeds the client's maximum frame size of " + remote.maxFrameSize()
              + " bytes";
      // Within the smallest limit any client may announce, whatever the message says.
      header = ResponseHead.bounded(StatusCode.RESOURCE_EXHAUSTED, why, Settings.MIN_MAX_METADATA_SIZE);
      body = null;
      size = Frame.HEADER_SIZE + header.serializedSize();
      memory.forceResponse(size);
      asIs = null;
    } else if (!memory.reserveResponse(size, queuedBytes(), channel.config().getWriteBufferHighWaterMark())) {
      header = ResponseHead.of(StatusCode.RESOURCE_EXHAUSTED,
          "server out of memory for a response of " + size + " bytes", Metadata.EMPTY);
      body = null;
      size = Frame.HEADER_SIZE + header.serializedSize();
      memory.forceResponse(size);
      asIs = null;
    }
    // An unencodable message is turned into INTERNAL by the encoder, which tells the call (or the
    // promise) as it would have told the original.
    if (asIs != null) {
      asIs.responseSize = (int) size; // within the client's MAX_FRAME_SIZE, checked above
      channel.write(asIs, channel.voidPromise());
    } else {
      channel.write(new CallFrame(FrameType.RESPONSE, id, header, body), new Written(size));
    }
  }

  /** {@code message} cut to what the client's MAX_METADATA_SIZE leaves room for, as a status message. */
  String fitted(StatusCode code, String message) {
    return ResponseHead.bounded(code, message, remote.maxMetadataSize()).message();
  }

  /** Bytes written to this connection and not yet to its socket: the encoder's batch, then the channel's. */
  private long queuedBytes() {
    ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
    return (out == null ? 0 : out.totalPendingWriteBytes()) + (encoder == null ? 0 : encoder.pendingBytes());
  }

  /**
   * A response's write promise, and its own listener that gives the response's memory back (one object
   * per response, not two); a failed write is reported as the void promise would.
   */
  private final class Written extends DefaultChannelPromise implements ChannelFutureListener {
    private final long bytes;

    Written(long bytes) {
      super(channel);
      this.bytes = bytes;
      addListener(this);
    }

    @Override
    public void operationComplete(ChannelFuture f) {
      written(bytes, f.cause());
    }
  }
}
