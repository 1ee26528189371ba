package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.util.internal.PlatformDependent;
import io.netty.util.ReferenceCountUtil;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves writes from any thread onto a channel's event loop in batches, with one flush per batch.
 *
 * <p>Writing to a Netty channel from outside its event loop costs a task per write, and flushing each
 * one costs a system call per frame; under load both cap throughput far below what the connection
 * can carry. Here, writers add to a lock-free queue and the first of a burst schedules one drain
 * task, which writes everything queued and flushes once (and every {@value #MAX_WRITES_BEFORE_FLUSH}
 * writes, so a long burst still goes out steadily).
 *
 * <p>Commands enqueued on the event loop itself are queued too, never run inline: a command run in the
 * middle of a read (a call started because a response freed a slot) would write a frame that the rest
 * of that read could strand unflushed on a connection that is failing, where nobody can tell whether
 * it will reach the peer. Queued, it runs after the read, writes and is flushed in one task.
 *
 * <p>A command that throws is logged and skipped; the queue goes on with the rest (a bug in one
 * command must not stop the connection's writes for good).
 *
 * <p>Thread-safe. Writes are drained in the order they were enqueued. The channel must be registered
 * with its event loop before the first enqueue. If that event loop has shut down, queued messages are
 * released with their promises failed, and queued commands run on the enqueuing thread (they should
 * check {@code eventLoop().inEventLoop()} if that matters to them).
 */
public final class WriteQueue {
  private static final Logger log = LoggerFactory.getLogger(WriteQueue.class);
  private static final int MAX_WRITES_BEFORE_FLUSH = 256;

  /**
   * The bit of the channel's user-defined writability that says whether queued stream messages are
   * below the channel's high-water mark (see {@link #enqueueStreamMessage}).
   */
  static final int STREAM_WRITABILITY_BIT = 3;

  private final Channel channel;
  private final Queue<Object> queue = PlatformDependent.newMpscQueue();
  private final AtomicLong streamBytes = new AtomicLong(); // stream messages queued here, not yet written
  private boolean streamsWritable = true; // guarded by this: what the writability bit was last set to
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final Runnable drainTask = this::drain;

  public WriteQueue(Channel channel) {
    this.channel = requireNonNull(channel, "channel");
  }

  /** Queues {@code msg} to be written and flushed; {@code promise} (may be the void promise) completes with the write. */
  public void enqueue(Object msg, ChannelPromise promise) {
    queue.add(promise.isVoid() ? msg : new Entry(msg, promise));
    scheduleDrain();
  }

  /**
   * Queues a command to run on the event loop in order with the writes around it, before the
   * batch's flush; it may write to the channel (without flushing) and touch event-loop-only state.
   */
  public void enqueue(Runnable command) {
    queue.add(command);
    scheduleDrain();
  }

  /**
   * Queues a stream message of {@code bytes} (its frame's length). Stream messages are written as their
   * senders' credit allows, from any number of threads, and encoded on the event loop only when this
   * queue is drained: so that a peer that grants much credit but does not read cannot make them pile
   * up here, they count towards the channel's writability (one of its user-defined bits) from the moment
   * they are queued: above the high-water mark the channel is not writable, and stream writers wait
   * ({@link StreamLink#transportWritable}); below the low-water mark it is again, and Netty's
   * writability event wakes them.
   */
  public void enqueueStreamMessage(Runnable frame, int bytes) {
    streamBytes.addAndGet(bytes);
    updateStreamWritability();
    queue.add((Runnable) () -> {
      try {
        frame.run();
      } finally {
        streamBytes.addAndGet(-bytes);
        updateStreamWritability();
      }
    });
    scheduleDrain();
  }

  /**
   * Sets the writability bit from the bytes queued now, with the channel's watermarks for hysteresis.
   * Decisions and the bit's changes are made under one lock, each from the latest count, so that two
   * threads crossing a mark in opposite directions cannot leave the bit stale.
   */
  private synchronized void updateStreamWritability() {
    long queued = streamBytes.get();
    boolean writable = streamsWritable;
    if (writable && queued > channel.config().getWriteBufferHighWaterMark()) {
      writable = false;
    } else if (!writable && queued <= channel.config().getWriteBufferLowWaterMark()) {
      writable = true;
    }
    if (writable != streamsWritable) {
      streamsWritable = writable;
      ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
      if (buffer != null) { // null once the channel is closed: nobody waits to write any more
        buffer.setUserDefinedWritability(STREAM_WRITABILITY_BIT, writable);
      }
    }
  }

  /** Queues {@code msg} to be written and flushed, without a promise. */
  public void enqueue(Object msg) {
    queue.add(msg);
    scheduleDrain();
  }

  private void scheduleDrain() {
    while (!scheduled.get() && scheduled.compareAndSet(false, true)) { // a plain read first: usually it is already scheduled
      try {
        channel.eventLoop().execute(drainTask);
        return;
      } catch (RejectedExecutionException e) {
        try {
          discardAll(e);
        } finally {
          scheduled.set(false);
        }
        // Something enqueued while we discarded would otherwise wait forever: go round again.
        if (queue.isEmpty()) {
          return;
        }
      }
    }
  }

  /** The event loop is gone: fail and release everything queued, whatever one item does. */
  private void discardAll(Throwable cause) {
    Object item;
    while ((item = queue.poll()) != null) {
      try {
        if (item instanceof Entry) {
          Entry e = (Entry) item;
          ReferenceCountUtil.release(e.msg);
          e.promise.tryFailure(cause);
        } else if (item instanceof Runnable) {
          ((Runnable) item).run();
        } else {
          ReferenceCountUtil.release(item);
        }
      } catch (Throwable t) {
        log.error("Discarding a queued write of {} failed", channel, t);
      }
    }
  }

  private void drain() {
    try {
      for (;;) {
        int written = 0;
        Object item;
        while ((item = queue.poll()) != null) {
          writeOne(item);
          if (++written == MAX_WRITES_BEFORE_FLUSH) {
            channel.flush();
            written = 0;
          }
        }
        if (written > 0) {
          channel.flush();
        }
        scheduled.set(false);
        // A writer may have added after the last poll but seen scheduled == true: go round again.
        if (queue.isEmpty() || !scheduled.compareAndSet(false, true)) {
          return;
        }
      }
    } catch (Throwable t) {
      // Only a flush can get here (writeOne catches): let another task pick up what is left.
      scheduled.set(false);
      if (!queue.isEmpty()) {
        scheduleDrain();
      }
      throw t;
    }
  }

  private void writeOne(Object item) {
    try {
      if (item instanceof Entry) {
        Entry e = (Entry) item;
        channel.write(e.msg, e.promise);
      } else if (item instanceof Runnable) {
        ((Runnable) item).run();
      } else {
        channel.write(item, channel.voidPromise());
      }
    } catch (Throwable t) {
      // A bug in a command (or a handler): log it, and keep the queue going for everything behind it.
      log.error("A queued write or command on {} failed", channel, t);
    }
  }

  private static final class Entry {
    final Object msg;
    final ChannelPromise promise;

    Entry(Object msg, ChannelPromise promise) {
      this.msg = msg;
      this.promise = promise;
    }
  }
}
