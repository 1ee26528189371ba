package dev.ferry.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import io.netty.buffer.Unpooled;
import java.util.ArrayDeque;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * The receiving half of one streaming call, on either side: the peer's STREAM_MESSAGEs, checked
 * against the credit the peer has, parsed, and queued until the application takes them; the credit
 * they cost is granted back (WINDOW_UPDATE) as the application takes them, not as they arrive. It is
 * the {@link StreamReader} the application reads, and the source of an {@link InboundPublisher}.
 *
 * <p>Memory: the peer may send only while it has credit, so the queue holds at most the window plus
 * one message. Messages are parsed on arrival (on the event loop) and the frame is released at once:
 * the queue holds message objects, no buffers, so a reader that is abandoned leaks nothing. What the
 * queue holds is reported to the {@link StreamLink} ({@link StreamLink#queued}, {@link
 * StreamLink#dequeued}), each message by its frame's length, so that a server can count it in its
 * memory budget.
 *
 * <p>End: the stream ends normally ({@link #end}: the peer's END_STREAM, or a client's call answered
 * OK), fails after the messages already queued ({@link #fail}: an error status, a deadline, a lost
 * connection), or is aborted, dropping what is queued ({@link #abort}: the local side cancelled). The
 * first of these decides; each wakes a blocked reader.
 *
 * <p>Threads: {@link #received} and the credit the peer has belong to the connection's event loop; the
 * queue and everything the reader sees are guarded by {@code this}, so any thread may read.
 *
 * @param <T> the message type
 */
public final class InboundStream<T> implements StreamReader<T> {
  private final Parser<T> parser;
  private final int window;
  private final Consumer<InvalidProtocolBufferException> badMessage;
  private final Runnable onClose; // null: close() before the end drains instead of cancelling
  private volatile StreamLink link; // set before the first message can arrive
  // event loop only
  private long credit;
  private boolean endStreamReceived;
  // guarded by this
  private final ArrayDeque<Object> queue = new ArrayDeque<>(); // messages, each followed by its Integer cost
  private boolean peerEnded; // END_STREAM or the call's answer: no more messages come
  private boolean ended; // the reader sees the end once the queue is empty
  private FerryException failure; // the reader sees it once the queue is empty
  private boolean closed; // the reader gave up: what arrives is dropped (its credit given back)
  private long ungranted;
  private Runnable listener; // an InboundPublisher, told when something can be taken

  /**
   * @param window the stream window this side announced: the peer's credit when the call starts
   * @param badMessage told (on the event loop) of a message that does not parse; the call should end
   * @param onClose what {@link #close()} before the end does besides dropping the rest (a client
   *     cancels its call); null on a server, whose reader then keeps granting credit for what arrives
   */
  public InboundStream(Parser<T> parser, int window, Consumer<InvalidProtocolBufferException> badMessage,
      Runnable onClose) {
    this.parser = parser;
    this.window = window;
    this.credit = window;
    this.badMessage = badMessage;
    this.onClose = onClose;
  }

  /** The stream's connection and id, known once the call is on the wire. Any thread; before any message. */
  public void attach(StreamLink link) {
    this.link = link;
  }

  // ---- event loop ----

  /**
   * A STREAM_MESSAGE for this stream arrived (the caller releases the frame): checks it against the
   * credit and END_STREAM, parses it and queues it.
   *
   * @throws ProtocolException a message after END_STREAM (PROTOCOL_ERROR), or over the peer's credit
   *     (FLOW_CONTROL_ERROR): the connection must be closed
   */
  public void received(Frame frame) {
    if (endStreamReceived) {
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
          "STREAM_MESSAGE on stream " + frame.requestId() + " after its END_STREAM");
    }
    endStreamReceived = frame.endsStream();
    int cost = FlowControl.cost(frame);
    credit = FlowControl.afterReceiving(credit, cost, frame.requestId());
    T message = null;
    if (frame.hasMessage()) {
      try {
        message = Protobufs.parse(parser, frame.body());
      } catch (InvalidProtocolBufferException e) {
        badMessage.accept(e);
        return;
      }
    }
    Runnable notify;
    long grant = 0;
    synchronized (this) {
      if (message != null) {
        if (closed) {
          grant = giveBack(cost); // a server's reader gave up: the credit goes straight back
        } else if (!ended && failure == null) {
          link.queued(cost);
          queue.add(message);
          queue.add(cost);
        } // else the call is over on this side: the message crossed its end, and is dropped
      }
      if (endStreamReceived) {
        peerEnded = true;
        ended |= failure == null;
      }
      notify = wakeReaders();
    }
    sendGrant(grant);
    run(notify);
  }

  // ---- the end, any thread ----

  /** No more messages: the reader sees the end once it has taken what is queued. */
  public void end() {
    Runnable notify;
    synchronized (this) {
      if (ended || failure != null) {
        return;
      }
      ended = true;
      peerEnded = true;
      notify = wakeReaders();
    }
    run(notify);
  }

  /** The stream failed: the reader sees {@code error} once it has taken what is queued. */
  public void fail(FerryException error) {
    Runnable notify;
    synchronized (this) {
      if (ended || failure != null) {
        return;
      }
      failure = error;
      peerEnded = true;
      notify = wakeReaders();
    }
    run(notify);
  }

  /** This side gave up: what is queued is dropped, and the reader sees {@code error} at once. */
  public void abort(FerryException error) {
    Runnable notify;
    int dropped;
    synchronized (this) {
      dropped = drain();
      if (ended || failure != null) {
        notify = wakeReaders();
      } else {
        failure = error;
        peerEnded = true;
        notify = wakeReaders();
      }
    }
    dequeued(dropped);
    run(notify);
  }

  /** Empties the queue; returns the cost of the messages it held. Under the lock. */
  private int drain() {
    int cost = 0;
    for (Object o; (o = queue.poll()) != null; ) {
      if (o instanceof Integer) {
        cost += (Integer) o;
      }
    }
    return cost;
  }

  private void dequeued(int cost) {
    StreamLink l = link;
    if (cost > 0 && l != null) {
      l.dequeued(cost);
    }
  }

  private Runnable wakeReaders() {
    notifyAll();
    return listener;
  }

  private static void run(Runnable r) {
    if (r != null) {
      r.run();
    }
  }

  // ---- the reader, any thread ----

  @Override
  public boolean hasNext() {
    boolean interrupted = false;
    synchronized (this) {
      while (queue.isEmpty() && !ended && failure == null) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true;
          break;
        }
      }
      if (!interrupted) {
        if (!queue.isEmpty()) {
          return true;
        }
        if (failure != null) {
          throw forCaller(failure);
        }
        return false;
      }
    }
    Thread.currentThread().interrupt();
    FerryException cancelled = new FerryException(StatusCode.CANCELLED,
        "interrupted while waiting for a stream message; the stream is cancelled");
    giveUp(cancelled);
    throw cancelled;
  }

  @Override
  public T next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the stream has ended");
    }
    T message = take();
    if (message == null) {
      throw new NoSuchElementException("the stream was closed");
    }
    return message;
  }

  /**
   * The next queued message without waiting, or null if none is queued now ({@link #isDone} tells
   * whether one may still come).
   */
  public T poll() {
    return take();
  }

  /** Whether the queue is empty and the stream has ended or failed: nothing more will come. */
  public synchronized boolean isDone() {
    return queue.isEmpty() && (ended || failure != null);
  }

  /** Why the stream failed, or null while it has not (or ended normally). */
  public synchronized FerryException failure() {
    return failure;
  }

  /** Tells {@code listener} (outside any lock) whenever a message or the end can be taken. For publishers. */
  public void listener(Runnable listener) {
    synchronized (this) {
      this.listener = listener;
    }
  }

  @SuppressWarnings("unchecked")
  private T take() {
    T message;
    long grant = 0;
    int cost;
    synchronized (this) {
      message = (T) queue.poll();
      if (message == null) {
        return null;
      }
      cost = (Integer) queue.poll();
      grant = giveBack(cost);
    }
    dequeued(cost);
    sendGrant(grant);
    return message;
  }

  /** Counts {@code cost} as consumed; returns what to grant now (0 for nothing). Under the lock. */
  private long giveBack(int cost) {
    if (peerEnded) {
      return 0; // the peer sends nothing more: it needs no credit
    }
    ungranted += cost;
    if (!FlowControl.shouldGrant(ungranted, window)) {
      return 0;
    }
    long n = ungranted;
    ungranted = 0;
    return n;
  }

  private void sendGrant(long bytes) {
    StreamLink l = link;
    if (bytes <= 0 || l == null) {
      return;
    }
    int increment = (int) Math.min(bytes, FlowControl.MAX_CREDIT);
    l.enqueue(() -> {
      if (l.isOpen()) {
        // The peer may spend the grant once it reads it: it counts as its credit from now on.
        credit += increment;
        l.write(new Frame(FrameType.WINDOW_UPDATE, 0, l.requestId(), 0, Unpooled.buffer(4, 4).writeInt(increment)));
      }
    });
  }

  @Override
  public void close() {
    long grant = 0;
    int dropped;
    boolean over;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      over = ended || failure != null; // read to the end, or failed: nothing to give up
      dropped = drain();
      if (!over && onClose == null) {
        // A server's reader: the handler wants no more, but the client must not be stuck, so what is
        // queued and whatever still arrives is given back at once.
        grant = peerEnded ? 0 : dropped + ungranted;
        ungranted = 0;
        failure = new FerryException(StatusCode.CANCELLED, "the stream reader was closed");
        notifyAll();
      }
    }
    dequeued(dropped);
    if (over) {
      return;
    }
    if (onClose != null) {
      giveUp(new FerryException(StatusCode.CANCELLED, "the stream reader was closed before the end; call cancelled"));
    } else {
      sendGrant(grant);
    }
  }

  private void giveUp(FerryException why) {
    abort(why);
    if (onClose != null) {
      onClose.run();
    }
  }

  /** The failure with the reader's stack trace on top (the original, made on another thread, as its cause). */
  private static FerryException forCaller(FerryException failure) {
    if (failure.getClass() != FerryException.class) {
      return failure;
    }
    return new FerryException(failure.code(), failure.description(), failure.trailers(), failure);
  }
}
