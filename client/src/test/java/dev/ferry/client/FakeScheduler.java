package dev.ferry.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Scheduler} on fake time for tests: time moves only when the test calls {@link #advance},
 * which runs, on the test's thread and in time order, every task that fell due (including tasks those
 * tasks schedule within the advanced span). No sleeps, no real timers.
 */
final class FakeScheduler implements Scheduler {
  private final PriorityQueue<Task> tasks = new PriorityQueue<>(Task::compareTo);
  private long now = 1_000_000_000L;
  private long sequence;

  @Override
  public synchronized long nanoTime() {
    return now;
  }

  @Override
  public synchronized Future<?> schedule(Runnable task, long delayNanos) {
    Task t = new Task(task, now + Math.max(0, delayNanos), sequence++);
    tasks.add(t);
    return t;
  }

  /** Moves time forward by {@code d}, running what falls due on the way. */
  void advance(Duration d) {
    long end;
    synchronized (this) {
      end = now + d.toNanos();
    }
    for (;;) {
      Task next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.due > end) {
          now = end;
          return;
        }
        tasks.poll();
        now = Math.max(now, next.due);
      }
      if (!next.cancelled) {
        next.done = true;
        next.task.run();
      }
    }
  }

  /** The delays, from now, of the tasks waiting (not cancelled), soonest first. */
  synchronized List<Duration> pendingDelays() {
    List<Task> sorted = new ArrayList<>(tasks);
    sorted.sort(Task::compareTo);
    List<Duration> delays = new ArrayList<>();
    for (Task t : sorted) {
      if (!t.cancelled) {
        delays.add(Duration.ofNanos(t.due - now));
      }
    }
    return delays;
  }

  private static final class Task implements Future<Object> {
    final Runnable task;
    final long due;
    final long seq;
    volatile boolean cancelled;
    volatile boolean done;

    Task(Runnable task, long due, long seq) {
      this.task = task;
      this.due = due;
      this.seq = seq;
    }

    int compareTo(Task o) {
      return due != o.due ? Long.compare(due, o.due) : Long.compare(seq, o.seq);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (done) {
        return false;
      }
      cancelled = true;
      return true;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return done || cancelled;
    }

    @Override
    public Object get() throws InterruptedException, ExecutionException {
      throw new UnsupportedOperationException();
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }
  }
}
