package dev.ferry.server;

import com.google.protobuf.MessageLite;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.protocol.CallFrame;
import dev.ferry.protocol.ErrorCode;
import dev.ferry.protocol.Frame;
import dev.ferry.protocol.FrameType;
import dev.ferry.protocol.HandshakeCompleted;
import dev.ferry.protocol.HeartbeatTimeoutException;
import dev.ferry.protocol.LogAggregator;
import dev.ferry.protocol.ProtocolException;
import dev.ferry.protocol.RequestIdMap;
import dev.ferry.protocol.RequestHead;
import dev.ferry.protocol.ResponseHead;
import dev.ferry.protocol.Settings;
import dev.ferry.protocol.TooManyPingsEvent;
import dev.ferry.protocol.WriteQueue;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.SocketAddress;
import java.util.Optional;
import java.util.ArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The server side of one connection: turns REQUEST frames into {@link ServerCall}s and dispatches
 * them, handles CANCEL and the peer's errors, writes responses, and runs this connection's graceful
 * closes: server shutdown, max idle, max age and too many pings all send GOAWAY, then drain, then close.
 * (PING and PONG are answered by the {@code HeartbeatHandler} before frames reach this handler.)
 *
 * <p>Threads: Netty callbacks and every access to {@link #calls} run on the connection's event loop.
 * {@link #sendResponse} may be called from any thread; it hops to the event loop through the
 * connection's {@link WriteQueue}, which batches responses into one flush.
 */
final class ServerConnectionHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ServerConnectionHandler.class);
  /** Any client can send ERROR; a flood of them is one line per second, not one per connection. */
  private static final LogAggregator clientErrors =
      LogAggregator.create(log, Level.WARN, "connections closed by the client with ERROR");

  private final ServerRuntime server;
  private final RequestIdMap<ServerCall<?, ?>> calls = new RequestIdMap<>();
  private Channel channel;
  private WriteQueue writeQueue;
  private Settings remote = Settings.DEFAULTS;
  private volatile Optional<PeerIdentity> peerIdentity = Optional.empty();
  private int highestRequestId;
  private boolean goAwaySent;
  private boolean closing;
  private boolean outputShutdown; // half-closed after a drained GOAWAY: nothing more is written
  private ScheduledFuture<?> maxAgeTask;
  private ScheduledFuture<?> forcedCloseTask;
  private long idleSinceNanos;
  private ScheduledFuture<?> idleCheck;

  ServerConnectionHandler(ServerRuntime server) {
    this.server = server;
  }

  SocketAddress remoteAddress() {
    return channel.remoteAddress();
  }

  Channel channel() {
    return channel;
  }

  /** The client's verified certificate identity (mutual TLS), once the TLS handshake is done. */
  Optional<PeerIdentity> peerIdentity() {
    return peerIdentity;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    writeQueue = new WriteQueue(channel);
    if (server.maxConnectionIdleNanos > 0) {
      markIdle();
    }
    if (server.maxConnectionAgeNanos > 0) {
      // +-10% jitter, so that connections opened together do not all go away together.
      long age = (long) (server.maxConnectionAgeNanos * (0.9 + 0.2 * ThreadLocalRandom.current().nextDouble()));
      maxAgeTask = channel.eventLoop().schedule(
          () -> goAway(ErrorCode.NO_ERROR, "maximum connection age reached"), age, TimeUnit.NANOSECONDS);
    }
  }

  /** Something is wrong with this connection: act on nothing more it sends. Event loop. */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    closing = true;
    if (cause instanceof HeartbeatTimeoutException) {
      server.listener.heartbeatTimedOut();
    }
    ctx.fireExceptionCaught(cause);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof HandshakeCompleted) {
      remote = ((HandshakeCompleted) evt).remote();
    } else if (evt instanceof SslHandshakeCompletionEvent && ((SslHandshakeCompletionEvent) evt).isSuccess()) {
      SslHandler ssl = ctx.pipeline().get(SslHandler.class);
      if (ssl != null) {
        peerIdentity = PeerIdentity.of(ssl.engine().getSession());
      }
    } else if (evt instanceof TooManyPingsEvent) {
      goAway(ErrorCode.TOO_MANY_PINGS, "too many pings: the minimum interval between PINGs is "
          + server.minPingIntervalMillis() + " ms");
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** A call left the map: arm the idle timer or finish a drain if that was the last one. Event loop. */
  private void callRemoved() {
    if (calls.isEmpty() && server.maxConnectionIdleNanos > 0) {
      markIdle();
    }
    closeIfDrained();
  }

  private void markIdle() {
    idleSinceNanos = System.nanoTime();
    if (idleCheck == null) {
      idleCheck = channel.eventLoop().schedule(this::checkIdle, server.maxConnectionIdleNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void checkIdle() {
    idleCheck = null;
    if (goAwaySent || !channel.isActive() || !calls.isEmpty()) {
      return; // a busy connection re-arms the check when its last call ends
    }
    long idleFor = System.nanoTime() - idleSinceNanos;
    if (idleFor >= server.maxConnectionIdleNanos) {
      goAway(ErrorCode.NO_ERROR, "connection idle for " + TimeUnit.NANOSECONDS.toMillis(idleFor)
          + " ms (maxConnectionIdle)");
    } else {
      idleCheck = channel.eventLoop().schedule(this::checkIdle, server.maxConnectionIdleNanos - idleFor,
          TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Frame)) {
      ctx.fireChannelRead(msg);
      return;
    }
    Frame frame = (Frame) msg;
    if (closing) {
      frame.release(); // the rest of a read after a connection error: not acted on
      return;
    }
    switch (frame.type()) {
      case REQUEST:
        onRequest(ctx, frame);
        return;
      case CANCEL: {
        frame.release();
        ServerCall<?, ?> call = calls.remove(frame.requestId());
        if (call != null) {
          call.cancelSilently();
          server.listener.callCompleted(call.method(), StatusCode.CANCELLED, call.startNanos, call.requestBytes, 0);
          callRemoved();
        }
        return;
      }
      case GOAWAY:
        server.listener.goAwayReceived();
        log.debug("Client {} is going away: {}", ctx.channel().remoteAddress(), frame.reason());
        frame.release();
        return;
      case ERROR:
        clientErrors.log("Client {} reported {}: {}; closing", ctx.channel().remoteAddress(), frame.errorCode(),
            frame.reason());
        frame.release();
        closing = true;
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
    if (!goAwaySent && server.isShuttingDown()) {
      // The shutdown's GOAWAY has not reached this connection yet: send it now, before this request
      // counts, so that its last id tells the client this call was not processed and may be retried.
      goAway(ErrorCode.NO_ERROR, "server shutting down");
    }
    highestRequestId = id;
    if (outputShutdown) {
      // Crossed our GOAWAY (and its FIN): its id is above the GOAWAY's last id, so the client resends it
      // elsewhere; there is no way left to answer it anyway.
      frame.release();
      return;
    }
    RequestHead.Parsed<ServerMethod<?, ?>> header;
    try {
      header = RequestHead.parse(frame.callHeader(), server);
    } catch (ProtocolException e) {
      frame.release();
      throw e;
    }
    long receivedNanos = System.nanoTime();
    String refusal = null;
    StatusCode refusalCode = null;
    ServerMethod<?, ?> method = header.method();
    if (goAwaySent) {
      refusalCode = StatusCode.UNAVAILABLE;
      refusal = "server is shutting down; "
          + (method != null ? method.descriptor.fullName() : header.methodName()) + " was not processed";
    } else if (calls.size() >= server.maxConcurrentCalls()) {
      refusalCode = StatusCode.RESOURCE_EXHAUSTED;
      refusal = "too many calls in flight on this connection (limit " + server.maxConcurrentCalls() + ")";
    } else if (method == null) {
      refusalCode = StatusCode.UNIMPLEMENTED;
      refusal = server.describeUnknown(header.methodName());
    } else if (header.metadata() == null) {
      refusalCode = StatusCode.INVALID_ARGUMENT;
      refusal = "invalid request metadata: " + header.metadataError();
    }
    if (refusal != null) {
      frame.release();
      // The message may quote the client's method name: cut it to the client's limit rather than let
      // the refusal turn into RESOURCE_EXHAUSTED.
      refusal = ResponseHead.bounded(refusalCode, refusal, remote.maxMetadataSize()).message();
      server.listener.callRefused(method == null ? null : method.descriptor, refusalCode);
      writeResponse(id, refusalCode, refusal, Metadata.EMPTY, null);
      ctx.flush();
      return;
    }
    long deadline = 0;
    if (header.timeoutMicros() > 0) {
      deadline = receivedNanos + TimeUnit.MICROSECONDS.toNanos(header.timeoutMicros());
      deadline = deadline == 0 ? 1 : deadline;
    }
    ServerCall<?, ?> call = new ServerCall<>(this, id, method, header.metadata(), deadline, receivedNanos,
        frame.frameLength() - Frame.HEADER_SIZE - frame.metaLength());
    calls.put(id, call);
    server.listener.callStarted(method.descriptor);
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
      server.listener.callCompleted(method.descriptor, StatusCode.RESOURCE_EXHAUSTED, receivedNanos, call.requestBytes, 0);
      writeResponse(id, StatusCode.RESOURCE_EXHAUSTED, "server is overloaded: handler executor rejected the call",
          Metadata.EMPTY, null);
      ctx.flush();
      callRemoved();
    }
  }

  /** Sends a call's outcome and forgets it. Any thread. */
  void sendResponse(ServerCall<?, ?> call) {
    writeQueue.enqueue(call);
  }

  /** Event loop: writes a completed call's outcome, unless the call was forgotten (CANCEL, connection loss). */
  void writeOutcome(ServerCall<?, ?> call) {
    if (calls.get(call.id) == call) {
      calls.remove(call.id);
      writeResponse(call.id, call.responseCode, call.responseMessage, call.responseTrailers, call.responseBody);
      server.listener.callCompleted(call.method(), call.responseCode, call.startNanos, call.requestBytes,
          call.responseBody == null ? 0 : call.responseBody.getSerializedSize()); // measured (and kept) by the write
      callRemoved();
    }
  }

  /** Writes a RESPONSE (without flushing when called from a WriteQueue command). Event loop. */
  private void writeResponse(int id, StatusCode code, String message, Metadata trailers, MessageLite body) {
    if (outputShutdown) {
      return; // half-closed after GOAWAY: only calls above its last id can get here, and they are resent
    }
    ResponseHead header = ResponseHead.of(code, message, trailers);
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
    }
    // No flush here: a WriteQueue batch flushes once at its end, and refusals written while reading
    // are flushed by onRequest (consolidated until the end of the read by FlushConsolidationHandler).
    // The void promise: an unencodable response is turned into INTERNAL by the encoder, and a failed
    // socket write closes the connection, which ends its calls anyway.
    channel.write(new CallFrame(FrameType.RESPONSE, id, header, body), channel.voidPromise());
  }

  /** Starts a graceful close: GOAWAY now, close once the calls it admits are done. Event loop. */
  void goAway(ErrorCode code, String reason) {
    goAway(code, reason, server.maxConnectionAgeGraceNanos);
  }

  /** As above, closing the connection regardless after {@code graceNanos}. Event loop. */
  void goAway(ErrorCode code, String reason, long graceNanos) {
    if (goAwaySent || !channel.isActive()) {
      return;
    }
    goAwaySent = true;
    server.listener.goAwaySent();
    log.debug("GOAWAY to {} (last request id {}, {}): {}", remoteAddress(), highestRequestId, code, reason);
    channel.writeAndFlush(Frame.goAway(channel.alloc(), highestRequestId, code, reason));
    // Calls it admitted get the grace period to finish; then the connection closes regardless, so a
    // call without a deadline or a client that stopped reading cannot keep it open.
    forcedCloseTask = channel.eventLoop().schedule(() -> {
      if (channel.isActive()) {
        log.debug("Closing {} after GOAWAY: grace period over with {} calls in flight", remoteAddress(),
            calls.size());
        channel.close();
      }
    }, graceNanos, TimeUnit.NANOSECONDS);
    closeIfDrained();
  }

  /**
   * After GOAWAY, once the last admitted call is answered: half-close. Everything written goes out, then
   * FIN; the connection stays open for reading until the client closes its side (a Ferry client does as
   * soon as it has read the last response) or the GOAWAY's grace period ends. Closing outright could
   * meet requests still on their way, and a socket closed with unread data sends a reset, which makes
   * the client's kernel throw away the responses and the GOAWAY it has not read yet.
   */
  private void closeIfDrained() {
    if (goAwaySent && calls.isEmpty() && channel.isActive() && !outputShutdown) {
      outputShutdown = true;
      channel.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(f -> {
        if (channel instanceof DuplexChannel) {
          ((DuplexChannel) channel).shutdownOutput();
        } else {
          channel.close();
        }
      });
    }
  }

  /**
   * Back-pressure for a client that does not read: while more than the high-water mark of responses is
   * waiting to be sent, read no more requests from it. What it sent stays in its socket buffers, calls
   * already running still answer (at most the concurrency limit of them), and if nothing drains for the
   * heartbeat timeout the connection is closed as not reading (a slow reader keeps it). Event loop.
   */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    boolean writable = ctx.channel().isWritable();
    if (!closing && ctx.channel().isActive()) {
      if (!writable) {
        log.debug("Client {} is not reading its responses fast enough; pausing reads from it",
            ctx.channel().remoteAddress());
      }
      ctx.channel().config().setAutoRead(writable);
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** For tests: the calls in this connection's map (admitted, not yet answered or cancelled). Event loop. */
  int callCount() {
    return calls.size();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    for (ScheduledFuture<?> task : new ScheduledFuture<?>[] {idleCheck, maxAgeTask, forcedCloseTask}) {
      if (task != null) {
        task.cancel(false);
      }
    }
    idleCheck = null;
    maxAgeTask = null;
    forcedCloseTask = null;
    if (!calls.isEmpty()) {
      log.debug("Connection from {} closed with {} calls in flight; cancelling them", ctx.channel().remoteAddress(),
          calls.size());
      for (ServerCall<?, ?> call : new ArrayList<>(calls.values())) {
        call.cancelSilently();
        server.listener.callCompleted(call.method(), StatusCode.CANCELLED, call.startNanos, call.requestBytes, 0);
      }
      calls.clear();
    }
    ctx.fireChannelInactive();
  }
}
