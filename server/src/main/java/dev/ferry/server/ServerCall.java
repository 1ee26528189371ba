package dev.ferry.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.Addresses;
import dev.ferry.internal.CallHeader;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.OutgoingCall;
import dev.ferry.internal.Protobufs;
import dev.ferry.internal.ResponseHead;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call on the server, from its REQUEST to its single outcome: a response, an error status, or a
 * cancellation (client CANCEL, deadline, connection loss), whichever comes first. The {@code done} flag
 * makes that outcome exactly-once whatever thread gets there first: the handler's thread or the
 * connection's event loop (where CANCEL, connection loss and the deadline are noticed). What the
 * handler sees of the call is in {@link ServerCallContext}, which this class extends. A streaming call
 * is a {@link ServerStreamCall}, which adds its streams; this class alone serves unary calls. The call
 * is also its own RESPONSE frame ({@link OutgoingCall}): the encoder reads the outcome from it.
 */
class ServerCall<ReqT extends MessageLite, RespT extends MessageLite> extends ServerCallContext
    implements Runnable, OutgoingCall {
  private static final Logger log = LoggerFactory.getLogger(ServerCall.class);
  private static final VarHandle DONE;

  static {
    try {
      DONE = MethodHandles.lookup().findVarHandle(ServerCall.class, "done", boolean.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final int id;
  final ServerMethod<ReqT, RespT> method;
  /** When the REQUEST was read (the server's clock), and its body's size: for {@link ServerListener}s. */
  final long startNanos;
  final int requestBytes;
  /** Set once, by compare-and-set ({@link #claimOutcome}), by whoever decides the call's outcome. */
  private volatile boolean done;
  /** The deadline's task on the connection's event loop; set, run and cancelled there. */
  private ScheduledFuture<?> deadlineTimer;
  // The REQUEST frame and the memory it holds (ConnectionMemory.hold), until the handler has parsed it.
  // Owned by the event loop until the call starts, then by the handler's thread.
  private Frame request;
  private int heldBytes;
  // The outcome, set once by whoever wins `done`, then written by run() on the event loop.
  MessageLite responseBody;
  /** The outcome's header: its status, message and trailers. */
  ResponseHead responseHead;
  /** The size of the RESPONSE frame, whose memory its write holds; set by the {@link ResponseWriter}. */
  int responseSize;

  ServerCall(ServerConnectionHandler connection, int id, ServerMethod<ReqT, RespT> method, Metadata metadata,
      long deadlineNanos, long startNanos, int requestBytes) {
    super(connection, metadata, deadlineNanos);
    this.startNanos = startNanos;
    this.requestBytes = requestBytes;
    this.id = id;
    this.method = method;
  }

  /**
   * Starts watching the deadline, if any, on the connection's event loop: the call expires there, where
   * CANCEL and connection loss are noticed too. Event loop.
   */
  void armDeadline() {
    if (!hasDeadline()) {
      return;
    }
    long remaining = deadlineNanos() - connection.runtime().ticker.nanoTime();
    deadlineTimer = connection.channel().eventLoop().schedule(this::expire, Math.max(0, remaining),
        TimeUnit.NANOSECONDS);
  }

  /** Stops watching the deadline (the call is done, or its outcome is being written). Event loop. */
  void disarmDeadline() {
    ScheduledFuture<?> t = deadlineTimer;
    if (t != null) {
      deadlineTimer = null;
      t.cancel(false);
    }
  }

  /** Keeps the call's REQUEST frame, whose memory it holds, until it starts. Event loop. */
  void holdRequest(Frame frame) {
    request = frame;
    heldBytes = frame.frameLength();
  }

  /** The held REQUEST frame, to start the call with ({@link #handle}); null if there is none. Event loop. */
  Frame takeRequest() {
    Frame f = request;
    request = null;
    return f;
  }

  /** The call will not start: gives back its REQUEST frame and memory, if it still holds them. Event loop. */
  void dropRequest() {
    Frame f = takeRequest();
    if (f != null) {
      releaseRequest(f);
    }
  }

  /** Releases {@code frame}, the call's REQUEST, and the memory held for it. Once per call. */
  void releaseRequest(Frame frame) {
    frame.release();
    connection.memory().release(heldBytes);
  }

  /** Parses the request and runs the handler. Runs on the handler executor; releases the frame. */
  final void handle(Frame frame) {
    ReqT request;
    try {
      if (done) {
        return; // cancelled while queued
      }
      if (hasDeadline() && deadlineNanos() - connection.runtime().ticker.nanoTime() <= 0) {
        expire(); // not started: the caller has given up already
        return;
      }
      request = readRequest(frame);
    } catch (InvalidProtocolBufferException e) {
      // The caller gets the reason in the status; DEBUG here, so that bad requests cannot flood the log.
      log.debug("Call {} from {}: could not parse the request for {}: {}", id, Addresses.describe(remoteAddress()), method.descriptor,
          e.getMessage());
      fail(new FerryException(StatusCode.INVALID_ARGUMENT,
          "could not parse the request for " + method.descriptor + ": " + e.getMessage()));
      return;
    } finally {
      releaseRequest(frame);
    }
    if (method.handler != null) {
      RespT response;
      try {
        response = method.handler.handle(request, this);
      } catch (Throwable t) {
        fail(t);
        return;
      }
      if (response == null) {
        fail(new NullPointerException("handler of " + method.descriptor + " returned null"));
      } else {
        succeed(response);
      }
      return;
    }
    CompletionStage<RespT> stage;
    try {
      stage = method.asyncHandler.handle(request, this);
      if (stage == null) {
        throw new NullPointerException("handler of " + method.descriptor + " returned null");
      }
    } catch (Throwable t) {
      fail(t);
      return;
    }
    stage.whenComplete((response, error) -> {
      if (error != null) {
        fail(error);
      } else if (response == null && !endsWithoutResponse()) {
        fail(new NullPointerException("handler of " + method.descriptor + " completed with null"));
      } else {
        succeed(response);
      }
    });
  }

  /** Completes the call with OK and {@code response} (null: no body, as a stream's end). Any thread. */
  void succeed(RespT response) {
    if (claimOutcome()) {
      respond(StatusCode.OK, "", trailers(), response);
    }
  }

  /** Completes the call with the status {@code error} maps to. Any thread. */
  void fail(Throwable error) {
    if (!claimOutcome()) {
      return;
    }
    Throwable cause = unwrap(error);
    if (cause instanceof FerryException) {
      FerryException fe = (FerryException) cause;
      Metadata t = trailers();
      if (!fe.trailers().isEmpty()) {
        t = t.toBuilder().addAll(fe.trailers()).build();
      }
      respond(fe.code(), fe.description(), t, null);
    } else {
      log.error("Handler of {} failed for call {} from {}", method.descriptor, id, Addresses.describe(remoteAddress()), cause);
      respond(StatusCode.INTERNAL, "internal error in " + method.descriptor, trailers(),
          null);
    }
  }

  /** The request message from its REQUEST frame (a streaming call's requests may come later). */
  ReqT readRequest(Frame frame) throws InvalidProtocolBufferException {
    return Protobufs.parse(method.descriptor.requestParser(), frame.buffer(), frame.bodyIndex(), frame.bodyLength());
  }

  /** Whether the handler's stage may complete with null: the call then ends OK without a body (streams). */
  boolean endsWithoutResponse() {
    return false;
  }

  /**
   * The deadline passed: cancel the handler's context and tell the client. Event loop (the deadline's
   * task), or the handler executor for a call whose deadline passed before it started.
   */
  void expire() {
    expireWith("deadline exceeded on the server for " + method.descriptor);
  }

  /** As {@link #expire()}, saying {@code why} (a stream's idle timeout). */
  final void expireWith(String why) {
    if (claimOutcome()) {
      fireCancelled();
      respond(StatusCode.DEADLINE_EXCEEDED, why, Metadata.EMPTY, null);
    }
  }

  /** The client cancelled, or the connection is gone: no response is sent. Event loop. */
  void cancelSilently() {
    disarmDeadline();
    if (claimOutcome()) {
      fireCancelled();
    }
  }

  boolean isDone() {
    return done;
  }

  /** Claims the call's single outcome: true for the first caller only. Any thread. */
  private boolean claimOutcome() {
    return DONE.compareAndSet(this, false, true);
  }

  @Override
  public final MethodDescriptor<?, ?> method() {
    return method.descriptor;
  }

  /** Event loop (through the connection's WriteQueue): writes the outcome recorded by respond(). */
  @Override
  public void run() {
    connection.writeOutcome(this);
  }

  /** Records the outcome and hands the call to the event loop to write it. Any thread; once. */
  private void respond(StatusCode code, String message, Metadata trailers, MessageLite body) {
    responseHead = ResponseHead.of(code, message, trailers);
    responseBody = body;
    connection.sendResponse(this);
  }

  // ---- the RESPONSE frame this call is written as (OutgoingCall): read by the encoder, event loop ----

  @Override
  public final FrameType type() {
    return FrameType.RESPONSE;
  }

  @Override
  public int requestId() {
    return id;
  }

  @Override
  public final int flags() {
    return 0;
  }

  @Override
  public final CallHeader header() {
    return responseHead;
  }

  @Override
  public final MessageLite body() {
    return responseBody;
  }

  /** The encoder says how the write of this call's RESPONSE ended. Event loop. */
  @Override
  public final void written(Throwable failure) {
    connection.responseWritten(responseSize, failure);
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
