package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.MessageLite;
import dev.ferry.StatusCode;
import dev.ferry.internal.Addresses;
import dev.ferry.internal.CallHeader;
import dev.ferry.internal.ConnectionErrorHandler;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameEncoder;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.HandshakeCompleted;
import dev.ferry.internal.HeartbeatHandler;
import dev.ferry.internal.HeartbeatTimeoutException;
import dev.ferry.internal.OutgoingCall;
import dev.ferry.internal.ProtocolException;
import dev.ferry.internal.RequestIdMap;
import dev.ferry.internal.Settings;
import dev.ferry.internal.StreamRules;
import dev.ferry.internal.RequestHead;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.Ticker;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's per-connection handler: writes requests, matches responses to calls by request id, and
 * fails the calls in flight when the connection ends. Sits after the protocol codec and handshake:
 *
 * <pre>
 *   ... frame codec → HandshakeHandler → ClientCallHandler → ConnectionErrorHandler
 * </pre>
 *
 * <p>It owns the connection's pending map (request id → call) and its id counter. Ids are assigned
 * here, when a request is written, so they increase strictly on the wire (1, 2, 3, ...) whatever order
 * callers started their calls in. A call enters the map just before its request is written and leaves
 * it when its response arrives, its write fails, the caller gives up (then CANCEL goes out), or the
 * connection ends; a RESPONSE whose id is not in the map is dropped and counted.
 *
 * <p>Threads: everything here runs on the connection's event loop, including {@link #write} and
 * {@link #forget}, which {@link ClientConnection} calls from there. Only {@link #handshakeFuture()},
 * {@link #acceptsNewCalls()} and {@link #connectFailed} may be used from other threads. One instance
 * per connection.
 */
final class ClientCallHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ClientCallHandler.class);

  /** How many connections one call may be handed to when connections stop taking calls under it. */
  static final int MAX_DISPATCHES = 3;

  private final String authority;
  private final Promise<Settings> handshake;
  private final Consumer<ClientCall<?, ?>> redispatch;
  private final AtomicLong droppedResponses;
  private final Runnable onDraining;
  private final Runnable onHeartbeatDeath;
  private final Consumer<String> heartbeatAdjusted;
  private final ChannelListener listener;
  private final RequestIdMap<ClientCall<?, ?>> pending = new RequestIdMap<>();
  private final RequestHeads requests;

  private ChannelHandlerContext ctx;
  private Settings remote;
  private String peer;
  private int nextId = 1;
  /** Why the connection ended or failed; null while it is healthy or draining. */
  private String closeReason;
  private Throwable closeCause;
  /** Why the connection takes no new calls although it still finishes old ones; null until then. */
  private String drainReason;
  private volatile boolean acceptsNewCalls = true;
  /**
   * This side gave up on the connection (protocol error, ERROR received): frames still in the read
   * are not acted on. Frames that arrive together with the peer's close are, since a GOAWAY is often
   * followed at once by the close.
   */
  private boolean closing;

  /**
   * @param authority {@code host:port} as configured, for messages until the peer's address is known
   * @param handshake completed with the server's settings once its SETTINGS arrived, or failed with a
   *     {@link Failures.ConnectFailure} if the connection or handshake failed first
   * @param redispatch starts a call again on another connection (one that was queued here but not
   *     written when this connection stopped taking new calls)
   * @param droppedResponses incremented for each RESPONSE that matched no call in flight
   * @param listener the channel's listener
   */
  ClientCallHandler(String authority, Promise<Settings> handshake, Consumer<ClientCall<?, ?>> redispatch,
      AtomicLong droppedResponses, Runnable onDraining, Runnable onHeartbeatDeath,
      Consumer<String> heartbeatAdjusted, Ticker ticker, ChannelListener listener) {
    this.onHeartbeatDeath = requireNonNull(onHeartbeatDeath, "onHeartbeatDeath");
    this.requests = new RequestHeads(requireNonNull(ticker, "ticker"));
    this.heartbeatAdjusted = requireNonNull(heartbeatAdjusted, "heartbeatAdjusted");
    this.listener = requireNonNull(listener, "listener");
    this.onDraining = requireNonNull(onDraining, "onDraining");
    this.authority = requireNonNull(authority, "authority");
    this.peer = authority;
    this.handshake = requireNonNull(handshake, "handshake");
    this.redispatch = requireNonNull(redispatch, "redispatch");
    this.droppedResponses = requireNonNull(droppedResponses, "droppedResponses");
  }

  /** Succeeds with the server's settings when calls may be written. Any thread. */
  Future<Settings> handshakeFuture() {
    return handshake;
  }

  /** False once the connection is closing, failed, or draining (GOAWAY). Any thread. */
  boolean acceptsNewCalls() {
    return acceptsNewCalls;
  }

  /** The number of calls in the pending map. */
  int pendingCount() {
    return pending.size();
  }

  /** The server's settings; {@code null} before the handshake completed. */
  Settings remoteSettings() {
    return remote;
  }

  /** The TCP connect failed (or the channel could not be registered). Any thread: no call is pending yet. */
  void connectFailed(Throwable cause) {
    acceptsNewCalls = false;
    handshake.tryFailure(new Failures.ConnectFailure("could not connect to " + authority + ": " + Failures.describe(cause), cause));
  }

  // ---- calls, from ClientConnection ----

  /**
   * Writes {@code call}'s REQUEST (without flushing; the write queue flushes once per batch), unless it
   * already completed, its deadline passed, it is too large for the server, or this connection takes
   * no new calls. The call must be {@link CallProgress#BOUND} here.
   */
  void write(ClientCall<?, ?> call) {
    if (call.progress() != CallProgress.BOUND) {
      return; // completed meanwhile
    }
    if (drainReason != null || !acceptsNewCalls) {
      // Bound here but never written: safe to send elsewhere.
      String why = closeReason != null ? closeReason : "connection to " + peer + " is draining (" + drainReason + ")";
      if (call.unsent(CallProgress.BOUND, false)) {
        retryOrFail(call, why, null);
      }
      return;
    }
    if (call.stream != null && remote.streamInitialWindow() == 0) {
      call.fail(StatusCode.UNIMPLEMENTED, call.method().fullName() + " is a streaming method, and the server "
          + peer + " does not support streaming calls (it announced no STREAM_INITIAL_WINDOW)", null);
      return;
    }
    RequestHead header = requests.headOf(call, remote);
    if (header == null) {
      return; // failed: deadline gone, or too large for the server
    }
    if (!call.advance(CallProgress.BOUND, CallProgress.WRITTEN)) {
      return; // completed meanwhile, on another thread
    }
    int id = nextId++;
    if (id == Frame.MAX_REQUEST_ID) {
      startDraining("request ids exhausted");
    }
    call.requestId = id;
    pending.put(id, call);
    call.head = header;
    // The encoder serialises the REQUEST at once, into the batch it collects until the flush, and tells
    // how its write ended (written() below). The call is its own frame (OutgoingCall) on its first
    // connection; a later attempt's write is told apart from an earlier one's by a frame of its own.
    int attempt = call.attempts();
    if (attempt == 1) {
      call.firstWrittenBy(this);
      ctx.write(call, ctx.voidPromise());
    } else {
      ctx.write(new LaterAttempt(call, attempt), ctx.voidPromise());
    }
  }

  /** The REQUEST of a call's second or later attempt, which tells this handler how its write ended. */
  private final class LaterAttempt implements OutgoingCall {
    private final ClientCall<?, ?> call;
    private final int attempt;

    LaterAttempt(ClientCall<?, ?> call, int attempt) {
      this.call = call;
      this.attempt = attempt;
    }

    @Override
    public FrameType type() {
      return call.type();
    }

    @Override
    public int requestId() {
      return call.requestId();
    }

    @Override
    public int flags() {
      return call.flags();
    }

    @Override
    public CallHeader header() {
      return call.header();
    }

    @Override
    public MessageLite body() {
      return call.body();
    }

    @Override
    public void written(Throwable failure) {
      ClientCallHandler.this.written(call, attempt, failure);
    }
  }

  /** Whether {@code call} is in the pending map: in flight on this connection. */
  boolean isPending(ClientCall<?, ?> call) {
    int id = call.requestId;
    return id != 0 && pending.get(id) == call;
  }

  /** Takes {@code call} out of the pending map if it is there; returns whether it was. Event loop. */
  private boolean untrack(ClientCall<?, ?> call) {
    int id = call.requestId;
    if (id != 0 && pending.get(id) == call) {
      pending.remove(id);
      return true;
    }
    return false;
  }

  /**
   * The write of {@code call}'s REQUEST ended ({@code failure} null if it went out whole): this decides what a {@link CallProgress#WRITTEN} call
   * becomes. A write that succeeded may have reached the server (SENT: never sent again; if the
   * connection failed meanwhile, the call fails now). A write that failed put no complete frame on the
   * socket, so the server cannot have run it: it may be sent elsewhere.
   */
  void written(ClientCall<?, ?> call, int attempt, Throwable failure) {
    if (call.attempts() != attempt) {
      return; // a server said it was not processed and it moved on; this write is no longer its
    }
    if (failure == null) {
      if (call.advance(CallProgress.WRITTEN, CallProgress.SENT) && closeReason != null) {
        // The connection failed while this write was on its way out (the ERROR we sent flushed it):
        // the server may have it, and no response can come any more.
        call.fail(StatusCode.UNAVAILABLE, closeReason, closeCause);
      } else if (call.stream != null && call.progress() == CallProgress.SENT) {
        call.stream.requestSent(remote, call.connection());
      }
      return;
    }
    untrack(call);
    if (!call.unsent(CallProgress.WRITTEN, false)) {
      return; // completed (or moved off by a GOAWAY) meanwhile
    }
    Throwable cause = failure;
    if (cause instanceof FrameEncoder.EncodeException) {
      // Its message cannot be serialised: another connection would fail the same way.
      call.fail(StatusCode.INTERNAL, "could not encode the request: " + Failures.describe(cause), cause);
    } else if (!ctx.channel().isActive() || cause instanceof ClosedChannelException) {
      retryOrFail(call, "could not write to " + peer + ": "
          + (closeReason != null ? closeReason : Failures.describe(cause)), cause);
    } else {
      // Nothing of it went out (out of direct memory for its buffer, say), on a connection still open.
      call.fail(StatusCode.INTERNAL, "could not write the request: " + Failures.describe(cause), cause);
    }
    closeIfDrained();
  }

  /**
   * Forgets {@code call}, which completed without its response (deadline, cancel, shutdown) after its
   * request may have been written: removes it from the pending map and sends CANCEL so the server stops
   * working on it. Nothing happens for a call that is not pending here.
   */
  void forget(ClientCall<?, ?> call) {
    int id = call.requestId;
    if (!untrack(call)) {
      return; // not pending here (answered already, or its connection failed)
    }
    if (ctx.channel().isActive()) {
      ctx.writeAndFlush(Frame.cancel(id), ctx.voidPromise());
    }
    closeIfDrained();
  }

  /**
   * This side stops using the connection (its endpoint left the resolver's list): no new calls, those
   * in flight finish, then it closes.
   */
  void drain(String why) {
    startDraining(why);
    closeIfDrained();
  }

  /** The channel is shutting down: fails everything in flight with {@code reason}. The caller closes. */
  void shutDown(String reason) {
    connectionFailed(reason, null);
  }

  // ---- inbound ----

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    peer = Addresses.describe(ctx.channel().remoteAddress());
    ctx.fireChannelActive();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof HandshakeCompleted) {
      remote = ((HandshakeCompleted) evt).remote();
      // The heartbeat handler, ahead of this one, has already fitted its times to the server's SETTINGS.
      HeartbeatHandler heartbeat = ctx.pipeline().get(HeartbeatHandler.class);
      if (heartbeat != null && heartbeat.adjustment() != null) {
        heartbeatAdjusted.accept(heartbeat.adjustment());
      }
      log.debug("Connected to {}; server settings {}", peer, remote);
      handshake.trySuccess(remote);
    } else if (evt instanceof SslHandshakeCompletionEvent && !((SslHandshakeCompletionEvent) evt).isSuccess()) {
      // The SslHandler closes the connection next; say why first (a timeout reaches no exceptionCaught).
      Throwable cause = ((SslHandshakeCompletionEvent) evt).cause();
      closing = true;
      ConnectionErrorHandler.alreadyReported(ctx.channel()); // the pool reports it, as for exceptionCaught
      connectionFailed("handshake with " + peer + " failed: " + Failures.describe(cause), cause);
      ctx.fireUserEventTriggered(evt);
    } else {
      ctx.fireUserEventTriggered(evt);
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
      frame.release(); // the rest of a read after this side gave up on the connection: not acted on
      return;
    }
    try {
      switch (frame.type()) {
        case RESPONSE:
          onResponse(frame);
          break;
        case STREAM_MESSAGE:
        case WINDOW_UPDATE:
          onStreamFrame(frame);
          break;
        case GOAWAY:
          onGoAway(frame);
          break;
        case ERROR:
          onError(frame);
          break;
        default:
          throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, frame.type()
              + " frame from the server (a server sends RESPONSE, GOAWAY and ERROR; PING and PONG are "
              + "the heartbeat handler's)");
      }
    } finally {
      frame.release();
    }
  }

  private void onResponse(Frame frame) {
    ClientCall<?, ?> call = pending.remove(frame.requestId());
    if (call == null) {
      long dropped = droppedResponses.incrementAndGet();
      log.debug("Dropped RESPONSE for request id {} from {}: no such call in flight (late after a "
          + "deadline or cancel, or a duplicate); {} dropped so far", frame.requestId(), peer, dropped);
      return;
    }
    if (!call.deliver(frame)) {
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
          "malformed RESPONSE call header for request id " + frame.requestId());
    }
    closeIfDrained();
  }

  /** A frame of a streaming call: to its stream, or dropped if the call is over here (it crossed its end). */
  private void onStreamFrame(Frame frame) {
    int id = frame.requestId();
    ClientCall<?, ?> call = pending.get(id);
    if (StreamRules.accept(frame, remote.streamInitialWindow() > 0, call != null, call != null && call.stream != null,
        id < nextId)) {
      call.stream.frameReceived(frame);
    }
  }

  private void onGoAway(Frame frame) {
    int lastId = frame.goAwayLastRequestId();
    String reason = frame.reason();
    String why = reason.isEmpty() ? frame.errorCode().name() : reason;
    listener.goAwayReceived();
    log.info("Server {} is going away (GOAWAY {}, last request id {}): {}", peer, frame.errorCode(), lastId,
        reason);
    startDraining("GOAWAY: " + why);
    List<ClientCall<?, ?>> unprocessed = new ArrayList<>();
    for (ClientCall<?, ?> call : pending.values()) {
      if (call.requestId > lastId) {
        unprocessed.add(call);
      }
    }
    for (ClientCall<?, ?> call : unprocessed) {
      pending.remove(call.requestId);
    }
    for (ClientCall<?, ?> call : unprocessed) {
      // The server says it never processed these: safe to send again, elsewhere.
      refused(call, "not processed by the server (GOAWAY: " + why + ")");
    }
    closeIfDrained();
  }

  /** A server said it did not process {@code call} (out of the pending map already): send it elsewhere. */
  private void refused(ClientCall<?, ?> call, String why) {
    CallProgress p = call.progress();
    if (p.mayHaveReachedServer() && call.unsent(p, true)) {
      if (call.stream != null && call.stream.sendsMessages()) {
        // Its request messages may have followed the REQUEST here; they are not kept to send again.
        call.fail(StatusCode.UNAVAILABLE, why, null);
      } else {
        retryOrFail(call, why, null);
      }
    }
  }

  private void onError(Frame frame) {
    ErrorCode code = frame.errorCode();
    String reason = frame.reason();
    closing = true;
    log.warn("Server {} closed the connection with ERROR {}: {}", peer, code, reason);
    if (code == ErrorCode.REFUSED && !pending.isEmpty()) {
      // REFUSED: the server does not take this connection, so it processed nothing sent on it.
      List<ClientCall<?, ?>> calls = new ArrayList<>(pending.values());
      pending.clear();
      for (ClientCall<?, ?> call : calls) {
        refused(call, "refused by the server (" + (reason.isEmpty() ? code.name() : reason) + ")");
      }
    }
    connectionFailed("connection to " + peer + " closed by the server with ERROR " + code
        + (reason.isEmpty() ? "" : ": " + reason), null);
    ctx.close();
  }

  /**
   * The write buffer drained below its low-water mark: streams whose request writers waited for it go on
   * (they wait while it is above the high-water mark, see {@code StreamLink.transportWritable}). Event loop.
   */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      for (ClientCall<?, ?> call : new ArrayList<>(pending.values())) {
        if (call.stream != null) {
          call.stream.transportResumed();
        }
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    connectionFailed(handshake.isDone()
        ? "connection to " + peer + " closed by peer"
        : "connection to " + peer + " closed by peer during the handshake", null);
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    closing = true;
    if (cause instanceof HeartbeatTimeoutException) {
      listener.heartbeatTimedOut();
      onHeartbeatDeath.run();
    }
    if (!handshake.isDone() || !pending.isEmpty()) {
      // The reason reaches the calls in flight, or the pool (which tells waiting calls, or logs it):
      // ConnectionErrorHandler need not log it again.
      ConnectionErrorHandler.alreadyReported(ctx.channel());
    }
    connectionFailed((handshake.isDone() ? "connection to " + peer + " failed: " : "handshake with " + peer
        + " failed: ") + Failures.describe(cause, ctx.channel()), cause);
    // ConnectionErrorHandler, next in line, logs the cause and closes the connection (sending ERROR
    // first for a protocol violation).
    ctx.fireExceptionCaught(cause);
  }

  // ---- connection state ----

  private void startDraining(String why) {
    acceptsNewCalls = false;
    if (drainReason == null) {
      drainReason = why;
      onDraining.run();
    }
  }

  /**
   * Sends {@code call}, which is on no connection ({@link CallProgress#IDLE}) because it never reached
   * this one's server or the server did not process it, again on another connection unless it has
   * moved too often; then it fails with UNAVAILABLE. A wait-for-ready call is always sent again: it
   * waits for a ready connection until its deadline, and a server restarting (GOAWAY after GOAWAY on
   * the connections it is handed to) is exactly what it asked to ride out.
   */
  private void retryOrFail(ClientCall<?, ?> call, String why, Throwable cause) {
    if (call.attempts() < MAX_DISPATCHES || call.waitForReady()) {
      log.debug("Retrying {} on another connection: {}", call.method(), why);
      listener.callRetried(call.method());
      redispatch.accept(call);
    } else {
      call.fail(StatusCode.UNAVAILABLE, why, cause);
    }
  }

  /** Closes a draining connection once its last call is done. */
  private void closeIfDrained() {
    if (drainReason != null && pending.isEmpty() && ctx.channel().isOpen()) {
      log.debug("Closing drained connection to {} ({})", peer, drainReason);
      ctx.close();
    }
  }

  /**
   * The connection is lost or being closed: it takes no new calls, and every call pending on it fails
   * now with UNAVAILABLE. The first reason given is kept and reused for later messages.
   */
  private void connectionFailed(String reason, Throwable cause) {
    if (closeReason == null) {
      closeReason = reason;
      closeCause = cause;
    }
    acceptsNewCalls = false;
    if (!handshake.isDone()) {
      handshake.tryFailure(new Failures.ConnectFailure(closeReason, cause));
    }
    if (pending.isEmpty()) {
      return;
    }
    List<ClientCall<?, ?>> calls = new ArrayList<>(pending.values());
    pending.clear();
    for (ClientCall<?, ?> call : calls) {
      // SENT: the server may have run it, so it is not sent again. WRITTEN: its write is still going
      // (the rest of the read failed the connection before the flush); the write's outcome decides, in
      // written(): the ERROR this side sends may still flush it, and then the server may have it.
      if (call.progress() == CallProgress.SENT) {
        call.fail(StatusCode.UNAVAILABLE, closeReason, closeCause);
      }
    }
  }
}
