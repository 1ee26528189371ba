package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.CallHeader;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.OutgoingCall;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.ProtocolException;
import dev.ferry.internal.RequestHead;
import dev.ferry.internal.ResponseHead;
import io.netty.util.concurrent.EventExecutor;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One unary call's state machine: where its request got, its deadline, its single completion.
 *
 * <p>The call completes exactly once: with the response, an error status, {@code DEADLINE_EXCEEDED},
 * cancellation, or a connection failure, whichever comes first (the {@code complete*} methods' return
 * values decide). Whatever completed it, a completion hook then cleans up after it: it stops the
 * deadline timer, asks the connection to forget the call (and to send CANCEL if its request went out
 * and no response came), and tells the channel the call is over.
 *
 * <p>Where its request got is one value, {@link CallProgress}, changed only by compare-and-set; it
 * decides whether the call may be sent again (see there). Completing the call is the move to
 * {@link CallProgress#DONE}, so a call completes exactly once whatever races it.
 *
 * <p>Threads: created on the caller's thread. Its request is written, its response parsed and the
 * future completed on its connection's event loop; a deadline that passes while the call is on no
 * connection completes it on the event loop of the channel that watched the deadline. The exceptions are {@link #cancel} (completes on the cancelling thread) and failures
 * detected before the call reached a connection (on the calling thread). Fields marked "event loop"
 * are touched only by the loop of {@link #connection()}. The call is also its own REQUEST frame
 * ({@link OutgoingCall}): the encoder reads it there, while the request is written.
 *
 * @param <RespT> the response message type
 * @param <T> what the future yields: the message, or a {@link Response}
 */
final class ClientCall<RespT extends MessageLite, T> implements OutgoingCall, Runnable {
  private static final Logger log = LoggerFactory.getLogger(ClientCall.class);
  private static final VarHandle CONNECTION;
  private static final VarHandle PROGRESS;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      CONNECTION = lookup.findVarHandle(ClientCall.class, "connection", Object.class);
      PROGRESS = lookup.findVarHandle(ClientCall.class, "progress", CallProgress.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final Object RELEASED = new Object();
  private static final byte NO_DEADLINE = 0;
  private static final byte ABSOLUTE_DEADLINE = 1;
  private static final byte RELATIVE_DEADLINE = 2;

  private final MethodDescriptor<?, RespT> method;
  private final MessageLite request;
  private final Metadata metadata;
  private final long startNanos;
  /** {@link #NO_DEADLINE}, {@link #ABSOLUTE_DEADLINE} or {@link #RELATIVE_DEADLINE} (a timeout: the deadline less the start). */
  private final byte deadlineKind;
  private final long deadlineNanos;
  private final boolean waitForReady;
  private final BiFunction<? super RespT, Metadata, ? extends T> result;
  /** The channel's clock: {@link System#nanoTime()} unless a test runs the channel on a fake one. */
  /** The channel: its clock ({@link System#nanoTime()} unless a test runs it on a fake one), told once the call is done. */
  private final FerryChannel channel;
  private final CallFuture<T> future = new CallFuture<>(this);

  /** Where the request got; see {@link CallProgress}. Changed only by CAS. */
  private volatile CallProgress progress = CallProgress.IDLE;
  /** The progress the call had when it completed; written before the channel's {@code callDone} runs. */
  private CallProgress progressAtDone;
  /** The status the call completed with, and its response's size: for {@link ChannelListener}s, as above. */
  private StatusCode outcome;
  /** Whether {@link #outcome} is what the server answered (not a failure raised on this side). */
  private boolean statusFromServer;
  /** The connection the call was on when it completed (for the balancer); written before the channel's {@code callDone}. */
  private ClientConnection connectionAtDone;
  private int responseBytes;
  /**
   * The ClientConnection the call is counted on, null before that, or {@link #RELEASED} once the call
   * finished and gave its count back. Changed only by CAS (see {@link #bind}, {@link #releaseConnection}).
   * Counting is apart from {@link #progress}: a call keeps its slot from the pick to its completion.
   */
  private volatile Object connection;
  private volatile Future<?> deadlineTimer;
  /** A server said it never processed this call (GOAWAY, REFUSED); for messages only. */
  private volatile boolean refusedByServer;
  /** How many connections this call was handed to. Written by {@link #bind} only. */
  private volatile int attempts;

  /** Event loop: the request id on {@link #connection()}, valid while the call is WRITTEN or SENT there. */
  int requestId;
  /** Event loop: the REQUEST's call header on {@link #connection()}, set when its request is written. */
  RequestHead head;
  /** The connection handler that wrote the REQUEST of the first attempt (the call itself is that frame). */
  private ClientCallHandler firstWriter;

  /** The streams of a streaming call; null for a unary call. */
  final ClientStream<?, RespT> stream;

  /**
   * @param startNanos when the call started, on {@code ticker}'s clock; 0 if it has no deadline and
   *     nothing else asks (no channel listener, no outlier detection)
   * @param timeoutNanos the timeout the deadline stands for, or 0 for an absolute deadline (messages)
   * @param channel the channel: its clock, and told once the call completed, however it did (after the
   *     connection forgot it)
   * @param result turns the response message and trailers into the future's value
   * @param stream a streaming call's streams, or null for a unary call
   */
  ClientCall(MethodDescriptor<?, RespT> method, MessageLite request, Metadata metadata, long startNanos,
      boolean hasDeadline, long deadlineNanos, long timeoutNanos, boolean waitForReady, FerryChannel channel,
      BiFunction<? super RespT, Metadata, ? extends T> result,
      ClientStream<?, RespT> stream) {
    this.stream = stream;
    this.method = requireNonNull(method, "method");
    this.request = requireNonNull(request, "request");
    this.metadata = requireNonNull(metadata, "metadata");
    this.startNanos = startNanos;
    this.deadlineKind = !hasDeadline ? NO_DEADLINE : timeoutNanos > 0 ? RELATIVE_DEADLINE : ABSOLUTE_DEADLINE;
    this.deadlineNanos = deadlineNanos;
    this.waitForReady = waitForReady;
    this.channel = requireNonNull(channel, "channel");
    this.result = requireNonNull(result, "result");
  }

  /** The caller's view of the call. */
  CallFuture<T> future() {
    return future;
  }

  MethodDescriptor<?, RespT> method() {
    return method;
  }

  MessageLite request() {
    return request;
  }

  Metadata metadata() {
    return metadata;
  }

  boolean hasDeadline() {
    return deadlineKind != NO_DEADLINE;
  }

  /** The deadline on the channel's clock; meaningful only if {@link #hasDeadline()}. */
  long deadlineNanos() {
    return deadlineNanos;
  }

  /** Whether the call waits for a ready connection instead of failing fast. */
  boolean waitForReady() {
    return waitForReady;
  }

  // ---- progress ----

  CallProgress progress() {
    return progress;
  }

  /**
   * When the call started, on the {@link System#nanoTime()} clock; 0 for a call without a deadline on a
   * channel with no listener and no outlier detection, where nothing reads it.
   */
  long startNanos() {
    return startNanos;
  }

  /** The status the call completed with; null while it runs. Read by the channel's {@code callDone}. */
  StatusCode outcome() {
    return outcome;
  }

  /** Whether the outcome is the server's answer rather than a failure raised here. Read by the channel's {@code callDone}. */
  boolean statusFromServer() {
    return statusFromServer;
  }

  /**
   * The connection the call was on when it completed (the last it was handed to), or null if none.
   * Read by the channel's {@code callDone}.
   */
  ClientConnection connectionAtDone() {
    return connectionAtDone;
  }

  /** The size of the response message (OK responses); 0 otherwise. Read by the channel's {@code callDone}. */
  int responseBytes() {
    return responseBytes;
  }

  /** The progress when the call completed; null while it runs. Read by the channel's {@code callDone}. */
  CallProgress progressAtDone() {
    return progressAtDone;
  }

  /** Moves from {@code from} to {@code to}; false if the call was elsewhere (typically DONE). Any thread. */
  boolean advance(CallProgress from, CallProgress to) {
    return PROGRESS.compareAndSet(this, from, to);
  }

  /**
   * The request did not reach the server, or the server said it did not process it: the call is on no
   * connection again and may be sent elsewhere. False if it completed meanwhile. Event loop.
   */
  boolean unsent(CallProgress from, boolean refused) {
    if (refused) {
      refusedByServer = true;
    }
    return advance(from, CallProgress.IDLE);
  }

  /** How many connections the call was handed to. */
  int attempts() {
    return attempts;
  }

  /** The connection the call was last handed to; {@code null} before that and once it finished. */
  ClientConnection connection() {
    Object c = connection;
    return c instanceof ClientConnection ? (ClientConnection) c : null;
  }

  /**
   * Hands the call, which is on no connection ({@link CallProgress#IDLE}), to {@code next}, on which the
   * pool has already counted it; from now on its deadline fires on that connection's loop. Returns
   * false (and gives the count back) if the call has finished meanwhile. Any thread; lock-free.
   */
  boolean bind(ClientConnection next) {
    for (;;) {
      Object current = connection;
      if (current == RELEASED) {
        next.release();
        return false;
      }
      if (CONNECTION.compareAndSet(this, current, next)) {
        if (current != null) {
          ((ClientConnection) current).release();
        }
        break;
      }
    }
    // If the call completes from here on, finish() gives next's count back (connection is set).
    attempts++;
    return advance(CallProgress.IDLE, CallProgress.BOUND);
  }

  /** The call finished: it stops counting against its connection. Once. */
  private void releaseConnection() {
    Object previous = CONNECTION.getAndSet(this, RELEASED);
    if (previous instanceof ClientConnection) {
      connectionAtDone = (ClientConnection) previous;
      ((ClientConnection) previous).release();
    }
  }

  // ---- deadline ----

  /**
   * Starts watching the deadline, if there is one, on {@code home} (an event loop of the channel: its
   * timer costs no thread and no lock per call); fails the call at once if the deadline has already
   * passed. Any thread.
   */
  void armDeadline(EventExecutor home) {
    if (deadlineKind == NO_DEADLINE) {
      return;
    }
    long remaining = deadlineNanos - channel.ticker().nanoTime();
    if (remaining <= 0) {
      expire();
      return;
    }
    Future<?> t;
    try {
      t = home.schedule(this::deadlinePassed, remaining, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      return; // the channel's loops are shut down: it fails the call anyway
    }
    deadlineTimer = t;
    if (isFinished()) {
      t.cancel(false);
    }
  }

  /**
   * On the loop the deadline was armed on: expires the call there, or on its connection's loop if it has
   * one elsewhere, so that a call completes on the loop that owns its pending entry.
   */
  private void deadlinePassed() {
    if (isFinished()) {
      return;
    }
    ClientConnection c = connection();
    if (c == null || c.eventLoop().inEventLoop()) {
      expire();
      return;
    }
    try {
      c.eventLoop().execute(this::expire);
    } catch (RejectedExecutionException e) {
      expire(); // that loop is gone: nothing else is left to run it
    }
  }

  /** Fails the call with {@code DEADLINE_EXCEEDED} (if it is still running). Any thread. */
  void expire() {
    if (isFinished()) {
      return;
    }
    long now = channel.ticker().nanoTime();
    String what;
    if (deadlineNanos - startNanos <= 0) {
      what = "deadline had already passed when the call started (" + millis(startNanos - deadlineNanos)
          + " ms before)";
    } else {
      what = "deadline exceeded after " + millis(now - startNanos) + " ms ("
          + (deadlineKind == RELATIVE_DEADLINE ? "timeout " + millis(deadlineNanos - startNanos) + " ms"
              : "deadline " + millis(deadlineNanos - startNanos) + " ms after the call started") + ")";
    }
    fail(StatusCode.DEADLINE_EXCEEDED, what, null);
  }

  private static long millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  // ---- completion ----

  /**
   * Fails the call with {@code code}; the message is {@code what} followed by which method it was
   * and whether its request had been sent. Returns whether this completed the call. Any thread.
   */
  boolean fail(StatusCode code, String what, Throwable cause) {
    if (isFinished()) {
      return false;
    }
    return completeExceptionally(new FerryException(code, what + requestClause(), cause));
  }

  /**
   * {@code " (request for demo.Greeter/SayHello was sent)"}, {@code "... was not sent)"}, or {@code "... was
   * not processed by the server)"} when a server said so and it did not reach another since.
   */
  String requestClause() {
    CallProgress p = progress;
    return " (request for " + method.fullName() + (p.mayHaveReachedServer() ? " was sent)"
        : refusedByServer ? " was not processed by the server)" : " was not sent)");
  }

  /**
   * Event loop: completes the call from its RESPONSE frame (the caller releases the frame). The body
   * is parsed here, on the event loop, straight from the frame's buffer. Returns false if the call
   * header is malformed, a protocol error that the caller answers by closing the connection (the call
   * itself is failed with INTERNAL here).
   */
  boolean deliver(Frame frame) {
    ResponseHead header;
    try {
      header = ResponseHead.parse(frame.buffer(), frame.callHeaderIndex(), frame.metaLength());
    } catch (ProtocolException e) {
      fail(StatusCode.INTERNAL, "malformed response header from the server: " + e.getMessage(), e);
      return false;
    } catch (IllegalArgumentException e) {
      fail(StatusCode.INTERNAL, "invalid trailing metadata from the server: " + e.getMessage(), e);
      return true;
    }
    Metadata trailers = header.trailers();
    StatusCode code = header.status();
    statusFromServer = true;
    if (code != StatusCode.OK) {
      completeExceptionally(new FerryException(code, header.message(), trailers, null));
      return true;
    }
    RespT message;
    try {
      // A stream of responses ends with a RESPONSE without a body (one sent anyway is ignored).
      message = Protobufs.parse(method.responseParser(), frame.buffer(), frame.bodyIndex(),
          stream == null || !stream.serverStreams() ? frame.bodyLength() : 0);
    } catch (InvalidProtocolBufferException e) {
      statusFromServer = false; // the server said OK; this side could not read what it sent
      completeExceptionally(new FerryException(StatusCode.INTERNAL,
          "could not parse response of " + method.fullName() + ": " + e.getMessage(), trailers, e));
      return true;
    }
    responseBytes = frame.frameLength() - Frame.HEADER_SIZE - frame.metaLength();
    complete(result.apply(message, trailers));
    return true;
  }

  /**
   * Claims the call's single completion (the move to DONE): the first caller wins and cleans up (stops
   * the deadline timer, has the connection forget the call, sending CANCEL if its request may have
   * gone out, gives its connection slot back and tells the channel) before the future itself
   * completes, so that a call started by a dependent stage already finds the slot free.
   */
  private boolean finish(StatusCode status) {
    CallProgress before = (CallProgress) PROGRESS.getAndSet(this, CallProgress.DONE);
    if (before == CallProgress.DONE) {
      return false;
    }
    progressAtDone = before;
    outcome = status;
    try {
      Future<?> t = deadlineTimer;
      if (t != null) {
        t.cancel(false);
      }
      // Forget (queueing CANCEL) before giving the slot back, so that a call started in its place
      // cannot overtake the CANCEL and find the server still counting this one.
      ClientConnection c = connection();
      if (c != null && before.mayHaveReachedServer()) {
        c.forget(this);
      }
      releaseConnection();
    } catch (RuntimeException e) {
      log.error("Cleaning up after call {} failed", method, e);
    } finally {
      channel.callDone(this);
    }
    return true;
  }

  /** Whether the call's outcome is decided (the future may be a moment from completing). Any thread. */
  boolean isFinished() {
    return progress == CallProgress.DONE;
  }

  /** Completes the call with {@code value}. Returns whether this completed it. Any thread. */
  boolean complete(T value) {
    if (!finish(StatusCode.OK)) {
      return false;
    }
    future.succeed(value);
    return true;
  }

  /** Completes the call with {@code error}. Returns whether this completed it. Any thread. */
  boolean completeExceptionally(Throwable error) {
    if (!finish(statusOf(error))) {
      return false;
    }
    future.fail(error);
    return true;
  }

  /**
   * Cancels the call: its future completes with a {@link java.util.concurrent.CancellationException}
   * and, if the request may have been written, the server is sent CANCEL. Any thread.
   */
  boolean cancel() {
    return endByCaller(StatusCode.CANCELLED, future::cancelled);
  }

  /**
   * The caller ended the call through its future, which counts as {@code status} ({@code outcome}
   * completes the future that way).
   */
  boolean endByCaller(StatusCode status, Runnable outcome) {
    if (!finish(status)) {
      return false;
    }
    outcome.run();
    return true;
  }

  /** The status a failure counts as, for listeners. */
  static StatusCode statusOf(Throwable ex) {
    return ex instanceof FerryException ? ((FerryException) ex).code()
        : ex instanceof java.util.concurrent.CancellationException ? StatusCode.CANCELLED
        : ex instanceof java.util.concurrent.TimeoutException ? StatusCode.DEADLINE_EXCEEDED // orTimeout
        : StatusCode.UNKNOWN;
  }

  // ---- the REQUEST frame this call is written as (OutgoingCall): read by the encoder, event loop ----

  @Override
  public FrameType type() {
    return FrameType.REQUEST;
  }

  @Override
  public int requestId() {
    return requestId;
  }

  @Override
  public int flags() {
    return stream == null ? 0 : stream.requestFlags();
  }

  @Override
  public CallHeader header() {
    return head;
  }

  @Override
  public MessageLite body() {
    return request;
  }

  /**
   * The call's queued write (the connection's write queue runs the call itself: no command object per
   * call). While that write is queued the call is {@link CallProgress#BOUND} to the connection that
   * queued it, and only the write itself moves it on (or its completion, after which it has no
   * connection), so the connection found here is the one that queued it. Event loop.
   */
  @Override
  public void run() {
    ClientConnection c = connection();
    if (c != null) {
      c.writeQueued(this);
    }
  }

  /** Event loop: {@code writer} is about to write the first attempt's REQUEST, which is this call. */
  void firstWrittenBy(ClientCallHandler writer) {
    this.firstWriter = writer;
  }

  /**
   * The encoder says how the first attempt's REQUEST write ended (later attempts are frames of their
   * own): its connection handler decides what that makes the call. Event loop of that connection.
   */
  @Override
  public void written(Throwable failure) {
    firstWriter.written(this, 1, failure);
  }

  @Override
  public String toString() {
    return "ClientCall{" + method.fullName() + ", " + progress + '}';
  }
}
