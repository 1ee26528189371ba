package dev.ferry.server;

import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.internal.Addresses;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameDecoder;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.HandshakeCompleted;
import dev.ferry.internal.HeartbeatTimeoutException;
import dev.ferry.internal.LogAggregator;
import dev.ferry.internal.ProtocolException;
import dev.ferry.internal.RequestIdMap;
import dev.ferry.internal.RequestHead;
import dev.ferry.internal.Settings;
import dev.ferry.internal.StreamRules;
import dev.ferry.internal.TooManyPingsEvent;
import dev.ferry.internal.WriteQueue;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.SocketAddress;
import java.util.Optional;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
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
 * <p>Back-pressure: while more than the write buffer's high-water mark waits to be sent (the client
 * reads slowly or not at all), the connection is not read, its admitted calls wait to start and its
 * finished calls wait to be encoded; all resume, in order, once the backlog drains to the low-water
 * mark. A slow reader thus costs the server at most the high-water mark plus one response of direct
 * memory, and its calls that arrive meanwhile do not start until it drains. Memory is accounted in
 * {@link ConnectionMemory}; responses are sized and written by {@link ResponseWriter}.
 *
 * <p>Threads: Netty callbacks and every access to {@link #calls} run on the connection's event loop.
 * {@link #sendResponse} may be called from any thread; it hops to the event loop through the
 * connection's {@link WriteQueue}, which batches responses into one flush.
 */
final class ServerConnectionHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ServerConnectionHandler.class);
  private static final int STREAM_FLAGS = Frame.FLAG_CLIENT_STREAM | Frame.FLAG_SERVER_STREAM;
  /** Any client can send ERROR; a flood of them is one line per second, not one per connection. */
  private static final LogAggregator clientErrors =
      LogAggregator.create(log, Level.WARN, "connections closed by the client with ERROR");

  private final ServerRuntime server;
  private final ConnectionMemory memory;
  private final RequestIdMap<ServerCall<?, ?>> calls = new RequestIdMap<>();
  // Calls in `calls` held back while more than the write buffer's high-water mark waits to be sent:
  // admitted but not started, and answered but not encoded. Each starts (is written) in order once the
  // backlog drains.
  private final Set<ServerCall<?, ?>> waitingToStart = new LinkedHashSet<>();
  private final Set<ServerCall<?, ?>> waitingToSend = new LinkedHashSet<>();
  private boolean resuming;
  private Channel channel;
  private FrameDecoder decoder; // owns autoRead: reads are paused through it
  private WriteQueue writeQueue;
  private ResponseWriter responses;
  private ConnectionLifetime lifetime;
  private GracefulClose close;
  private volatile Optional<PeerIdentity> peerIdentity = Optional.empty();
  private Runnable whenClosed; // the server's bookkeeping, run at the end of channelInactive
  private int highestRequestId;
  private boolean closing;
  private Settings remote = Settings.DEFAULTS;
  private boolean streaming; // both sides announced a stream window

  ServerConnectionHandler(ServerRuntime server, ConnectionMemory memory) {
    this.server = server;
    this.memory = memory;
  }

  ConnectionMemory memory() {
    return memory;
  }

  ServerRuntime runtime() {
    return server;
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
    decoder = ctx.pipeline().get(FrameDecoder.class);
    writeQueue = new WriteQueue(channel);
    responses = new ResponseWriter(channel, memory, ctx.pipeline().get(FrameEncoder.class));
    close = new GracefulClose(channel, decoder, server.listener, calls::size);
    lifetime = new ConnectionLifetime(channel, server, () -> close.goAwaySent() || !calls.isEmpty(), this::goAway);
    lifetime.start();
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
      streaming = server.streamWindow > 0 && remote.streamInitialWindow() > 0;
      responses.remoteSettings(remote);
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

  /** A call left the map: the connection may be idle now, or done draining. Event loop. */
  private void callRemoved() {
    if (calls.isEmpty()) {
      lifetime.becameIdle();
    }
    close.closeIfDrained();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Frame)) {
      ctx.fireChannelRead(msg);
      return;
    }
    Frame frame = (Frame) msg;
    if (closing || close.outputShutdown()) {
      frame.release(); // the rest of a read after a connection error or after our FIN: not acted on
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
          forget(call);
          call.cancelSilently();
          server.listener.callCompleted(call.method(), StatusCode.CANCELLED, call.startNanos, call.requestBytes, 0);
          callRemoved();
        }
        return;
      }
      case STREAM_MESSAGE:
      case WINDOW_UPDATE:
        onStreamFrame(frame);
        return;
      case GOAWAY:
        server.listener.goAwayReceived();
        log.debug("Client {} is going away: {}", Addresses.describe(ctx.channel().remoteAddress()), frame.reason());
        frame.release();
        return;
      case ERROR:
        clientErrors.log("Client {} reported {}: {}; closing", Addresses.describe(ctx.channel().remoteAddress()), frame.errorCode(),
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
    if (!close.goAwaySent() && server.isShuttingDown()) {
      // The shutdown's GOAWAY has not reached this connection yet: send it now, before this request
      // counts, so that its last id tells the client this call was not processed and may be retried.
      goAway(ErrorCode.NO_ERROR, "server shutting down");
    }
    highestRequestId = id;
    if (close.outputShutdown()) {
      // Crossed our GOAWAY (and its FIN): its id is above the GOAWAY's last id, so the client resends it
      // elsewhere; there is no way left to answer it anyway.
      frame.release();
      return;
    }
    RequestHead.Parsed<ServerMethod<?, ?>> header;
    try {
      header = RequestHead.parse(frame.buffer(), frame.callHeaderIndex(), frame.metaLength(), server.methods());
    } catch (ProtocolException e) {
      frame.release();
      throw e;
    }
    long receivedNanos = server.ticker.nanoTime();
    String refusal = null;
    StatusCode refusalCode = null;
    ServerMethod<?, ?> method = header.method();
    if (close.goAwaySent()) {
      refusalCode = StatusCode.UNAVAILABLE;
      refusal = "server is shutting down; "
          + (method != null ? method.descriptor.fullName() : header.methodName()) + " was not processed";
    } else if (calls.size() >= server.maxConcurrentCalls()) {
      refusalCode = StatusCode.RESOURCE_EXHAUSTED;
      refusal = "too many calls in flight on this connection (limit " + server.maxConcurrentCalls() + ")";
    } else if (method == null) {
      refusalCode = StatusCode.UNIMPLEMENTED;
      refusal = server.methods().describeUnknown(header.methodName());
    } else if (header.metadata() == null) {
      refusalCode = StatusCode.INVALID_ARGUMENT;
      refusal = "invalid request metadata: " + header.metadataError();
    } else if (method.streaming || (frame.flags() & STREAM_FLAGS) != 0) {
      refusal = StreamRules.mismatch(method.descriptor, streaming ? frame.flags() : 0, streaming);
      refusal = refusal == null ? null : responses.fitted(StatusCode.UNIMPLEMENTED, refusal);
      refusalCode = refusal == null ? null : StatusCode.UNIMPLEMENTED;
    }
    if (refusal != null) {
      frame.release();
      // The message may quote the client's method name: cut it to the client's limit rather than let
      // the refusal turn into RESOURCE_EXHAUSTED.
      server.listener.callRefused(method == null ? null : method.descriptor, refusalCode);
      responses.write(id, refusalCode, responses.fitted(refusalCode, refusal), Metadata.EMPTY, null);
      ctx.flush();
      return;
    }
    long deadline = 0;
    if (header.timeoutMicros() > 0) {
      deadline = receivedNanos + TimeUnit.MICROSECONDS.toNanos(header.timeoutMicros());
      deadline = deadline == 0 ? 1 : deadline;
    }
    int requestBytes = frame.frameLength() - Frame.HEADER_SIZE - frame.metaLength();
    ServerCall<?, ?> call = !method.streaming
        ? new ServerCall<>(this, id, method, header.metadata(), deadline, receivedNanos, requestBytes)
        : new ServerStreamCall<>(this, id, method, header.metadata(), deadline, receivedNanos, requestBytes,
            TimeUnit.MICROSECONDS.toNanos(header.idleTimeoutMicros()), server.streamWindow,
            remote.streamInitialWindow(), remote.maxFrameSize());
    calls.put(id, call);
    server.listener.callStarted(method.descriptor);
    // The decoder gives its reservation back once this frame is passed on: from here the call holds it.
    memory.hold(frame.frameLength());
    call.holdRequest(frame);
    call.armDeadline();
    if (!channel.isWritable() || !waitingToStart.isEmpty()) {
      // Responses are backing up: this call waits to start until they drain (channelWritabilityChanged).
      waitingToStart.add(call);
      return;
    }
    start(call);
  }

  /** Hands an admitted call to its handler. Event loop. */
  private void start(ServerCall<?, ?> call) {
    Frame request = call.takeRequest();
    try {
      server.dispatch(call, request);
    } catch (RejectedExecutionException e) {
      call.releaseRequest(request);
      calls.remove(call.id);
      call.cancelSilently();
      server.listener.callCompleted(call.method(), StatusCode.RESOURCE_EXHAUSTED, call.startNanos,
          call.requestBytes, 0);
      responses.write(call.id, StatusCode.RESOURCE_EXHAUSTED,
          "server is overloaded: handler executor rejected the call", Metadata.EMPTY, null);
      channel.flush();
      callRemoved();
    }
  }

  /** A call left {@link #calls}: it no longer waits, and gives back the request it never started with. */
  private void forget(ServerCall<?, ?> call) {
    // Both are empty unless responses back up: not asking them spares every call an identity hash.
    if (!waitingToStart.isEmpty() && waitingToStart.remove(call)) {
      call.dropRequest();
    }
    if (!waitingToSend.isEmpty()) {
      waitingToSend.remove(call);
    }
  }

  /**
   * A STREAM_MESSAGE or WINDOW_UPDATE: to its streaming call, or dropped if the call ended already (it
   * crossed the call's end on the wire). Event loop.
   */
  private void onStreamFrame(Frame frame) {
    try {
      int id = frame.requestId();
      ServerCall<?, ?> call = calls.get(id);
      if (StreamRules.accept(frame, streaming, call != null, call instanceof ServerStreamCall,
          id <= highestRequestId)) {
        ((ServerStreamCall<?, ?>) call).frameReceived(frame);
      }
    } finally {
      frame.release();
    }
  }

  /** Queues {@code command} for the event loop, in order with the connection's writes. Any thread. */
  void enqueue(Runnable command) {
    writeQueue.enqueue(command);
  }

  /** Queues a stream message's frame, counted in the connection's writability until written. Any thread. */
  void enqueueStreamMessage(Runnable frame, int bytes) {
    writeQueue.enqueueStreamMessage(frame, bytes);
  }

  /** Whether {@code call} is still in this connection's map: its frames are still meaningful. Event loop. */
  boolean isInFlight(ServerCall<?, ?> call) {
    return calls.get(call.id) == call;
  }

  /** The write of a call's RESPONSE of {@code bytes} ended ({@code failure} null if it went out whole). Event loop. */
  void responseWritten(long bytes, Throwable failure) {
    responses.written(bytes, failure);
  }

  /** Sends a call's outcome and forgets it. Any thread. */
  void sendResponse(ServerCall<?, ?> call) {
    writeQueue.enqueue(call);
  }

  /**
   * Event loop: writes a completed call's outcome, unless the call was forgotten (CANCEL, connection
   * loss); while responses are backing up, it waits its turn instead (not encoded yet, it holds no
   * direct memory).
   */
  void writeOutcome(ServerCall<?, ?> call) {
    if (calls.get(call.id) != call) {
      return;
    }
    if (!channel.isWritable()) {
      if (waitingToStart.remove(call)) {
        call.dropRequest(); // done before it started (its deadline passed): it never will
      }
      waitingToSend.add(call);
      return;
    }
    calls.remove(call.id);
    call.disarmDeadline();
    forget(call); // a call that expired while waiting to start gives its request back
    responses.write(call);
    server.listener.callCompleted(call.method(), call.responseHead.status(), call.startNanos, call.requestBytes,
        call.responseBody == null ? 0 : call.responseBody.getSerializedSize()); // measured (and kept) by the write
    callRemoved();
  }

  /**
   * The backlog drained below the low-water mark: write the responses that waited, then start the
   * calls that waited, in order, for as long as the connection stays writable. Event loop.
   */
  private void resumeWaitingCalls() {
    if (resuming) {
      return; // a flush below made the channel writable again: the loop below carries on
    }
    resuming = true;
    try {
      do {
        while (channel.isWritable() && (!waitingToSend.isEmpty() || !waitingToStart.isEmpty())) {
          if (!waitingToSend.isEmpty()) {
            ServerCall<?, ?> call = waitingToSend.iterator().next();
            waitingToSend.remove(call);
            writeOutcome(call);
          } else {
            ServerCall<?, ?> call = waitingToStart.iterator().next();
            waitingToStart.remove(call);
            start(call);
          }
        }
        channel.flush();
      } while (channel.isWritable() && (!waitingToSend.isEmpty() || !waitingToStart.isEmpty()));
    } finally {
      resuming = false;
    }
  }

  /** Wakes the response writers of streaming calls that waited for the connection to drain. Event loop. */
  private void resumeStreams() {
    for (ServerCall<?, ?> call : new ArrayList<>(calls.values())) {
      if (call instanceof ServerStreamCall && channel.isWritable()) {
        ((ServerStreamCall<?, ?>) call).transportResumed();
      }
    }
  }

  /** Starts a graceful close: GOAWAY now, close once the calls it admits are done. Event loop. */
  void goAway(ErrorCode code, String reason) {
    goAway(code, reason, server.maxConnectionAgeGraceNanos);
  }

  /** As above, closing the connection regardless after {@code graceNanos}. Event loop. */
  void goAway(ErrorCode code, String reason, long graceNanos) {
    close.goAway(highestRequestId, code, reason, graceNanos);
  }

  /**
   * Back-pressure for a client that does not read: while more than the high-water mark of responses is
   * waiting to be sent, read no more requests from it, start none of its calls and encode none of its
   * responses. What it sent stays in its socket buffers, and if nothing drains for the heartbeat timeout
   * the connection is closed as not reading (a slow reader keeps it: its frame clock and its heartbeat
   * only count time in which we were reading). Event loop.
   */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    boolean writable = ctx.channel().isWritable();
    if (!closing && !close.outputShutdown() && ctx.channel().isActive()) {
      if (!writable) {
        log.debug("Client {} is not reading its responses fast enough; pausing reads from it",
            Addresses.describe(ctx.channel().remoteAddress()));
      }
      decoder.pauseReadingForBackPressure(!writable);
      if (writable) {
        resumeWaitingCalls();
        resumeStreams();
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** For tests: the calls in this connection's map (admitted, not yet answered or cancelled). Event loop. */
  int callCount() {
    return calls.size();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    lifetime.stop();
    close.stop();
    if (!calls.isEmpty()) {
      log.debug("Connection from {} closed with {} calls in flight; cancelling them", Addresses.describe(ctx.channel().remoteAddress()),
          calls.size());
      for (ServerCall<?, ?> call : new ArrayList<>(calls.values())) {
        forget(call);
        call.cancelSilently();
        server.listener.callCompleted(call.method(), StatusCode.CANCELLED, call.startNanos, call.requestBytes, 0);
      }
      calls.clear();
    }
    memory.close();
    Runnable closed = whenClosed;
    whenClosed = null;
    if (closed != null) {
      closed.run();
    }
    ctx.fireChannelInactive();
  }

  /** Runs {@code task} once the connection has closed and its calls have ended. Before it is active. */
  void whenClosed(Runnable task) {
    whenClosed = task;
  }
}
