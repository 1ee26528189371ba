package dev.ferry.server;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;

/**
 * Hears what a server does, for metrics and health checks: calls starting and ending, connections
 * opening and closing, GOAWAYs, dead peers, stalled response streams, the start of a shutdown. Installed with
 * {@code FerryServer.builder().addListener(listener)}; every method does nothing by default, so an
 * implementation overrides only what it needs. A server without listeners pays nothing for them.
 *
 * <p>Unlike a {@link ServerInterceptor}, a listener allocates nothing per call and sees every call,
 * including those refused before a handler could run (an unknown method, too many calls in flight, a
 * server shutting down); it cannot change a call.
 *
 * <p><b>Threads.</b> Methods run on Ferry's threads, mostly the connection's event loop, while that
 * thread serves other calls: keep them short, never block in them. An exception thrown by a listener is
 * logged and otherwise ignored. Listeners of one server are told in the order they were added.
 */
public interface ServerListener {
  /**
   * A call was admitted: its handler is about to be scheduled. Followed by exactly one
   * {@link #callCompleted} for the same call. Event loop.
   *
   * @param method the registered method
   */
  default void callStarted(MethodDescriptor<?, ?> method) {}

  /**
   * An admitted call ended: its response was written (any status, {@code DEADLINE_EXCEEDED} included),
   * or it was cancelled ({@link StatusCode#CANCELLED}: the client cancelled it or its connection was
   * lost, and nothing was sent). Event loop.
   *
   * @param method the registered method
   * @param status the status sent, or {@code CANCELLED}
   * @param startNanos when the request was received, on the {@link System#nanoTime()} clock
   * @param requestBytes the size of the request message (its body in the frame)
   * @param responseBytes the size of the response message; 0 unless the status is OK
   */
  default void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
      long requestBytes, long responseBytes) {}

  /**
   * A call was answered with {@code status} without running a handler and without a
   * {@link #callStarted}: the method is unknown ({@code UNIMPLEMENTED}), the connection has too many
   * calls in flight ({@code RESOURCE_EXHAUSTED}), the server is shutting down ({@code UNAVAILABLE}), or
   * the request metadata is invalid ({@code INVALID_ARGUMENT}). Event loop.
   *
   * @param method the registered method, or null when the server has no such method (the name the
   *     client sent is not passed on: anyone can send any name)
   */
  default void callRefused(MethodDescriptor<?, ?> method, StatusCode status) {}

  /**
   * A call's response stream stalled: its handler has a message to send (a blocking {@code write}
   * waits, or its {@code Flow.Publisher} is paused) and the client has granted no credit for it, because
   * it reads more slowly than the handler writes (flow control, PROTOCOL.md 7.12.4). Followed by exactly
   * one {@link #streamStallEnded} for the same stall; a stream stalls at most once at a time. Only for
   * methods that stream responses, and only while the call is in flight. On the writing thread (the
   * handler's; for a publisher, the thread that would ask it for more), under the stream's lock: keep
   * it short.
   *
   * @param method the registered method
   */
  default void streamStalled(MethodDescriptor<?, ?> method) {}

  /**
   * The stall reported by {@link #streamStalled} ended: the client granted credit, the handler
   * completed or closed its writer, or the call ended. On the connection's event loop (or the thread
   * that completed the writer or ended the call), under the stream's lock.
   *
   * @param stalledNanos how long the stall lasted, in nanoseconds
   */
  default void streamStallEnded(MethodDescriptor<?, ?> method, long stalledNanos) {}

  /** A connection was accepted (and not refused by the connection limit). Its event loop. */
  default void connectionOpened() {}

  /** A connection reported by {@link #connectionOpened()} closed. Its event loop. */
  default void connectionClosed() {}

  /**
   * The server sent GOAWAY on a connection (shutdown, maximum age or idle time, too many pings).
   * Event loop.
   */
  default void goAwaySent() {}

  /** A client sent GOAWAY: it is going away. Event loop. */
  default void goAwayReceived() {}

  /**
   * A connection was closed because the client sent nothing for the heartbeat timeout (or did not read
   * what it was sent): it is considered dead. Event loop.
   */
  default void heartbeatTimedOut() {}

  /**
   * A shutdown ({@link FerryServer#shutdown} or {@link FerryServer#shutdownNow}) started. Called once,
   * on the thread that called it, before any connection is sent GOAWAY or closed and before calls start
   * being refused: a health service turns NOT_SERVING here, so that no health check is answered
   * SERVING once the server is on its way down.
   */
  default void shutdownStarted() {}
}
