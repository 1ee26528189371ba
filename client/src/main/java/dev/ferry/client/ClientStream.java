package dev.ferry.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.StreamWriter;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.InboundStream;
import dev.ferry.internal.OutboundStream;
import dev.ferry.internal.ProtocolException;
import dev.ferry.internal.Settings;
import dev.ferry.internal.StreamLink;
import dev.ferry.internal.StreamRules;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The streams of one streaming call on the client: the server's responses ({@link InboundStream}) and
 * this side's requests ({@link OutboundStream}), as the method's type has them, tied to the
 * {@link ClientCall} that carries the call through the pool, the wire and its single completion.
 *
 * <p>Life: the stream exists before its call (the application gets its reader or writer at once, and
 * client interceptors run first). Once the REQUEST is written, frames of the call go to that
 * connection; once the write has gone out, the server's credit arrives with its SETTINGS and writers may
 * send (so no request message can be queued behind a REQUEST that is then sent elsewhere). The call's
 * completion (the RESPONSE, an error, the deadline or idle timeout, a cancel, a lost connection) ends
 * both streams: the reader returns what arrived, then the status; writers throw it.
 *
 * <p>Threads: frames and timers on the connection's event loop; the application on its own threads.
 * The halves are thread-safe; {@link #call} is set once.
 */
final class ClientStream<ReqT extends MessageLite, RespT extends MessageLite>
    implements StreamLink, OutboundStream.Owner {
  private final MethodDescriptor<ReqT, RespT> method;
  private final InboundStream<RespT> inbound; // null unless the server streams
  private final OutboundStream<ReqT> outbound; // null unless the client streams
  private final long idleTimeoutNanos; // 0 = none
  private final Ticker ticker;
  private final ChannelListener listener;
  private final CompletableFuture<RespT> response = new CompletableFuture<>() {
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      // Cancelled first, so that the caller sees a CancellationException, as for a unary call's future.
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      ClientStream.this.cancel(new FerryException(StatusCode.CANCELLED, method.fullName() + " was cancelled"));
      return cancelled;
    }
  };
  private volatile ClientCall<RespT, Response<RespT>> call;
  private volatile boolean cancelledHere; // the application (or a writer's failure) ended the call
  private volatile long lastActivityNanos;
  private volatile ScheduledFuture<?> idleTimer;

  /**
   * @param window this channel's STREAM_INITIAL_WINDOW: the server's credit for its responses
   * @param idleTimeoutNanos the stream's idle timeout, 0 for none
   * @param listener the channel's listener, told of stalls of the request stream
   */
  ClientStream(MethodDescriptor<ReqT, RespT> method, int window, long idleTimeoutNanos, Ticker ticker,
      ChannelListener listener) {
    this.method = method;
    this.listener = listener;
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.ticker = ticker;
    MethodDescriptor.Type type = method.type();
    this.inbound = type.serverStreams()
        ? new InboundStream<>(method.responseParser(), window, this::badResponse, this::cancelByReader) : null;
    // Stalls are timed only for a listener: a channel without one reads no clock for them.
    this.outbound = type.clientStreams()
        ? new OutboundStream<>(this, true, listener == ChannelListeners.NONE ? null : ticker) : null;
    if (inbound != null) {
      inbound.attach(this);
    }
  }

  MethodDescriptor<ReqT, RespT> method() {
    return method;
  }

  /** The responses, for a server- or bidi-streaming call. */
  InboundStream<RespT> inbound() {
    return inbound;
  }

  /** The requests, for a client- or bidi-streaming call. */
  OutboundStream<ReqT> outbound() {
    return outbound;
  }

  /** The response of a client-streaming call. */
  CompletableFuture<RespT> response() {
    return response;
  }

  /** Whether the call sends request messages: once one went, it may not be sent again elsewhere. */
  boolean sendsMessages() {
    return outbound != null;
  }

  /** Whether the server's answer ends a stream of responses (its RESPONSE then has no body to read). */
  boolean serverStreams() {
    return inbound != null;
  }

  /**
   * The call that carries this stream; false if it already has one (an interceptor that sends a call
   * twice cannot do so with a stream) or the stream was cancelled before it got one.
   */
  boolean bind(ClientCall<RespT, Response<RespT>> c) {
    synchronized (this) {
      if (call != null || cancelledHere || response.isDone()) {
        return false;
      }
      call = c;
    }
    c.future().whenComplete(this::ended);
    return true;
  }

  /** The interceptors failed the call before it was made: the streams end with that. */
  void failBeforeStart(Throwable error) {
    if (call == null) {
      endStreams(asFerryException(error), false);
      response.completeExceptionally(asFerryException(error));
    }
  }

  // ---- from the connection's ClientCallHandler, event loop ----

  /** The REQUEST flags of this call. */
  int requestFlags() {
    return StreamRules.requestFlags(method.type());
  }

  /** The idle timeout to announce, in microseconds (0: none). */
  long idleTimeoutMicros() {
    return TimeUnit.NANOSECONDS.toMicros(idleTimeoutNanos);
  }

  /**
   * The REQUEST went out to the socket: the stream may send, with the server's credit, and the idle
   * clock starts. Event loop.
   */
  void requestSent(Settings server, ClientConnection connection) {
    lastActivityNanos = ticker.nanoTime();
    if (outbound != null) {
      outbound.attach(this, server.streamInitialWindow(), server.maxFrameSize());
    }
    if (idleTimeoutNanos > 0) {
      idleTimer = connection.eventLoop().schedule(this::checkIdle, idleTimeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * A STREAM_MESSAGE or WINDOW_UPDATE of this call arrived (the caller releases it). Event loop.
   *
   * @throws ProtocolException if it breaks a streaming rule; the connection closes
   */
  void frameReceived(Frame frame) {
    if (frame.type() == FrameType.STREAM_MESSAGE) {
      if (inbound == null || frame.endsStream()) {
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, inbound == null
            ? "STREAM_MESSAGE from the server for request id " + frame.requestId() + ", whose method "
                + method.fullName() + " is " + method.type() + " (its response is not a stream)"
            : "STREAM_MESSAGE with END_STREAM from the server for request id " + frame.requestId()
                + " (a server ends its stream with RESPONSE)");
      }
      lastActivityNanos = ticker.nanoTime();
      inbound.received(frame);
    } else {
      if (outbound == null) {
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE from the server for request id "
            + frame.requestId() + ", whose method " + method.fullName() + " is " + method.type()
            + " (its request is not a stream)");
      }
      outbound.grant(frame.windowIncrement(), frame.requestId());
    }
  }

  private void badResponse(InvalidProtocolBufferException e) {
    ClientCall<?, ?> c = call;
    if (c != null) {
      c.completeExceptionally(new FerryException(StatusCode.INTERNAL,
          "could not parse a response message of " + method.fullName() + ": " + e.getMessage(), e));
    }
  }

  private void checkIdle() {
    idleTimer = null;
    ClientCall<?, ?> c = call;
    if (c == null || c.isFinished()) {
      return;
    }
    long idle = ticker.nanoTime() - lastActivityNanos;
    ClientConnection connection = c.connection();
    if (idle >= idleTimeoutNanos || connection == null) {
      c.fail(StatusCode.DEADLINE_EXCEEDED, "stream idle for " + TimeUnit.NANOSECONDS.toMillis(idle)
          + " ms, over its idle timeout of " + TimeUnit.NANOSECONDS.toMillis(idleTimeoutNanos) + " ms", null);
    } else {
      idleTimer = connection.eventLoop().schedule(this::checkIdle, idleTimeoutNanos - idle, TimeUnit.NANOSECONDS);
    }
  }

  // ---- the end ----

  /** The call completed, however it did: both streams end. On the thread that completed it. */
  private void ended(Response<RespT> result, Throwable error) {
    ScheduledFuture<?> t = idleTimer;
    if (t != null) {
      t.cancel(false);
    }
    if (error == null) {
      if (inbound != null) {
        inbound.end();
      }
      if (outbound != null) {
        outbound.end(new FerryException(StatusCode.CANCELLED, "the server answered " + method.fullName()
            + " already; it takes no more requests"));
      }
      response.complete(result.message());
      return;
    }
    FerryException failure = asFerryException(error);
    endStreams(failure, cancelledHere);
    response.completeExceptionally(failure);
  }

  private void endStreams(FerryException failure, boolean cancelledHere) {
    if (inbound != null) {
      if (cancelledHere) {
        inbound.abort(failure); // this side gave up: nobody reads what is queued
      } else {
        inbound.fail(failure); // what arrived is still read, then the failure
      }
    }
    if (outbound != null) {
      outbound.end(failure);
    }
  }

  /** Cancels the call (or, before it started, the stream) with {@code why}. Any thread. */
  void cancel(FerryException why) {
    ClientCall<?, ?> c;
    synchronized (this) {
      cancelledHere = true;
      c = call;
      if (c == null) {
        endStreams(why, true);
        response.completeExceptionally(why);
        return;
      }
    }
    c.completeExceptionally(why);
  }

  private void cancelByReader() {
    cancel(new FerryException(StatusCode.CANCELLED, "the response reader of " + method.fullName()
        + " was closed before the end; call cancelled"));
  }

  /** Whether the call has completed (or the stream ended before it started). */
  boolean isFinished() {
    ClientCall<?, ?> c = call;
    return c != null ? c.isFinished() : response.isDone();
  }

  static FerryException asFerryException(Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof FerryException) {
      return (FerryException) t;
    }
    if (t instanceof CancellationException) {
      return new FerryException(StatusCode.CANCELLED, "call cancelled", t);
    }
    return new FerryException(StatusCode.UNKNOWN, Failures.describe(t), t);
  }

  // ---- OutboundStream.Owner ----

  @Override
  public void abandoned(FerryException why) {
    cancel(why);
  }

  @Override
  public void tooLarge(FerryException error) {
    cancel(error);
  }

  @Override
  public void sent() {
    if (idleTimeoutNanos > 0) {
      lastActivityNanos = ticker.nanoTime();
    }
  }

  @Override
  public void stalled() {
    listener.streamStalled(method);
  }

  @Override
  public void stallEnded(long stalledNanos) {
    listener.streamStallEnded(method, stalledNanos);
  }

  // ---- StreamLink: the connection the call is on ----

  @Override
  public void enqueue(Runnable command) {
    ClientCall<?, ?> c = call;
    ClientConnection connection = c == null ? null : c.connection();
    if (connection != null) {
      connection.enqueue(command);
    }
  }

  @Override
  public void enqueueMessage(Runnable frame, int bytes) {
    ClientCall<?, ?> c = call;
    ClientConnection connection = c == null ? null : c.connection();
    if (connection != null) {
      connection.enqueueStreamMessage(frame, bytes);
    }
  }

  @Override
  public boolean isOpen() {
    ClientCall<?, ?> c = call;
    ClientConnection connection = c == null ? null : c.connection();
    return connection != null && connection.isPending(c);
  }

  @Override
  public boolean transportWritable() {
    ClientCall<?, ?> c = call;
    ClientConnection connection = c == null ? null : c.connection();
    return connection == null || connection.isWritable();
  }

  /** The call's connection drained below its low-water mark: request writers that waited go on. Event loop. */
  void transportResumed() {
    if (outbound != null) {
      outbound.transportWritable();
    }
  }

  @Override
  public void write(Object frame) {
    ClientConnection connection = call.connection();
    if (connection != null) {
      connection.write(frame);
    }
  }

  @Override
  public void encodeFailed(Throwable cause) {
    cancel(new FerryException(StatusCode.INTERNAL, "could not encode a request message of " + method.fullName(),
        cause));
  }

  @Override
  public int requestId() {
    return call.requestId;
  }

  // ---- what the application holds ----

  /** The call as a {@link ClientStreamingCall}. */
  ClientStreamingCall<ReqT, RespT> asClientStreamingCall() {
    return new Upload();
  }

  /** The call as a {@link BidiStreamingCall}. */
  BidiStreamingCall<ReqT, RespT> asBidiStreamingCall() {
    return new Chat();
  }

  private final class Upload implements ClientStreamingCall<ReqT, RespT> {
    @Override
    public void write(ReqT message) {
      outbound.write(message);
    }

    @Override
    public boolean trySend(ReqT message) {
      return outbound.trySend(message);
    }

    @Override
    public boolean isWritable() {
      return outbound.isWritable();
    }

    @Override
    public void onWritable(Runnable listener) {
      outbound.onWritable(listener);
    }

    @Override
    public void complete() {
      outbound.complete();
    }

    @Override
    public void close() {
      outbound.close();
    }

    @Override
    public CompletableFuture<RespT> response() {
      return response;
    }

    @Override
    public RespT awaitResponse() {
      outbound.complete();
      return BlockingCall.await(response, method);
    }

    @Override
    public void cancel() {
      ClientStream.this.cancel(new FerryException(StatusCode.CANCELLED, method.fullName() + " was cancelled"));
    }

    @Override
    public String toString() {
      return "ClientStreamingCall{" + method.fullName() + '}';
    }
  }

  private final class Chat implements BidiStreamingCall<ReqT, RespT> {
    @Override
    public StreamWriter<ReqT> requests() {
      return outbound;
    }

    @Override
    public StreamReader<RespT> responses() {
      return inbound;
    }

    @Override
    public void cancel() {
      ClientStream.this.cancel(new FerryException(StatusCode.CANCELLED, method.fullName() + " was cancelled"));
    }

    @Override
    public void close() {
      if (!isFinished()) {
        cancel();
      }
    }

    @Override
    public String toString() {
      return "BidiStreamingCall{" + method.fullName() + '}';
    }
  }
}
