package dev.ferry.internal;

import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamWriter;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;

/**
 * The sending half of one streaming call, on either side: the credit the peer granted, the
 * {@link StreamWriter} the application writes with, and the frames queued for the connection.
 *
 * <p>A message may go while the credit is above 0; it costs its frame's length and may take the
 * credit below 0 (PROTOCOL.md 7.12.4). {@link #write} waits for credit, {@link #trySend} does not. Both
 * also wait while the connection's write buffer is above its high-water mark ({@link
 * StreamLink#transportWritable}), so a stream never buffers more than that beyond what is in flight. The
 * credit is taken and the frame queued under one lock, so that the order of the queue is the order of
 * the writes, and END_STREAM always follows the last message.
 *
 * <p>Until the call is on the wire ({@link #attach}: a client's REQUEST written, a server's call
 * admitted) there is no credit and nowhere to send to: writers wait.
 *
 * <p><b>Stalls.</b> While the call is on the wire and a writer waits for credit (a blocked
 * {@link #write}, or an {@link #onWritable} listener waiting, as a Flow publisher's does), the stream is
 * <i>stalled</i>; the stall ends when credit comes back, the writer completes or closes, or the call
 * ends. Built with a stall clock, the stream tells its owner when each stall starts and how long it
 * lasted; built without one (nobody listens), it reads no clock and tells nothing.
 *
 * <p>Threads: any. State is guarded by {@code this}; {@link #grant} and {@link #attach} come from the
 * connection's event loop, writes from the application's threads. Listeners run outside the lock; the
 * owner's stall events run under it, so that each stall's start is told before its end.
 *
 * @param <T> the message type
 */
public final class OutboundStream<T extends MessageLite> implements StreamWriter<T> {
  /** What the call does about events of its sending half. */
  public interface Owner {
    /** The application closed the writer without {@code complete()}: the call should end (CANCEL, or CANCELLED). */
    void abandoned(FerryException why);

    /** A message was too large for the peer: the call should end with {@code error}. */
    void tooLarge(FerryException error);

    /** A message was queued (for idle timeouts). */
    void sent();

    /**
     * A writer started waiting for credit (see the class comment). Followed by exactly one
     * {@link #stallEnded}. Only with a stall clock; under the stream's lock: must not call the stream.
     */
    default void stalled() {}

    /** The stall told by {@link #stalled()} ended after {@code stalledNanos}. Under the stream's lock. */
    default void stallEnded(long stalledNanos) {}
  }

  private final Owner owner;
  private final boolean halfCloses; // a client: complete() sends END_STREAM
  private final Ticker stallClock; // null: stalls are not tracked
  // guarded by this
  private StreamLink link;
  private long credit;
  private int maxFrameSize = Integer.MAX_VALUE;
  private boolean completed;
  private boolean closed;
  private FerryException ended;
  private List<Runnable> listeners;
  private boolean stalled;
  private long stalledSince;

  /**
   * A stream that tracks no stalls.
   *
   * @param halfCloses whether {@link #complete()} sends END_STREAM (a client) or only stops the writes
   *     (a server, whose handler's return ends the call)
   */
  public OutboundStream(Owner owner, boolean halfCloses) {
    this(owner, halfCloses, null);
  }

  /**
   * @param halfCloses as above
   * @param stallClock the clock stalls are timed on, or null to track none (no listener would hear them)
   */
  public OutboundStream(Owner owner, boolean halfCloses, Ticker stallClock) {
    this.owner = owner;
    this.halfCloses = halfCloses;
    this.stallClock = stallClock;
  }

  // ---- the connection ----

  /**
   * The call is on the wire: frames go to {@code link}, with {@code initialCredit} (the peer's stream
   * window) and messages of at most {@code maxFrameSize} bytes (the peer's MAX_FRAME_SIZE) framed. Any
   * thread; once.
   */
  public void attach(StreamLink link, long initialCredit, int maxFrameSize) {
    List<Runnable> wake;
    synchronized (this) {
      if (this.link != null) {
        return;
      }
      this.link = link;
      this.credit = initialCredit;
      this.maxFrameSize = maxFrameSize;
      if (completed && halfCloses && ended == null) {
        queueEndOfStream();
      }
      wake = wakeWriters();
    }
    run(wake);
  }

  /**
   * A WINDOW_UPDATE for this stream arrived. Event loop.
   *
   * @throws ProtocolException FLOW_CONTROL_ERROR if the credit would exceed 2^31-1
   */
  public void grant(long increment, int requestId) {
    List<Runnable> wake;
    synchronized (this) {
      credit = FlowControl.afterGrant(credit, increment, requestId);
      wake = wakeWriters();
    }
    run(wake);
  }

  /** The call has ended: writes from now on throw {@code why}, and waiting writers wake with it. Any thread. */
  public void end(FerryException why) {
    List<Runnable> wake;
    synchronized (this) {
      if (ended != null) {
        return;
      }
      ended = why;
      wake = wakeWriters();
    }
    run(wake);
  }

  /** Whether the call has ended, or the writer was completed or closed: nothing more can be written. */
  public synchronized boolean isFinished() {
    return ended != null || completed || closed;
  }

  /** The credit now (may be negative). For tests. */
  public synchronized long credit() {
    return credit;
  }

  // ---- StreamWriter ----

  @Override
  public void write(T message) {
    send(message, true, false);
  }

  @Override
  public boolean trySend(T message) {
    return send(message, false, false);
  }

  /**
   * Sends a message that was asked for while there was room ({@link OutboundSubscriber}): if credit is
   * left, whether or not the connection's write buffer has filled since. Credit is only spent by this
   * stream's one writer, so it is still there; the buffer is shared with other streams, so it may not be,
   * and refusing the message then would break the publisher's contract for no fault of its own (the
   * overshoot is at most the one message asked for). False if there is no credit.
   */
  boolean sendRequested(T message) {
    return send(message, false, true);
  }

  private boolean send(T message, boolean wait, boolean whateverTheTransport) {
    int cost = FlowControl.cost(message.getSerializedSize()); // outside the lock: it may serialise sizes
    boolean interrupted = false;
    FerryException tooLarge = null;
    synchronized (this) {
      checkWritable();
      while (!(whateverTheTransport ? link != null && credit > 0 : canSend()) && ended == null) {
        if (!wait) {
          return false;
        }
        stallStarts();
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true;
          break;
        }
      }
      if (!interrupted) {
        checkWritable();
        if (cost > maxFrameSize) {
          tooLarge = new FerryException(StatusCode.RESOURCE_EXHAUSTED, "stream message of " + cost
              + " bytes (frame header included) exceeds the peer's MAX_FRAME_SIZE of " + maxFrameSize + " bytes");
        } else {
          credit -= cost;
          link.enqueueMessage(new StreamFrame(link, link.requestId(), 0, message), cost);
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
      FerryException cancelled = new FerryException(StatusCode.CANCELLED,
          "interrupted while waiting for stream credit; the stream is cancelled");
      owner.abandoned(cancelled);
      throw cancelled;
    }
    if (tooLarge != null) {
      owner.tooLarge(tooLarge);
      throw tooLarge;
    }
    owner.sent();
    return true;
  }

  private void checkWritable() {
    if (ended != null) {
      throw forCaller(ended);
    }
    if (completed || closed) {
      throw new IllegalStateException("the stream writer was " + (closed ? "closed" : "completed")
          + " (expected: no write after complete() or close())");
    }
  }

  @Override
  public synchronized boolean isWritable() {
    return canSend() && ended == null && !completed && !closed;
  }

  /**
   * Whether a message may go now: the call is on the wire, it has credit, and its connection takes
   * frames (so that the peer's window is not buffered here when the peer does not read). Under the lock.
   */
  private boolean canSend() {
    return link != null && credit > 0 && link.transportWritable();
  }

  /**
   * The stream's connection takes frames again (its write buffer drained below the low-water mark):
   * writers that waited for it go on. Event loop.
   */
  public void transportWritable() {
    List<Runnable> wake;
    synchronized (this) {
      wake = wakeWriters();
    }
    run(wake);
  }

  @Override
  public void onWritable(Runnable listener) {
    synchronized (this) {
      if (ended == null && !completed && !closed && !canSend()) {
        if (listeners == null) {
          listeners = new ArrayList<>(2);
        }
        listeners.add(listener);
        stallStarts();
        return;
      }
    }
    listener.run();
  }

  @Override
  public void complete() {
    synchronized (this) {
      if (completed || closed || ended != null) {
        return;
      }
      completed = true;
      stallEnds();
      if (halfCloses && link != null) {
        queueEndOfStream();
      }
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      stallEnds();
      if (completed || ended != null) {
        return;
      }
    }
    owner.abandoned(new FerryException(StatusCode.CANCELLED,
        "the stream writer was closed without complete(); the stream is cancelled"));
  }

  /** Whether stalls are timed and told (the stream has a stall clock). For tests. */
  public boolean tracksStalls() {
    return stallClock != null;
  }

  /** Whether {@link #complete()} was called. */
  public synchronized boolean isCompleted() {
    return completed;
  }

  private void queueEndOfStream() {
    StreamLink l = link;
    l.enqueue(() -> {
      if (l.isOpen()) {
        l.write(Frame.endOfStream(l.requestId()));
      }
    });
  }

  /** Wakes blocked writers; returns the listeners to run (outside the lock) if writing is possible or over. */
  private List<Runnable> wakeWriters() {
    if (ended == null && !canSend()) {
      return null;
    }
    stallEnds();
    notifyAll();
    List<Runnable> wake = listeners;
    listeners = null;
    return wake;
  }

  /** A writer waits: a stall starts, unless the call is not on the wire yet (that is no flow control). */
  private void stallStarts() {
    if (stallClock != null && !stalled && link != null && credit <= 0) {
      stalled = true;
      stalledSince = stallClock.nanoTime();
      owner.stalled();
    }
  }

  private void stallEnds() {
    if (stalled) {
      stalled = false;
      owner.stallEnded(stallClock.nanoTime() - stalledSince);
    }
  }

  private static void run(List<Runnable> listeners) {
    if (listeners != null) {
      for (Runnable r : listeners) {
        r.run();
      }
    }
  }

  private static FerryException forCaller(FerryException failure) {
    if (failure.getClass() != FerryException.class) {
      return failure;
    }
    return new FerryException(failure.code(), failure.description(), failure.trailers(), failure);
  }
}
