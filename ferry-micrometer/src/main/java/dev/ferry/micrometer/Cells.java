package dev.ferry.micrometer;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters striped by thread: each thread adds to a cell of its own without atomic read-modify-write
 * (an opaque store of its own running sum), and readers add the cells up. Recording a call this way
 * costs a few nanoseconds where a Micrometer timer costs tens, which is what keeps installed meters
 * within a few percent of a server's throughput (BENCHMARKS.md, S10).
 *
 * <p>Counters are numbered slots, reserved in blocks by the meters that own them. Writers: any thread,
 * each on its own cell. Readers (the registry's publishing or scraping thread) see each cell's values
 * as of a moment ago, never torn.
 */
final class Cells {
  private final AtomicInteger slots = new AtomicInteger();
  private final List<Cell> cells = new CopyOnWriteArrayList<>();
  /** What threads that have died counted: their cells are folded in here, so the list does not grow forever. */
  private final Cell retired = new Cell(null);
  /** Netty's thread-local: an array index on Ferry's event-loop threads, where events are recorded. */
  private final FastThreadLocal<Cell> local = new FastThreadLocal<>() {
    @Override
    protected Cell initialValue() {
      Cell c = new Cell(Thread.currentThread());
      cells.add(c);
      return c;
    }
  };

  /** Reserves {@code n} consecutive slots; returns the first. */
  int reserve(int n) {
    return slots.getAndAdd(n);
  }

  /** The calling thread's cell. */
  Cell cell() {
    return local.get();
  }

  /**
   * The sum of {@code slot} over every thread. Readers take turns (they are few: the registry's), so that
   * a cell moving to {@link #retired} is never missed or counted twice: a counter must not step back.
   */
  long sum(int slot) {
    synchronized (retired) {
      retireDeadThreads();
      long total = retired.get(slot);
      for (Cell c : cells) {
        total += c.get(slot);
      }
      return total;
    }
  }

  /** Threads whose cells are still apart. For tests. */
  int liveCells() {
    return cells.size();
  }

  /** Folds the cells of threads that have died (no one writes them any more) into {@link #retired}. */
  private void retireDeadThreads() {
    for (Cell c : cells) {
      Thread owner = c.owner.get();
      if (owner == null || !owner.isAlive()) {
        cells.remove(c);
        AtomicLongArray values = c.values;
        for (int i = 0; i < values.length(); i++) {
          long v = values.getOpaque(i);
          if (v != 0) {
            retired.add(i, v);
          }
        }
      }
    }
  }

  /** One thread's counters. Only that thread adds to them. */
  static final class Cell {
    private final java.lang.ref.WeakReference<Thread> owner;
    private volatile AtomicLongArray values = new AtomicLongArray(64);
    /**
     * The meters this thread used last, and for what (a method descriptor): calls on a thread mostly
     * repeat the method before, and comparing references beats a map lookup. The owner's alone.
     */
    Object lastKey;
    Object lastMeters;

    Cell(Thread owner) {
      this.owner = new java.lang.ref.WeakReference<>(owner);
    }

    void add(int slot, long delta) {
      AtomicLongArray v = values;
      if (slot >= v.length()) {
        v = grow(slot);
      }
      v.setOpaque(slot, v.getPlain(slot) + delta);
    }

    private AtomicLongArray grow(int slot) {
      AtomicLongArray old = values;
      AtomicLongArray bigger = new AtomicLongArray(Math.max(slot + 1, old.length() * 2));
      for (int i = 0; i < old.length(); i++) {
        bigger.setPlain(i, old.getPlain(i));
      }
      values = bigger; // a reader still on the old array misses only this thread's latest adds
      return bigger;
    }

    long get(int slot) {
      AtomicLongArray v = values;
      return slot < v.length() ? v.getOpaque(slot) : 0;
    }
  }
}
