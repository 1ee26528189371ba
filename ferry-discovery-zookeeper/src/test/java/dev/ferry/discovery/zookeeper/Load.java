package dev.ferry.discovery.zookeeper;

import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A load for tests: calls at a fixed rate from one pacing thread (open loop), or with at most a given
 * number in flight, each recorded by the server that answered (or its error), in the order they were
 * started. Bounded by a count.
 */
final class Load {
  private final FerryChannel channel;
  private final long intervalNanos;
  private final CallOptions options = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();
  /** Who answered call i ("s1", or "ERROR: ..."), by start order; null while it runs. */
  private final String[] outcomes;
  private final AtomicInteger started = new AtomicInteger();
  private final AtomicInteger completed = new AtomicInteger();
  private final AtomicLong errors = new AtomicLong();
  private final Map<String, AtomicInteger> byServer = new ConcurrentHashMap<>();
  private final List<String> errorMessages = Collections.synchronizedList(new ArrayList<>());
  private final CountDownLatch done = new CountDownLatch(1);
  private final java.util.concurrent.Semaphore inFlight;
  private volatile boolean stop;
  private Thread thread;

  Load(FerryChannel channel, int callsPerSecond, int maxCalls) {
    this(channel, callsPerSecond, maxCalls, Integer.MAX_VALUE);
  }

  /** At most {@code maxInFlight} calls at once: the rate drops when calls take longer. */
  Load(FerryChannel channel, int callsPerSecond, int maxCalls, int maxInFlight) {
    this.inFlight = new java.util.concurrent.Semaphore(maxInFlight);
    this.channel = channel;
    this.intervalNanos = TimeUnit.SECONDS.toNanos(1) / callsPerSecond;
    this.outcomes = new String[maxCalls];
  }

  Load start() {
    thread = new Thread(this::run, "load");
    thread.setDaemon(true);
    thread.start();
    return this;
  }

  private void run() {
    long begin = System.nanoTime();
    for (int i = 0; i < outcomes.length && !stop; i++) {
      long due = begin + i * intervalNanos;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait); // pacing: the rate is the scenario
      }
      int index = i;
      inFlight.acquireUninterruptibly();
      started.incrementAndGet();
      channel.call(Fleet.WHO, StringValue.of("x"), options).whenComplete((v, t) -> {
        String who = t == null ? v.getValue() : "ERROR: " + t.getMessage();
        outcomes[index] = who;
        if (t != null) {
          errors.incrementAndGet();
          errorMessages.add(t.toString());
        } else {
          byServer.computeIfAbsent(who, k -> new AtomicInteger()).incrementAndGet();
        }
        completed.incrementAndGet();
        inFlight.release();
      });
    }
    done.countDown();
  }

  /** Stops starting calls; waits until every started call completed. */
  Load finish() throws InterruptedException {
    stop = true;
    if (!done.await(60, TimeUnit.SECONDS)) {
      throw new AssertionError("the load did not stop");
    }
    await("every call started completes").atMost(Duration.ofSeconds(30))
        .until(() -> completed.get() == started.get());
    return this;
  }

  /** Waits until at least {@code n} calls were started (at most 60 s). */
  void awaitStarted(int n) {
    awaitStarted(n, Duration.ofSeconds(60));
  }

  /** Waits until at least {@code n} calls were started, at most {@code atMost}. */
  void awaitStarted(int n, Duration atMost) {
    await(n + " calls started").atMost(atMost).until(() -> started.get() >= n);
  }

  int started() {
    return started.get();
  }

  long errors() {
    return errors.get();
  }

  List<String> errorMessages() {
    return errorMessages;
  }

  Map<String, AtomicInteger> byServer() {
    return byServer;
  }

  String errorBuckets(int size) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < outcomes.length; i += size) {
      int n = 0;
      for (int k = i; k < Math.min(outcomes.length, i + size); k++) {
        if (outcomes[k] != null && outcomes[k].startsWith("ERROR")) {
          n++;
        }
      }
      b.append(n).append(' ');
    }
    return b.toString();
  }

  /** How many of the calls started between {@code from} (inclusive) and {@code to} went to {@code server}. */
  int answeredBy(String server, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      if (server.equals(outcomes[i])) {
        n++;
      }
    }
    return n;
  }
}
