package dev.ferry.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.InboundPublisher;
import dev.ferry.internal.InboundStream;
import dev.ferry.internal.OutboundStream;
import dev.ferry.internal.ProtocolException;
import dev.ferry.internal.StreamLink;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One streaming call on the server: a {@link ServerCall} (one outcome, exactly once) with the client's
 * request stream ({@link InboundStream}) and its own response stream ({@link OutboundStream}), as the
 * method's type has them, and the stream's idle timeout.
 *
 * <p>The call's RESPONSE ends it as for a unary call, written after every message the handler wrote
 * (they go through the same write queue, in order). Whatever ends the call (the handler's return or
 * failure, CANCEL, the deadline or idle timeout, connection loss) ends its streams too, waking a
 * handler blocked on either. Frames of a call that has left the connection's map are not written.
 *
 * <p>Memory: the client's messages are held in the request stream, bounded by this server's stream
 * window (plus one message), and counted in the connection's {@link ConnectionMemory} until the handler
 * takes them: a handler that reads slowly stalls its own stream, not the connection, while the server's
 * memory budget still bounds what all streams together hold.
 *
 * <p>Threads: frames arrive and timers run on the connection's event loop; the handler reads and
 * writes on its own thread; the streams are thread-safe.
 */
final class ServerStreamCall<ReqT extends MessageLite, RespT extends MessageLite> extends ServerCall<ReqT, RespT>
    implements StreamLink, OutboundStream.Owner {
  private final MethodDescriptor.Type type;
  private final InboundStream<ReqT> requests; // null unless the client streams
  private final OutboundStream<RespT> responses; // null unless the server streams
  private final long idleTimeoutNanos; // 0 = none
  private volatile long lastActivityNanos;
  private ScheduledFuture<?> idleTimer; // event loop

  /**
   * @param streamWindow this server's STREAM_INITIAL_WINDOW: the client's credit for its requests
   * @param clientWindow the client's STREAM_INITIAL_WINDOW: this call's credit for its responses
   * @param clientMaxFrameSize the largest frame the client accepts
   */
  ServerStreamCall(ServerConnectionHandler connection, int id, ServerMethod<ReqT, RespT> method, Metadata metadata,
      long deadlineNanos, long startNanos, int requestBytes, long idleTimeoutNanos, int streamWindow,
      int clientWindow, int clientMaxFrameSize) {
    super(connection, id, method, metadata, deadlineNanos, startNanos, requestBytes);
    this.type = method.descriptor.type();
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.lastActivityNanos = startNanos;
    this.requests = type.clientStreams()
        ? new InboundStream<>(method.descriptor.requestParser(), streamWindow, this::badRequest, null) : null;
    // Stalls are timed only for a listener: a server without one reads no clock for them.
    this.responses = type.serverStreams() ? new OutboundStream<>(this, false,
        connection.runtime().listener == ServerListeners.NONE ? null : connection.runtime().ticker) : null;
    if (requests != null) {
      requests.attach(this);
    }
    if (responses != null) {
      responses.attach(this, clientWindow, clientMaxFrameSize);
    }
    onCancel(this::cancelled);
  }

  /** The client's requests, for the handler. */
  InboundStream<ReqT> requests() {
    return requests;
  }

  /** The client's requests as a publisher, for an asynchronous handler. */
  InboundPublisher<ReqT> requestPublisher() {
    return new InboundPublisher<>(requests, null);
  }

  /** The responses, for the handler. */
  OutboundStream<RespT> responses() {
    return responses;
  }

  // ---- frames, event loop ----

  /**
   * A STREAM_MESSAGE or WINDOW_UPDATE for this call arrived (the caller releases it).
   *
   * @throws ProtocolException if the frame breaks a streaming rule; the connection closes
   */
  void frameReceived(Frame frame) {
    if (frame.type() == FrameType.STREAM_MESSAGE) {
      if (requests == null) {
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "STREAM_MESSAGE from the client for call " + id
            + ", whose method " + method.descriptor + " is " + type + " (its request is not a stream)");
      }
      lastActivityNanos = connection.runtime().ticker.nanoTime();
      requests.received(frame);
    } else {
      if (responses == null) {
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE from the client for call " + id
            + ", whose method " + method.descriptor + " is " + type + " (its response is not a stream)");
      }
      responses.grant(frame.windowIncrement(), id);
    }
  }

  private void badRequest(InvalidProtocolBufferException e) {
    fail(new FerryException(StatusCode.INVALID_ARGUMENT,
        "could not parse a request message for " + method.descriptor + ": " + e.getMessage()));
  }

  // ---- the idle timeout, event loop ----

  /** Starts the deadline, and the idle timeout if the client asked for one. Event loop. */
  @Override
  void armDeadline() {
    super.armDeadline();
    if (idleTimeoutNanos > 0) {
      idleTimer = connection.channel().eventLoop().schedule(this::checkIdle, idleTimeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void checkIdle() {
    idleTimer = null;
    if (isDone()) {
      return;
    }
    long idle = connection.runtime().ticker.nanoTime() - lastActivityNanos;
    if (idle >= idleTimeoutNanos) {
      expireWith("stream of " + method.descriptor + " idle for " + TimeUnit.NANOSECONDS.toMillis(idle)
          + " ms, over its idle timeout of " + TimeUnit.NANOSECONDS.toMillis(idleTimeoutNanos) + " ms");
    } else {
      idleTimer = connection.channel().eventLoop().schedule(this::checkIdle, idleTimeoutNanos - idle,
          TimeUnit.NANOSECONDS);
    }
  }

  @Override
  void disarmDeadline() {
    super.disarmDeadline();
    ScheduledFuture<?> t = idleTimer;
    if (t != null) {
      idleTimer = null;
      t.cancel(false);
    }
  }

  // ---- the outcome ----

  @Override
  ReqT readRequest(Frame frame) throws InvalidProtocolBufferException {
    return type.clientStreams() ? null : super.readRequest(frame); // client streams: the REQUEST has no body
  }

  @Override
  boolean endsWithoutResponse() {
    return type.serverStreams();
  }

  @Override
  void succeed(RespT response) {
    super.succeed(type.serverStreams() ? null : response);
    endStreams(new FerryException(StatusCode.CANCELLED, "the call of " + method.descriptor + " has ended"));
  }

  @Override
  void fail(Throwable error) {
    super.fail(error);
    endStreams(error instanceof FerryException ? (FerryException) error
        : new FerryException(StatusCode.INTERNAL, "the call of " + method.descriptor + " failed", error));
  }

  /** Cancelled (CANCEL, deadline, idle timeout, connection loss): from the cancellation listener pool. */
  private void cancelled() {
    endStreams(new FerryException(StatusCode.CANCELLED, "the call of " + method.descriptor
        + " was cancelled (by the client, its deadline or idle timeout, or the loss of its connection)"));
  }

  private void endStreams(FerryException why) {
    if (requests != null) {
      requests.abort(why);
    }
    if (responses != null) {
      responses.end(why);
    }
  }

  // ---- OutboundStream.Owner ----

  @Override
  public void abandoned(FerryException why) {
    fail(why);
  }

  @Override
  public void tooLarge(FerryException error) {
    fail(error);
  }

  @Override
  public void sent() {
    if (idleTimeoutNanos > 0) {
      lastActivityNanos = connection.runtime().ticker.nanoTime();
    }
  }

  @Override
  public void stalled() {
    connection.runtime().listener.streamStalled(method.descriptor);
  }

  @Override
  public void stallEnded(long stalledNanos) {
    connection.runtime().listener.streamStallEnded(method.descriptor, stalledNanos);
  }

  // ---- StreamLink ----

  @Override
  public void enqueue(Runnable command) {
    connection.enqueue(command);
  }

  @Override
  public void enqueueMessage(Runnable frame, int bytes) {
    connection.enqueueStreamMessage(frame, bytes);
  }

  @Override
  public boolean isOpen() {
    return connection.isInFlight(this);
  }

  @Override
  public void write(Object frame) {
    connection.channel().write(frame, connection.channel().voidPromise());
  }

  @Override
  public void encodeFailed(Throwable cause) {
    fail(new FerryException(StatusCode.INTERNAL, "could not encode a response message of " + method.descriptor,
        cause));
  }

  @Override
  public int requestId() {
    return id;
  }

  @Override
  public boolean transportWritable() {
    return connection.channel().isWritable();
  }

  /** The connection drained below its low-water mark: response writers that waited for it go on. Event loop. */
  void transportResumed() {
    if (responses != null) {
      responses.transportWritable();
    }
  }

  @Override
  public void queued(int bytes) {
    connection.memory().holdStream(bytes);
  }

  @Override
  public void dequeued(int bytes) {
    connection.memory().releaseStream(bytes);
  }
}
