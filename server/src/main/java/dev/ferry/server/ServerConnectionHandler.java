package dev.ferry.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.protocol.CallFrame;
import dev.ferry.protocol.ErrorCode;
import dev.ferry.protocol.Frame;
import dev.ferry.protocol.FrameType;
import dev.ferry.protocol.HandshakeCompleted;
import dev.ferry.protocol.ProtocolException;
import dev.ferry.protocol.Protobufs;
import dev.ferry.protocol.Settings;
import dev.ferry.protocol.WireMetadata;
import dev.ferry.protocol.WriteQueue;
import dev.ferry.protocol.wire.RequestHeader;
import dev.ferry.protocol.wire.ResponseHeader;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.collection.IntObjectHashMap;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one connection: turns REQUEST frames into {@link ServerCall}s and dispatches
 * them, handles CANCEL, PING and the peer's errors, writes responses, and runs this connection's
 * part of a graceful shutdown (GOAWAY, drain, close).
 *
 * <p>Threads: Netty callbacks and every access to {@link #calls} run on the connection's event loop.
 * {@link #sendResponse} may be called from any thread; it hops to the event loop through the
 * connection's {@link WriteQueue}, which batches responses into one flush.
 */
final class ServerConnectionHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ServerConnectionHandler.class);

  private final ServerRuntime server;
  private final IntObjectHashMap<ServerCall<?, ?>> calls = new IntObjectHashMap<>();
  private Channel channel;
  private WriteQueue writeQueue;
  private Settings remote = Settings.DEFAULTS;
  private int highestRequestId;
  private boolean goAwaySent;

  ServerConnectionHandler(ServerRuntime server) {
    this.server = server;
  }

  SocketAddress remoteAddress() {
    return channel.remoteAddress();
  }

  Channel channel() {
    return channel;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    writeQueue = new WriteQueue(channel);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof HandshakeCompleted) {
      remote = ((HandshakeCompleted) evt).remote();
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Frame)) {
      ctx.fireChannelRead(msg);
      return;
    }
    Frame frame = (Frame) msg;
    switch (frame.type()) {
      case REQUEST:
        onRequest(ctx, frame);
        return;
      case CANCEL: {
        frame.release();
        ServerCall<?, ?> call = calls.remove(frame.requestId());
        if (call != null) {
          call.cancelSilently();
          closeIfDrained();
        }
        return;
      }
      case PING:
        ctx.writeAndFlush(Frame.pong(ctx.alloc(), frame.pingData()));
        frame.release();
        return;
      case PONG:
        frame.release();
        return;
      case GOAWAY:
        log.debug("Client {} is going away: {}", ctx.channel().remoteAddress(), frame.reason());
        frame.release();
        return;
      case ERROR:
        log.warn("Client {} reported {}: {}; closing", ctx.channel().remoteAddress(), frame.errorCode(),
            frame.reason());
        frame.release();
        ctx.close();
        return;
      default:
        FrameType type = frame.type();
        frame.release();
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, type + " frame sent by a client");
    }
  }

  private void onRequest(ChannelHandlerContext ctx, Frame frame) {
    int id = frame.requestId();
    if (id <= highestRequestId) {
      frame.release();
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "REQUEST id " + id
          + (calls.containsKey(id) ? " is already in flight" : " is not above the previous id " + highestRequestId));
    }
    highestRequestId = id;
    RequestHeader header;
    try {
      header = Protobufs.parse(RequestHeader.parser(), frame.callHeader());
    } catch (InvalidProtocolBufferException e) {
      frame.release();
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "malformed REQUEST call header: " + e.getMessage());
    }
    long receivedNanos = System.nanoTime();
    String refusal = null;
    StatusCode refusalCode = null;
    ServerMethod<?, ?> method = null;
    Metadata metadata = Metadata.EMPTY;
    if (goAwaySent || server.isShuttingDown()) {
      refusalCode = StatusCode.UNAVAILABLE;
      refusal = "server is shutting down; " + header.getMethod() + " was not processed";
    } else if (calls.size() >= server.maxConcurrentCalls()) {
      refusalCode = StatusCode.RESOURCE_EXHAUSTED;
      refusal = "too many calls in flight on this connection (limit " + server.maxConcurrentCalls() + ")";
    } else {
      method = server.lookup(header.getMethod());
      if (method == null) {
        refusalCode = StatusCode.UNIMPLEMENTED;
        refusal = server.describeUnknown(header.getMethod());
      } else {
        try {
          metadata = WireMetadata.fromWire(header.getMetadataList());
        } catch (IllegalArgumentException e) {
          refusalCode = StatusCode.INVALID_ARGUMENT;
          refusal = "invalid request metadata: " + e.getMessage();
        }
      }
    }
    if (refusal != null) {
      frame.release();
      writeResponse(id, refusalCode, refusal, Metadata.EMPTY, null);
      ctx.flush();
      return;
    }
    long deadline = 0;
    if (header.getTimeoutMicros() > 0) {
      deadline = receivedNanos + TimeUnit.MICROSECONDS.toNanos(header.getTimeoutMicros());
      deadline = deadline == 0 ? 1 : deadline;
    }
    ServerCall<?, ?> call = new ServerCall<>(this, id, method, metadata, deadline);
    calls.put(id, call);
    if (call.hasDeadline()) {
      call.deadlineTimer = server.timer().newTimeout(t -> call.expire(),
          Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
    try {
      server.dispatch(call, frame);
    } catch (RejectedExecutionException e) {
      frame.release();
      calls.remove(id);
      call.cancelSilently();
      writeResponse(id, StatusCode.RESOURCE_EXHAUSTED, "server is overloaded: handler executor rejected the call",
          Metadata.EMPTY, null);
      ctx.flush();
    }
  }

  /** Sends a call's outcome and forgets it. Any thread. */
  void sendResponse(ServerCall<?, ?> call, StatusCode code, String message, Metadata trailers, MessageLite body) {
    writeQueue.enqueue(() -> {
      if (calls.get(call.id) == call) {
        calls.remove(call.id);
        writeResponse(call.id, code, message, trailers, body);
        closeIfDrained();
      }
    });
  }

  /** Writes a RESPONSE (without flushing when called from a WriteQueue command). Event loop. */
  private void writeResponse(int id, StatusCode code, String message, Metadata trailers, MessageLite body) {
    ResponseHeader.Builder h = ResponseHeader.newBuilder();
    if (code != StatusCode.OK) {
      h.setStatus(code.value()).setMessage(message);
    }
    if (!trailers.isEmpty()) {
      h.addAllMetadata(WireMetadata.toWire(trailers));
    }
    ResponseHeader header = h.build();
    if (body != null) {
      long size = Frame.HEADER_SIZE + (long) header.getSerializedSize() + body.getSerializedSize();
      if (size > remote.maxFrameSize()) {
        writeResponse(id, StatusCode.RESOURCE_EXHAUSTED, "response of " + size
            + " bytes exceeds the client's maximum frame size of " + remote.maxFrameSize() + " bytes",
            trailers, null);
        return;
      }
    }
    // No flush here: a WriteQueue batch flushes once at its end, and refusals written while reading
    // are flushed by onRequest (consolidated until the end of the read by FlushConsolidationHandler).
    channel.write(new CallFrame(FrameType.RESPONSE, id, header, body)).addListener(f -> {
      if (!f.isSuccess() && channel.isActive()) {
        log.warn("Could not write the response to call {} on {}", id, channel.remoteAddress(), f.cause());
      }
    });
  }

  /** Starts a graceful close: GOAWAY now, close once the calls it admits are done. Event loop. */
  void goAway(String reason) {
    if (goAwaySent || !channel.isActive()) {
      return;
    }
    goAwaySent = true;
    channel.writeAndFlush(Frame.goAway(channel.alloc(), highestRequestId, ErrorCode.NO_ERROR, reason));
    closeIfDrained();
  }

  private void closeIfDrained() {
    if (goAwaySent && calls.isEmpty() && channel.isActive()) {
      channel.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!calls.isEmpty()) {
      log.debug("Connection from {} closed with {} calls in flight; cancelling them", ctx.channel().remoteAddress(),
          calls.size());
      for (ServerCall<?, ?> call : new ArrayList<>(calls.values())) {
        call.cancelSilently();
      }
      calls.clear();
    }
    ctx.fireChannelInactive();
  }
}
