package dev.ferry.client;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;

/**
 * Hears what a channel does, for metrics: calls starting and ending, transparent retries, stalled
 * request streams, the channel's state, reconnects, GOAWAYs, dead connections and ejected endpoints.
 * Installed with {@code FerryChannel.builder(host, port).addListener(listener)}; every method does
 * nothing by default, so an implementation overrides only what it needs. A channel without listeners
 * pays nothing for them.
 *
 * <p>Unlike a {@link ClientInterceptor}, a listener allocates nothing per call and cannot change a
 * call. It hears each call the channel itself makes (with interceptors: each call an interceptor passes
 * on with {@code next.proceed}).
 *
 * <p><b>One listener, one channel.</b> The per-call methods do not say which channel they are about:
 * give each channel its own listener instance when that matters (metrics tagged by server address do).
 *
 * <p><b>Threads.</b> Methods run on Ferry's threads, mostly a connection's event loop, while that
 * thread serves other calls: keep them short, never block in them. An exception thrown by a listener is
 * logged and otherwise ignored. Listeners of one channel are told in the order they were added.
 */
public interface ChannelListener {
  /**
   * The channel was built: {@code channel} reads its live state (for gauges) until it terminates.
   * Called once, first, on the thread that built the channel.
   */
  default void channelCreated(ChannelStats channel) {}

  /**
   * The channel terminated after a shutdown: every call completed and every connection closed. Called
   * once, last, on the thread that saw the last connection close (or that shut the channel down).
   */
  default void channelTerminated(ChannelStats channel) {}

  /**
   * The channel's connectivity state changed (the transitions {@link FerryChannel#state()} shows). On
   * the thread that caused it (any), while the channel holds its balancer's lock: do not call the
   * channel from here.
   */
  default void stateChanged(ChannelState from, ChannelState to) {}

  /** A call started: it is followed by exactly one {@link #callCompleted}. The starting thread. */
  default void callStarted(MethodDescriptor<?, ?> method) {}

  /**
   * A call completed, however it did (see {@link FerryChannel}): response, error status, deadline,
   * cancellation or connection loss. Called before the call's future completes, on the thread that
   * completes it (usually the connection's event loop).
   *
   * @param status {@code OK}, the server's status, or the status the client failed the call with
   *     ({@code CANCELLED} for a cancelled future)
   * @param startNanos when the call started, on the {@link System#nanoTime()} clock
   * @param requestBytes the size of the request message
   * @param responseBytes the size of the response message; 0 unless the status is OK
   */
  default void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
      long requestBytes, long responseBytes) {}

  /**
   * A call is sent again on another connection, transparently: its request provably never reached the
   * server, or the server said it did not process it (GOAWAY, refused connection). Event loop.
   */
  default void callRetried(MethodDescriptor<?, ?> method) {}

  /**
   * A call's request stream stalled: the application has a message to send (a blocking {@code write}
   * waits, an {@code onWritable} listener waits, or its {@code Flow.Publisher} is paused) and the server
   * has granted no credit for it, because it reads more slowly than the application writes (flow
   * control, PROTOCOL.md 7.12.4). Followed by exactly one {@link #streamStallEnded} for the same stall;
   * a stream stalls at most once at a time. Only for methods that stream requests, once the call is on
   * the wire. On the writing thread, under the stream's lock: keep it short.
   */
  default void streamStalled(MethodDescriptor<?, ?> method) {}

  /**
   * The stall reported by {@link #streamStalled} ended: the server granted credit, the application
   * completed or closed its writer, or the call ended. On the connection's event loop (or the thread
   * that completed the writer or ended the call), under the stream's lock.
   *
   * @param stalledNanos how long the stall lasted, in nanoseconds
   */
  default void streamStallEnded(MethodDescriptor<?, ?> method, long stalledNanos) {}

  /**
   * The channel opens a connection again in a place where it had one or tried one before: after that
   * connection closed, went away (GOAWAY) or failed to connect. (The first connection of each place in
   * the pool is not a reconnect.) Any thread, while the channel holds its balancer's lock.
   */
  default void reconnecting() {}

  /** The server sent GOAWAY on one of the channel's connections. Event loop. */
  default void goAwayReceived() {}

  /**
   * A connection was closed because the server sent nothing for the heartbeat timeout (or did not read
   * what it was sent): it is considered dead. Event loop.
   */
  default void heartbeatTimedOut() {}

  /**
   * The balancer ejected {@code endpoint}: it gets no calls for {@code duration}, then one probe (see
   * {@link BalancerOptions}). Only channels built from a target ({@link FerryChannel#builder(String)})
   * eject. On the thread whose call outcome decided it (or a timer's), while the channel holds its
   * balancer's lock: do not call the channel from here.
   */
  default void endpointEjected(Endpoint endpoint, java.time.Duration duration) {}
}
