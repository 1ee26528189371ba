package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.protocol.Frame;
import dev.ferry.protocol.Protobufs;
import dev.ferry.protocol.ProtocolException;
import dev.ferry.protocol.ResponseHead;
import io.netty.util.Timeout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One unary call, and the future handed to its caller.
 *
 * <p>The call completes exactly once: with the response, an error status, {@code DEADLINE_EXCEEDED},
 * cancellation, or a connection failure, whichever comes first (the {@code complete*} methods' return
 * values decide). Whatever completed it, a completion hook then cleans up after it: it stops the
 * deadline timer, asks the connection to forget the call (and to send CANCEL if its request went out
 * and no response came), and tells the channel the call is over.
 *
 * <p>Threads: created on the caller's thread. Its request is written, its response parsed and the
 * future completed on its connection's event loop; the exceptions are {@link #cancel} (completes on
 * the cancelling thread) and failures detected before the call reached a connection (on the calling
 * thread). Fields marked "event loop" are touched only by the loop of {@link #connection()}.
 *
 * @param <RespT> the response message type
 * @param <T> what the future yields: the message, or a {@link Response}
 */
final class ClientCall<RespT extends MessageLite, T> extends OnceFuture<T> {
  private static final Logger log = LoggerFactory.getLogger(ClientCall.class);

  private final MethodDescriptor<?, RespT> method;
  private final MessageLite request;
  private final Metadata metadata;
  private final long timeoutNanos;
  private final boolean hasDeadline;
  private final long deadlineNanos;
  private final BiFunction<? super RespT, Metadata, ? extends T> result;
  private final Consumer<ClientCall<?, ?>> onDone;

  private final boolean waitForReady;
  /**
   * The ClientConnection the call is counted on, null before that, or {@link #RELEASED} once the call
   * finished and gave its count back. Changed only by CAS (see {@link #bind}, {@link #releaseConnection}).
   */
  private volatile Object connection;
  private static final Object RELEASED = new Object();
  private static final java.lang.invoke.VarHandle CONNECTION;
  private volatile Timeout deadlineTimer;
  private volatile int finished; // 0 running, 1 outcome decided: see finish()
  private static final java.lang.invoke.VarHandle FINISHED;

  static {
    try {
      FINISHED = java.lang.invoke.MethodHandles.lookup().findVarHandle(ClientCall.class, "finished", int.class);
      CONNECTION = java.lang.invoke.MethodHandles.lookup().findVarHandle(ClientCall.class, "connection", Object.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
  private volatile boolean sent;
  /** A server's GOAWAY said it never processed the request (it may have been sent, to that server). */
  private volatile boolean notProcessed;

  /** Event loop: the request id on {@link #connection()}, 0 until the request is written. */
  volatile int requestId;
  /**
   * The handler whose pending map holds this call, or null: set and cleared by that handler on its
   * event loop, so that it can tell whether a call is still its own without a map lookup.
   */
  volatile ClientCallHandler pendingIn;
  /** Whether the call is in its pool's queue of waiting calls (set and cleared by the pool). */
  volatile boolean queued;
  /** How many connections this call was handed to (see {@link ClientCallHandler}). */
  volatile int dispatches;

  /**
   * @param timeoutNanos the timeout the deadline stands for, for messages
   * @param result turns the response message and trailers into the future's value
   * @param onDone told once the call completed, however it did (after the connection forgot it)
   */
  ClientCall(MethodDescriptor<?, RespT> method, MessageLite request, Metadata metadata, boolean hasDeadline,
      long deadlineNanos, long timeoutNanos, boolean waitForReady,
      BiFunction<? super RespT, Metadata, ? extends T> result, Consumer<ClientCall<?, ?>> onDone) {
    this.waitForReady = waitForReady;
    this.method = requireNonNull(method, "method");
    this.request = requireNonNull(request, "request");
    this.metadata = requireNonNull(metadata, "metadata");
    this.timeoutNanos = timeoutNanos;
    this.hasDeadline = hasDeadline;
    this.deadlineNanos = deadlineNanos;
    this.result = requireNonNull(result, "result");
    this.onDone = requireNonNull(onDone, "onDone");
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
    return hasDeadline;
  }

  /** The deadline on the {@link System#nanoTime()} clock; meaningful only if {@link #hasDeadline()}. */
  long deadlineNanos() {
    return deadlineNanos;
  }

  /** Whether the call waits for a ready connection instead of failing fast. */
  boolean waitForReady() {
    return waitForReady;
  }

  /** The connection the call was last handed to; {@code null} before that and once it finished. */
  ClientConnection connection() {
    Object c = connection;
    return c instanceof ClientConnection ? (ClientConnection) c : null;
  }

  /**
   * Hands the call to {@code next}, on which the pool has already counted it; from now on its
   * deadline fires on that connection's loop. Returns false (and gives the count back) if the call has
   * finished meanwhile. Any thread; lock-free.
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
        dispatches++;
        sent = false;
        return true;
      }
    }
  }

  /** The call finished: it stops counting against its connection. Once. */
  private void releaseConnection() {
    Object previous = CONNECTION.getAndSet(this, RELEASED);
    if (previous instanceof ClientConnection) {
      ((ClientConnection) previous).release();
    }
  }

  /** Whether the request was written to the socket (its write succeeded). */
  boolean sent() {
    return sent;
  }

  /** Event loop: the request's write succeeded. */
  void markSent() {
    sent = true;
  }

  /**
   * Event loop: the server's GOAWAY says it never processed the request, although it was sent; the
   * call is safe to send again, and if that fails its message says it was not processed rather than
   * "was sent" (which tells a caller the server may have run it).
   */
  void markNotProcessed() {
    sent = false;
    notProcessed = true;
  }

  /**
   * Starts watching the deadline on {@code timer}, if there is one; fails the call at once if it has
   * already passed. Any thread.
   */
  void armDeadline(io.netty.util.Timer timer) {
    if (!hasDeadline) {
      return;
    }
    long remaining = deadlineNanos - System.nanoTime();
    if (remaining <= 0) {
      expire();
      return;
    }
    Timeout t = timer.newTimeout(timeout -> expireOnEventLoop(), remaining, TimeUnit.NANOSECONDS);
    deadlineTimer = t;
    if (isFinished()) {
      t.cancel();
    }
  }

  /** Timer thread: move the expiry to the event loop, so that dependent stages never run on the timer. */
  private void expireOnEventLoop() {
    ClientConnection c = connection();
    if (c != null) {
      c.execute(this::expire);
    } else {
      expire();
    }
  }

  /** Fails the call with {@code DEADLINE_EXCEEDED} (if it is still running). Any thread. */
  void expire() {
    if (isFinished()) {
      return;
    }
    String what = timeoutNanos > 0
        ? "deadline exceeded after " + (timeoutNanos + 500_000) / 1_000_000 + "ms"
        : "deadline had already passed when the call started";
    fail(StatusCode.DEADLINE_EXCEEDED, what, null);
  }

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
   * not processed by the server)"} when a GOAWAY said so and it was not sent again since.
   */
  String requestClause() {
    return " (request for " + method.fullName()
        + (sent ? " was sent)" : notProcessed ? " was not processed by the server)" : " was not sent)");
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
      header = ResponseHead.parse(frame.callHeader());
    } catch (ProtocolException e) {
      fail(StatusCode.INTERNAL, "malformed response header from the server: " + e.getMessage(), e);
      return false;
    } catch (IllegalArgumentException e) {
      fail(StatusCode.INTERNAL, "invalid trailing metadata from the server: " + e.getMessage(), e);
      return true;
    }
    Metadata trailers = header.trailers();
    StatusCode code = header.status();
    if (code != StatusCode.OK) {
      completeExceptionally(new FerryException(code, header.message(), trailers, null));
      return true;
    }
    RespT message;
    try {
      message = Protobufs.parse(method.responseParser(), frame.body());
    } catch (InvalidProtocolBufferException e) {
      completeExceptionally(new FerryException(StatusCode.INTERNAL,
          "could not parse response of " + method.fullName() + ": " + e.getMessage(), trailers, e));
      return true;
    }
    complete(result.apply(message, trailers));
    return true;
  }

  /**
   * Claims the call's single completion: the first caller wins and cleans up (stops the deadline timer,
   * has the connection forget the call, sending CANCEL if its request went out and no response came,
   * gives its connection slot back and tells the channel) before the future itself completes, so that a
   * call started by a dependent stage already finds the slot free.
   */
  private boolean finish() {
    if (!FINISHED.compareAndSet(this, 0, 1)) {
      return false;
    }
    try {
      Timeout t = deadlineTimer;
      if (t != null) {
        t.cancel();
      }
      // Forget (queueing CANCEL) before giving the slot back, so that a call started in its place
      // cannot overtake the CANCEL and find the server still counting this one.
      ClientConnection c = connection();
      if (c != null) {
        c.forget(this);
      }
      releaseConnection();
    } catch (RuntimeException e) {
      log.error("Cleaning up after call {} failed", method, e);
    } finally {
      onDone.accept(this);
    }
    return true;
  }

  /** Whether the call's outcome is decided (the future may be a moment from completing). Any thread. */
  boolean isFinished() {
    return finished != 0;
  }

  @Override
  public boolean complete(T value) {
    return finish() && super.complete(value);
  }

  @Override
  public boolean completeExceptionally(Throwable ex) {
    return finish() && super.completeExceptionally(ex);
  }

  /**
   * Cancels the call: the future completes with a {@link java.util.concurrent.CancellationException}
   * and, if the request was already written, the server is sent CANCEL for it. Stages that depend on
   * this future are not affected the other way round: cancelling them does not cancel the call.
   */
  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    return finish() && super.cancel(mayInterruptIfRunning);
  }

  @Override
  public String toString() {
    return "ClientCall{" + method.fullName() + (sent ? ", sent" : "") + ", " + super.toString() + '}';
  }
}
