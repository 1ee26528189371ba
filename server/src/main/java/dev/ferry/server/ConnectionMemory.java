package dev.ferry.server;

import dev.ferry.internal.InboundBudget;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One connection's share of the server's {@link MemoryBudget}.
 *
 * <ul>
 *   <li><b>Inbound</b> (the frame decoder's {@link InboundBudget}): frames being received and requests
 *       waiting for their handler. A connection holds at most {@code maxFrameSize} of them: beyond it
 *       the decoder waits (reading paused) until its own requests are taken by handlers, so one client
 *       cannot take the server's budget. Up to {@link #SMALL_FRAMES_ALLOWANCE} it never waits for the
 *       server either; beyond that the frame waits until the server has room.
 *   <li><b>Stream messages</b>: messages of client streams received and not yet taken by their
 *       handlers ({@link #holdStream}). Each stream holds at most its window (plus one message), and a
 *       stalled stream never pauses the connection's reads by itself; but they count in the server's
 *       budget, and a connection holding more than {@link #SMALL_FRAMES_ALLOWANCE} of frames and stream
 *       messages together reads its next frame only when the server has room for it. So however many
 *       streams clients open, what their handlers have not read stays within the budget (plus each
 *       connection's allowance).
 *   <li><b>Outbound</b>: a response that keeps the connection's unsent bytes within its write buffer
 *       high-water mark is always encoded; a larger one only if the server has room, else it is
 *       refused. (While more than the high-water mark waits, responses are not encoded at all: see
 *       {@link ServerConnectionHandler}.)
 * </ul>
 *
 * <p>Thread-safe: reservations come from the connection's event loop, releases also from handler
 * threads (a request's memory is given back once it is parsed) and write completions.
 */
final class ConnectionMemory implements InboundBudget {
  /** What a connection may always hold of inbound frames, whatever the rest of the server holds. */
  static final int SMALL_FRAMES_ALLOWANCE = 64 * 1024;

  private final MemoryBudget server;
  private final long inboundLimit;
  private final Object peer;
  private final AtomicLong inbound = new AtomicLong();
  private final AtomicLong streams = new AtomicLong(); // stream messages waiting for their handlers
  private volatile Runnable waitingForOwnRoom; // the decoder, while this connection holds too much
  // The decoder, while the server has no room; whoever takes it out (the decoder, a stream's release,
  // close) cancels it.
  private final AtomicReference<MemoryBudget.Waiter> serverWaiter = new AtomicReference<>();

  /**
   * @param inboundLimit the most this connection may hold of frames received and requests not yet
   *     parsed (the server's maxFrameSize: any one frame fits once the rest is gone)
   * @param peer names the connection in log lines
   */
  ConnectionMemory(MemoryBudget server, long inboundLimit, Object peer) {
    this.server = server;
    this.inboundLimit = inboundLimit;
    this.peer = peer;
  }

  @Override
  public boolean tryReserve(int bytes, Runnable onRoom) {
    if (serverWaiter.get() != null) {
      cancelServerWaiter(); // woken early (a stream's messages were read): it asks afresh below
    }
    long held = inbound.get();
    if (held > 0 && held + bytes > inboundLimit) {
      waitingForOwnRoom = onRoom;
      held = inbound.get(); // a release before the registration saw no one to wake
      if (held > 0 && held + bytes > inboundLimit) {
        return false;
      }
      waitingForOwnRoom = null;
    }
    if (held + streams.get() + bytes <= SMALL_FRAMES_ALLOWANCE) {
      server.forceReserve(bytes);
    } else {
      MemoryBudget.Waiter w = new MemoryBudget.Waiter(bytes, onRoom);
      if (!server.tryReserveOrWait(w)) {
        serverWaiter.set(w);
        // Stream messages taken before the registration saw no one to wake: look again.
        if (held + streams.get() + bytes <= SMALL_FRAMES_ALLOWANCE && serverWaiter.compareAndSet(w, null)) {
          server.cancel(w);
          server.forceReserve(bytes);
        } else {
          server.exhausted("reading from " + peer + " paused until there is room for its frame of " + bytes
              + " bytes");
          return false;
        }
      }
    }
    inbound.addAndGet(bytes);
    return true;
  }

  @Override
  public void release(int bytes) {
    inbound.addAndGet(-bytes);
    server.release(bytes);
    Runnable waiting = waitingForOwnRoom;
    if (waiting != null) {
      waitingForOwnRoom = null;
      waiting.run();
    }
  }

  /**
   * A request kept beyond the decoder (waiting for or handed to its handler) holds its frame's memory:
   * reserved here before the decoder gives its own reservation back, given back with {@link #release}.
   */
  void hold(int bytes) {
    inbound.addAndGet(bytes);
    server.forceReserve(bytes);
  }

  /**
   * A message of a client stream ({@code bytes}: its frame's length) waits for its handler: it holds the
   * memory its frame was reserved with, from before the decoder gives that back.
   */
  void holdStream(int bytes) {
    streams.addAndGet(bytes);
    server.forceReserve(bytes);
  }

  /**
   * A stream message held with {@link #holdStream} was taken or dropped. If this connection's reads wait
   * for the server's room only because its streams held more than the allowance, they may go on now.
   */
  void releaseStream(int bytes) {
    long streamsLeft = streams.addAndGet(-bytes);
    server.release(bytes);
    MemoryBudget.Waiter w = serverWaiter.get();
    // Woken only once its frame fits the allowance: a wake before that would only register it again.
    if (w != null && inbound.get() + streamsLeft + w.bytes <= SMALL_FRAMES_ALLOWANCE
        && serverWaiter.compareAndSet(w, null)) {
      server.cancel(w);
      w.onRoom.run(); // the decoder asks again, and now fits in the allowance
    }
  }

  private MemoryBudget.Waiter cancelServerWaiter() {
    MemoryBudget.Waiter w = serverWaiter.getAndSet(null);
    if (w != null) {
      server.cancel(w);
    }
    return w;
  }

  /**
   * Reserves a response of {@code bytes} about to be encoded while {@code queued} bytes wait to be sent
   * on this connection; false if it must be refused.
   */
  boolean reserveResponse(long bytes, long queued, long writeBufferHighWaterMark) {
    if (queued + bytes <= writeBufferHighWaterMark) {
      server.forceReserve(bytes);
      return true;
    }
    if (server.tryReserve(bytes)) {
      return true;
    }
    server.exhausted("a response of " + bytes + " bytes to " + peer + " refused with RESOURCE_EXHAUSTED");
    return false;
  }

  /** Reserves a short response that is sent whatever the budget (a refusal). */
  void forceResponse(long bytes) {
    server.forceReserve(bytes);
  }

  /** A response reserved here was written to the socket, or its write failed. */
  void releaseResponse(long bytes) {
    server.release(bytes);
  }

  /** The connection closed: it waits for nothing any more. */
  void close() {
    cancelServerWaiter();
    waitingForOwnRoom = null;
  }

  /** For tests: inbound bytes held (frames being received, requests not yet parsed). */
  long inboundHeld() {
    return inbound.get();
  }

  /** For tests: bytes of stream messages waiting for their handlers. */
  long streamsHeld() {
    return streams.get();
  }
}
