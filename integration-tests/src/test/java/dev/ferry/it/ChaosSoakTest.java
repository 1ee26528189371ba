package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.BackoffOptions;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInternals;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServerInternals;
import dev.ferry.server.ServiceDefinition;
import dev.ferry.testing.FaultProxy;
import dev.ferry.testing.LeakDetectionExtension;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chaos soak: a bounded mixed workload (several channels, random payload sizes, deadlines, cancellations,
 * slow, asynchronous and failing handlers) runs while a fault driver resets, black-holes and stalls
 * connections through {@link FaultProxy}s, restarts the server (gracefully or abruptly, on the same port)
 * and shuts channels down under load. At the end every call must have completed exactly once with an
 * expected outcome, none long after its deadline, every echoed payload byte-correct; the server must have
 * run no call twice and none that the client reported as unsent or unprocessed; the pending maps and
 * connection counts must be back to zero on both sides, and Netty's leak detector (PARANOID in this build)
 * silent.
 *
 * <p>About a minute by default. A long run (see {@code docs/soak.md}):
 * {@code -Dferry.soak.duration=PT30M}; {@code -Dferry.soak.seed=N} replays a fault schedule (the seed is
 * logged at the start; thread timing still differs between runs).
 */
class ChaosSoakTest {
  private static final Logger log = LoggerFactory.getLogger(ChaosSoakTest.class);

  /** How long the workload and the faults run (the whole test takes about 10 s more). */
  private static final Duration DURATION = Duration.parse(System.getProperty("ferry.soak.duration", "PT50S"));
  private static final long SEED = Long.getLong("ferry.soak.seed", System.nanoTime());
  /** The count bound of the workload loop (the duration is the time bound). */
  private static final long MAX_CALLS = Long.getLong("ferry.soak.maxCalls",
      Math.max(10_000, DURATION.toSeconds() * 100_000));
  /**
   * How late a call may complete after its deadline, beyond the time the JVM itself could not run (see
   * {@link StallMeter}): generous, for a loaded 2-core machine.
   */
  private static final Duration DEADLINE_SLACK = Duration.ofSeconds(2);
  /** Calls in flight per channel at most ({@code -Dferry.soak.window=N}). */
  private static final int WINDOW = Integer.getInteger("ferry.soak.window", 16);

  private static final BackoffOptions FAST_BACKOFF =
      BackoffOptions.of(Duration.ofMillis(20), 2, Duration.ofMillis(300), 0.2);
  /** Heartbeats short enough that a black hole is noticed in about a second, on both sides. */
  private static final HeartbeatOptions CLIENT_HEARTBEAT =
      HeartbeatOptions.of(Duration.ofMillis(250), Duration.ofMillis(1000));

  private static final ByteString RANDOM_BYTES;

  static {
    byte[] bytes = new byte[4 << 20];
    new Random(7).nextBytes(bytes);
    RANDOM_BYTES = ByteString.copyFrom(bytes);
  }

  /** Call ids whose handler the server ran (a second run of one is a violation). */
  private final IdSet handled = new IdSet(MAX_CALLS + 64);
  /** Call ids whose failure said the server never processed them (checked against {@link #handled}). */
  private final IdSet claimedUnprocessed = new IdSet(MAX_CALLS + 64);
  private final ChaosService service = new ChaosService(this::handlerRan);
  private final List<AutoCloseable> resources = new CopyOnWriteArrayList<>();
  private volatile FerryServer server;
  private final long testStartNanos = System.nanoTime();
  private final StallMeter stalls = new StallMeter();
  private int port;

  // ---- bookkeeping ----
  private final AtomicLong nextCallId = new AtomicLong();
  private final Map<Long, CallRecord> inFlight = new ConcurrentHashMap<>();
  private final LongAdder completed = new LongAdder();
  private final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> faults = new ConcurrentHashMap<>();
  private final LongAccumulator maxOvershootNanos = new LongAccumulator(Math::max, 0);
  private final LongAdder pastDeadline = new LongAdder();
  private final LongAdder bytesEchoed = new LongAdder();
  private final AtomicLong violationCount = new AtomicLong();
  private final List<String> violations = new ArrayList<>(); // the first few, guarded by itself
  private final List<FerryChannel> retired = new CopyOnWriteArrayList<>();
  private volatile long workloadNanos = 1;
  private long droppedResponses;
  private int connectAttempts;
  private int leakReports = -1;
  private final Set<String> otherUnavailable = new LinkedHashSet<>(); // guarded by itself

  @AfterEach
  void closeAll() throws Exception {
    stalls.close();
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
    FerryServer s = server;
    if (s != null) {
      s.shutdownNow();
    }
  }

  @Test
  void everyCallCompletesExactlyOnceUnderResetsBlackHolesAndRestarts() throws Exception {
    log.info("Chaos soak: duration {}, seed {} (replay with -Dferry.soak.seed={}), at most {} calls",
        DURATION, SEED, SEED, MAX_CALLS);
    resources.add(service);
    server = startServer(0, null, 16);
    port = server.port();
    FaultProxy proxyA = closeLater(FaultProxy.start(port));
    FaultProxy proxyB = closeLater(FaultProxy.start(port));
    List<FaultProxy> proxies = List.of(proxyA, proxyB);
    // Five channels: two through each proxy, one straight to the server (it sees only restarts).
    int[] targets = {proxyA.port(), proxyA.port(), proxyB.port(), proxyB.port(), port};
    int[] poolSizes = {2, 3, 1, 2, 2};
    List<ChannelSlot> slots = new ArrayList<>();
    for (int i = 0; i < targets.length; i++) {
      slots.add(new ChannelSlot(targets[i], poolSizes[i], i % 2 == 0));
    }
    ScheduledExecutorService canceller = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "chaos-canceller");
      t.setDaemon(true);
      return t;
    });
    resources.add(canceller::shutdownNow);

    long start = System.nanoTime();
    long end = start + DURATION.toNanos();
    CountDownLatch stopFaults = new CountDownLatch(1);
    Thread driver = new Thread(() -> driveFaults(proxies, slots, end, stopFaults), "chaos-fault-driver");
    driver.setDaemon(true);
    driver.start();
    List<Thread> issuers = new ArrayList<>();
    for (int i = 0; i < slots.size(); i++) {
      ChannelSlot slot = slots.get(i);
      Random random = new Random(SEED + 1 + i);
      Thread t = new Thread(() -> issue(slot, random, canceller, end), "chaos-issuer-" + i);
      t.setDaemon(true);
      t.start();
      issuers.add(t);
    }
    for (Thread t : issuers) {
      t.join(DURATION.toMillis() + 30_000);
      assertThat(t.isAlive()).as("%s stopped issuing", t.getName()).isFalse();
    }
    workloadNanos = System.nanoTime() - start;
    stopFaults.countDown();
    driver.join(60_000);
    assertThat(driver.isAlive()).as("the fault driver stopped").isFalse();
    for (FaultProxy p : proxies) {
      p.pass();
      p.links().forEach(l -> l.pass().resume());
    }

    try {
      checkTheAftermath(slots, proxies);
    } finally {
      log.info("Chaos soak summary (seed {}): {}", SEED, summary());
    }
    synchronized (violations) {
      assertThat(violations).as("%d violations (the first %d shown), seed %d", violationCount.get(),
          violations.size(), SEED).isEmpty();
    }
    long total = completed.sum();
    assertThat(total).as("calls made").isGreaterThan(1_000);
    // Calls that failed fast, never leaving the client, while no connection could be made (or their channel
    // was shut down) come and go quickly and can outnumber the rest during outages: not counted here.
    long reachedAConnection =
        total - count("UNAVAILABLE (no ready connection)") - count("UNAVAILABLE (channel shut down)");
    assertThat(count("OK")).as("successful calls, of %d that reached a connection", reachedAConnection)
        .isGreaterThan(reachedAConnection / 3);
    assertThat(faults.values().stream().mapToInt(AtomicInteger::get).sum()).as("faults injected")
        .isGreaterThanOrEqualTo((int) Math.min(10, DURATION.toSeconds() / 5));
  }

  /** Once the faults stopped: every call completes, everything drains, shuts down cleanly, leaks nothing. */
  private void checkTheAftermath(List<ChannelSlot> slots, List<FaultProxy> proxies) throws Exception {
    // 1. Every call completes: the longest deadline is 5 s, and calls without one end at the latest
    // when a heartbeat gives up on their connection.
    await("calls in flight to complete").atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(inFlight.values()).as("calls that never completed").isEmpty());
    assertThat(completed.sum()).as("completions").isEqualTo(nextCallId.get());
    List<FerryChannel> channels = new ArrayList<>();
    for (ChannelSlot slot : slots) {
      channels.add(slot.channel);
    }

    // 2. Quiet again: nothing left in pending maps, waiting queues or in-flight counts, on either side.
    for (FerryChannel channel : channels) {
      await("client bookkeeping to drain").atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> assertThat(ClientInternals.leftovers(channel)).as("%s", channel).isEmpty());
    }
    await("server calls to drain").atMost(Duration.ofSeconds(10))
        .until(() -> ServerInternals.callsInFlight(server) == 0);

    // 3. No call that failed saying its request was not sent, or not processed, ran on the server.
    assertThat(claimedUnprocessed.countCommonWith(handled))
        .as("calls that failed saying the server never processed them, but it ran them (of %d)",
            claimedUnprocessed.size())
        .isZero();

    // 4. Every channel recovered and still works.
    for (FerryChannel channel : channels) {
      ByteString payload = ByteString.copyFrom(new byte[8]).concat(RANDOM_BYTES.substring(0, 1000)); // id 0
      BytesValue reply = channel.blockingCall(ChaosService.ECHO, BytesValue.of(payload),
          CallOptions.builder().timeout(Duration.ofSeconds(20)).waitForReady(true).build());
      assertThat(reply.getValue()).isEqualTo(payload);
      assertThat(ClientInternals.leftovers(channel)).isEmpty();
    }

    // 5. Shut everything down: connection counts go to zero on both sides. The channels replaced during
    // the run (shut down under load) must have ended just as cleanly.
    for (FerryChannel channel : retired) {
      droppedResponses += ClientInternals.droppedResponses(channel);
      connectAttempts += ClientInternals.connectAttempts(channel);
      assertThat(channel.isTerminated()).as("%s (replaced) terminated", channel).isTrue();
      assertThat(ClientInternals.openConnections(channel)).as("%s (replaced) open connections", channel).isZero();
      assertThat(ClientInternals.leftovers(channel)).as("%s (replaced)", channel).isEmpty();
    }
    for (FerryChannel channel : channels) {
      droppedResponses += ClientInternals.droppedResponses(channel);
      connectAttempts += ClientInternals.connectAttempts(channel);
      channel.close();
      assertThat(channel.isTerminated()).as("%s terminated", channel).isTrue();
      assertThat(ClientInternals.openConnections(channel)).as("%s open connections", channel).isZero();
    }
    FerryServer last = server;
    await("server connections to close").atMost(Duration.ofSeconds(10))
        .until(() -> ServerInternals.openConnections(last) == 0);
    last.shutdown(Duration.ofSeconds(5));
    assertThat(last.awaitTermination(Duration.ofSeconds(15))).isTrue();
    assertThat(ServerInternals.openConnections(last)).isZero();
    for (FaultProxy p : proxies) {
      await("proxy connections to close").atMost(Duration.ofSeconds(10)).until(() -> p.openConnections() == 0);
    }

    // 6. Nothing leaked (the extension checks again after the class, with Netty's access records).
    List<String> leaks = LeakDetectionExtension.collectLeaks();
    leakReports = leaks.size();
    assertThat(leaks).as("Netty leak reports").isEmpty();
  }

  private String otherUnavailableExamples() {
    synchronized (otherUnavailable) {
      return otherUnavailable.isEmpty() ? "" : "; other UNAVAILABLE messages, for example " + otherUnavailable;
    }
  }

  private String summary() {
    long total = completed.sum();
    double seconds = workloadNanos / 1e9;
    String firstViolations;
    synchronized (violations) {
      firstViolations = violations.isEmpty() ? "" : " (first: " + violations.subList(0, Math.min(3, violations.size())) + ")";
    }
    return total + " calls in " + String.format("%.1f", seconds) + " s (" + String.format("%.0f", total / seconds)
        + " calls/s), " + (bytesEchoed.sum() >> 20) + " MiB echoed; outcomes " + new TreeMap<>(outcomes) + "; "
        + pastDeadline.sum() + " calls completed after their deadline, by at most "
        + TimeUnit.NANOSECONDS.toMillis(maxOvershootNanos.get()) + " ms (slack " + DEADLINE_SLACK.toMillis()
        + " ms, beyond what the JVM lost: " + TimeUnit.NANOSECONDS.toMillis(stalls.stalledNanos())
        + " ms in all); " + droppedResponses + " late responses dropped; faults " + new TreeMap<>(faults) + "; "
        + connectAttempts + " connection attempts; " + handled.size() + " handler runs; "
        + claimedUnprocessed.size() + " failures saying the server never processed the call; leak reports "
        + (leakReports < 0 ? "not collected" : leakReports)
        + "; violations " + violationCount.get() + firstViolations + otherUnavailableExamples();
  }

  // ---- the workload ----

  private enum Kind { ECHO, ASYNC_ECHO, SLOW_ECHO, FAIL, UPLOAD, DOWNLOAD }

  private static final StatusCode[] HANDLER_CODES = {StatusCode.NOT_FOUND, StatusCode.INVALID_ARGUMENT,
      StatusCode.FAILED_PRECONDITION, StatusCode.PERMISSION_DENIED, StatusCode.ABORTED, StatusCode.OUT_OF_RANGE};

  /**
   * Issues calls on the slot's channel (whichever it is at the moment), at most {@link #WINDOW} at a time,
   * until the end or the count bound.
   */
  private void issue(ChannelSlot slot, Random random, ScheduledExecutorService canceller, long endNanos) {
    Semaphore window = new Semaphore(WINDOW);
    try {
      while (System.nanoTime() < endNanos && nextCallId.get() < MAX_CALLS) {
        if (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) {
          continue;
        }
        startCall(slot.channel, random, canceller, window);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      violation("issuer of " + slot.channel + " failed: " + e);
    }
  }

  private void startCall(FerryChannel channel, Random random, ScheduledExecutorService canceller,
      Semaphore window) {
    long id = nextCallId.incrementAndGet();
    int roll = random.nextInt(100);
    Kind kind = roll < 55 ? Kind.ECHO : roll < 68 ? Kind.ASYNC_ECHO : roll < 80 ? Kind.SLOW_ECHO
        : roll < 87 ? Kind.UPLOAD : roll < 94 ? Kind.DOWNLOAD : Kind.FAIL;
    ByteString payload = payload(id, random);
    Metadata.Builder metadata = Metadata.builder();
    StatusCode failWith = null;
    switch (kind) {
      case ASYNC_ECHO -> metadata.add("x-delay-ms", Integer.toString(random.nextInt(200)));
      case SLOW_ECHO -> metadata.add("x-delay-ms", Integer.toString(random.nextInt(300)));
      case FAIL -> {
        failWith = HANDLER_CODES[random.nextInt(HANDLER_CODES.length)];
        metadata.add("x-status", failWith.name());
      }
      case UPLOAD, DOWNLOAD -> metadata.add("x-call-id", Long.toString(id));
      default -> { }
    }
    CallOptions.Builder options = CallOptions.builder().metadata(metadata.build()).waitForReady(random.nextInt(5) == 0);
    int deadlineRoll = random.nextInt(100);
    if (deadlineRoll < 15) {
      options.timeout(Duration.ofMillis(5 + random.nextInt(150))); // short: some expire
    } else if (deadlineRoll < 75) {
      options.timeout(Duration.ofMillis(300 + random.nextInt(4_700)));
    } // else no deadline: only a heartbeat or a reset ends such a call on a dead connection
    CallOptions built = options.build();
    boolean cancel = random.nextInt(20) == 0;
    CallRecord record = new CallRecord(id, kind, channel.toString(), payload.size(), built, failWith, cancel);
    inFlight.put(id, record);
    CompletableFuture<BytesValue> future = switch (kind) {
      case ECHO -> channel.call(ChaosService.ECHO, BytesValue.of(payload), built);
      case ASYNC_ECHO -> channel.call(ChaosService.ASYNC_ECHO, BytesValue.of(payload), built);
      case SLOW_ECHO -> channel.call(ChaosService.SLOW_ECHO, BytesValue.of(payload), built);
      case FAIL -> channel.call(ChaosService.FAIL, BytesValue.of(payload), built);
      // The payload goes up in chunks, pulled as the server grants credit; the server echoes it whole.
      case UPLOAD -> channel.clientStream(ChaosService.UPLOAD, new ChunkPublisher(payload), built);
      case DOWNLOAD -> download(channel, payload, built, record);
    };
    future.whenComplete((reply, error) -> {
      try {
        record.completed(reply, error, payload);
      } finally {
        window.release();
      }
    });
    if (cancel) {
      canceller.schedule(() -> future.cancel(false), random.nextInt(200), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * A DOWNLOAD: the server streams the payload back in chunks; they are put together here, and must
   * be a prefix of the payload even when the stream fails. Cancelling the future cancels the stream.
   */
  private CompletableFuture<BytesValue> download(FerryChannel channel, ByteString payload, CallOptions options,
      CallRecord record) {
    CompletableFuture<BytesValue> done = new CompletableFuture<>();
    channel.serverStreamPublisher(ChaosService.DOWNLOAD, BytesValue.of(payload), options)
        .subscribe(new Flow.Subscriber<BytesValue>() {
          private final AtomicInteger ends = new AtomicInteger();
          private ByteString received = ByteString.EMPTY;

          @Override
          public void onSubscribe(Flow.Subscription s) {
            done.whenComplete((r, e) -> {
              if (done.isCancelled()) {
                s.cancel();
              }
            });
            s.request(Long.MAX_VALUE);
          }

          @Override
          public void onNext(BytesValue chunk) {
            received = received.concat(chunk.getValue());
            if (received.size() > payload.size() || !payload.startsWith(received)) {
              violation("a download's chunks are not a prefix of its payload: " + record);
            }
          }

          @Override
          public void onError(Throwable t) {
            if (ends.incrementAndGet() > 1) {
              violation("a download's stream ended twice (then " + t + "): " + record);
            }
            done.completeExceptionally(t);
          }

          @Override
          public void onComplete() {
            if (ends.incrementAndGet() > 1) {
              violation("a download's stream ended twice (then complete): " + record);
            }
            done.complete(BytesValue.of(received));
          }
        });
    return done;
  }

  /** A cold publisher of a payload in chunks of up to 16 KiB, emitting on the requesting thread. */
  static final class ChunkPublisher implements Flow.Publisher<BytesValue> {
    private static final int CHUNK = 16 << 10;
    private final ByteString payload;

    ChunkPublisher(ByteString payload) {
      this.payload = payload;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super BytesValue> subscriber) {
      AtomicLong demand = new AtomicLong();
      AtomicInteger wip = new AtomicInteger();
      int[] offset = {0};
      boolean[] done = {false};
      subscriber.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {
          demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
          if (wip.getAndIncrement() != 0) {
            return;
          }
          do {
            while (demand.get() > 0 && offset[0] < payload.size() && !done[0]) {
              demand.decrementAndGet();
              int end = Math.min(payload.size(), offset[0] + CHUNK);
              ByteString chunk = payload.substring(offset[0], end);
              offset[0] = end;
              subscriber.onNext(BytesValue.of(chunk));
            }
            if (offset[0] == payload.size() && !done[0]) {
              done[0] = true;
              subscriber.onComplete();
            }
          } while (wip.decrementAndGet() != 0);
        }

        @Override
        public void cancel() {
          done[0] = true;
        }
      });
    }
  }

  /** Mostly 0 B to 64 KiB, sometimes up to 2 MiB; starts with the call id unless empty. */
  private static ByteString payload(long id, Random random) {
    int roll = random.nextInt(100);
    if (roll < 3) {
      return ByteString.EMPTY;
    }
    int size = roll < 50 ? random.nextInt(1024) : roll < 98 ? random.nextInt(64 << 10) : (256 << 10)
        + random.nextInt(((2 << 20) - (256 << 10)));
    int offset = random.nextInt(RANDOM_BYTES.size() - size);
    ByteString idBytes = ByteString.copyFrom(new byte[] {(byte) (id >>> 56), (byte) (id >>> 48), (byte) (id >>> 40),
        (byte) (id >>> 32), (byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id});
    return idBytes.concat(RANDOM_BYTES.substring(offset, offset + size));
  }

  /** One call's expectations and what became of it. */
  private final class CallRecord {
    final long id;
    final Kind kind;
    final String channel;
    final int size;
    final long startNanos = System.nanoTime();
    final long stalledAtStart = stalls.stalledNanos();
    final boolean hasDeadline;
    final long deadlineNanos;
    final boolean waitForReady;
    final StatusCode failWith;
    final boolean cancelRequested;
    final AtomicInteger completions = new AtomicInteger();

    CallRecord(long id, Kind kind, String channel, int size, CallOptions options, StatusCode failWith,
        boolean cancelRequested) {
      this.id = id;
      this.kind = kind;
      this.channel = channel;
      this.size = size;
      // A timeout counts from the call's start, which comes just after this: a deadline computed here is
      // at most a moment early, which only makes the overshoot checks stricter.
      this.hasDeadline = options.hasDeadline() || options.timeout().isPresent();
      this.deadlineNanos = options.hasDeadline() ? options.deadlineNanoTime()
          : options.timeout().map(t -> startNanos + t.toNanos()).orElse(0L);
      this.waitForReady = options.waitForReady();
      this.failWith = failWith;
      this.cancelRequested = cancelRequested;
    }

    /** Runs once per completion of the call's future (any thread, usually an event loop): keep it short. */
    void completed(BytesValue reply, Throwable error, ByteString sent) {
      long now = System.nanoTime();
      int n = completions.incrementAndGet();
      if (n > 1) {
        violation("completed " + n + " times: " + this);
        return;
      }
      inFlight.remove(id);
      completed.increment();
      if (hasDeadline && now - deadlineNanos > 0) {
        long overshoot = now - deadlineNanos;
        pastDeadline.increment();
        maxOvershootNanos.accumulate(overshoot);
        long stalled = stalls.stalledNanos() - stalledAtStart;
        if (overshoot > DEADLINE_SLACK.toNanos() + stalled) {
          violation("completed " + TimeUnit.NANOSECONDS.toMillis(overshoot) + " ms after its deadline, while the"
              + " JVM could not run for " + TimeUnit.NANOSECONDS.toMillis(stalled) + " ms (" + describe(error)
              + "): " + this);
        }
      }
      if (error == null) {
        record("OK");
        if (kind == Kind.FAIL) {
          violation("succeeded although its handler fails: " + this);
        } else if (!reply.getValue().equals(sent)) {
          violation("echo of " + sent.size() + " bytes came back as " + reply.getValue().size()
              + " different bytes: " + this);
        } else {
          bytesEchoed.add(sent.size());
        }
        return;
      }
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (cause instanceof CancellationException) {
        record("CANCELLED (by the caller)");
        if (!cancelRequested) {
          violation("cancelled although nobody cancelled it: " + this);
        }
        return;
      }
      if (!(cause instanceof FerryException)) {
        record("unexpected " + cause.getClass().getSimpleName());
        violation("failed with " + cause + ": " + this);
        return;
      }
      FerryException fe = (FerryException) cause;
      StatusCode code = fe.code();
      String description = fe.description();
      if (size >= 8 && (description.endsWith(" was not sent)") || description.contains("not processed"))) {
        claimedUnprocessed.add(id); // checked against what the server ran once all is quiet
      }
      if (code == failWith) {
        record("handler's status (" + kind + ")");
        return;
      }
      if (code == StatusCode.UNAVAILABLE) {
        record("UNAVAILABLE (" + unavailableKind(fe.description()) + ")");
        return;
      }
      record(code.name());
      if (code == StatusCode.DEADLINE_EXCEEDED && hasDeadline) {
        if (deadlineNanos - now > TimeUnit.MILLISECONDS.toNanos(1)) {
          violation("DEADLINE_EXCEEDED " + TimeUnit.NANOSECONDS.toMillis(deadlineNanos - now)
              + " ms before its deadline: " + this);
        }
        return;
      }
      violation("unexpected status " + code + " (" + fe.description() + "): " + this);
    }

    @Override
    public String toString() {
      long now = System.nanoTime();
      return "call " + id + " {" + kind + " of " + size + " B on " + channel + ", started at " + seconds(startNanos)
          + " s, " + TimeUnit.NANOSECONDS.toMillis(now - startNanos) + " ms ago"
          + (hasDeadline ? ", deadline " + TimeUnit.NANOSECONDS.toMillis(deadlineNanos - startNanos) + " ms after start"
              : ", no deadline")
          + (waitForReady ? ", wait-for-ready" : "") + (cancelRequested ? ", cancel requested" : "")
          + (failWith != null ? ", handler fails with " + failWith : "") + ", completions " + completions.get() + '}';
    }
  }

  private static String describe(Throwable error) {
    return error == null ? "OK" : String.valueOf(error instanceof CompletionException ? error.getCause() : error);
  }

  /**
   * Why a call was UNAVAILABLE, in a few words, and whether its request had gone out (then the server
   * may have run it). Messages that fit no category are kept as examples for the summary.
   */
  private String unavailableKind(String description) {
    String why;
    if (description.contains("channel shut down")) {
      why = "channel shut down";
    } else if (description.contains("no connection to")) {
      why = "no ready connection";
    } else if (description.contains("sent nothing for")) {
      why = "heartbeat timeout";
    } else if (description.contains("server is shutting down")) {
      why = "refused by a server shutting down";
    } else if (description.contains("GOAWAY")) {
      why = "GOAWAY";
    } else if (description.contains("could not connect") || description.contains("handshake")) {
      why = "connect or handshake failed";
    } else if (description.contains("closed by peer") || description.contains("reset by peer")) {
      why = "connection lost";
    } else {
      why = "other";
      synchronized (otherUnavailable) {
        if (otherUnavailable.size() < 5) {
          otherUnavailable.add(description);
        }
      }
    }
    return why + (description.endsWith(" was sent)") ? ", request sent" : "");
  }

  /** Server side, any handler thread: the handler of call {@code id} runs. */
  private void handlerRan(long id) {
    if (id <= 0 || id > nextCallId.get()) {
      return; // not one of the workload's calls (id 0: the checks' own)
    }
    if (!handled.add(id)) {
      violation("the server ran the handler of call " + id + " twice (a retry of a call it had processed)");
    }
  }

  /** Seconds since the test started, for log lines and call descriptions. */
  private String seconds(long nanoTime) {
    return String.format("%.1f", (nanoTime - testStartNanos) / 1e9);
  }

  private void record(String outcome) {
    outcomes.computeIfAbsent(outcome, k -> new LongAdder()).increment();
  }

  private long count(String outcome) {
    LongAdder a = outcomes.get(outcome);
    return a == null ? 0 : a.sum();
  }

  private void violation(String what) {
    violationCount.incrementAndGet();
    synchronized (violations) {
      if (violations.size() < 50) {
        violations.add(what);
      }
    }
  }

  // ---- the faults ----

  /**
   * Injects a random fault every 0.2 to 1.5 s until the end: resets (one connection or all of a proxy),
   * black holes ended by a reset and stalls that heal (one connection, one or both directions, or all of
   * a proxy, for up to 2.5 s), server restarts on the same port (graceful or abrupt, some with a short
   * max connection age), and channels replaced, the old one shut down under load. The schedule comes
   * from {@link #SEED}. Leaves the server running and every proxy passing traffic.
   */
  private void driveFaults(List<FaultProxy> proxies, List<ChannelSlot> slots, long endNanos, CountDownLatch stop) {
    Random random = new Random(SEED);
    int injected = 0;
    try {
      while (System.nanoTime() < endNanos && injected < 100_000) {
        if (stop.await(200 + random.nextInt(1300), TimeUnit.MILLISECONDS)) {
          break;
        }
        injected++;
        FaultProxy proxy = proxies.get(random.nextInt(proxies.size()));
        List<FaultProxy.Link> links = proxy.links();
        FaultProxy.Link link = links.isEmpty() ? null : links.get(random.nextInt(links.size()));
        int direction = random.nextInt(3); // 0 toward the server, 1 toward the client, 2 both
        String towards = direction == 0 ? " toward the server" : direction == 1 ? " toward the client" : "";
        int roll = random.nextInt(100);
        if (roll < 20) {
          if (link != null) {
            fault("reset one connection");
            link.reset();
          }
        } else if (roll < 28) {
          fault("reset all connections of a proxy");
          proxy.resetAll();
        } else if (roll < 43) {
          // A crashed peer or a lost NAT entry: bytes vanish; heartbeats may notice first, or the next
          // packet after it ends meets a reset. (Passing traffic again would deliver a stream with a hole
          // in it, which TCP never does.)
          if (link != null) {
            fault("black-hole one connection" + towards);
            link.blackHole(direction != 1, direction != 0);
            stop.await(300 + random.nextInt(2200), TimeUnit.MILLISECONDS);
            link.reset();
          }
        } else if (roll < 58) {
          // A partition that heals: nothing is lost, everything arrives late.
          if (link != null) {
            fault("stall one connection" + towards);
            link.stall(direction != 1, direction != 0);
            stop.await(300 + random.nextInt(2200), TimeUnit.MILLISECONDS);
            link.resume();
          }
        } else if (roll < 64) {
          fault("black-hole a whole proxy");
          proxy.blackHole();
          stop.await(300 + random.nextInt(1700), TimeUnit.MILLISECONDS);
          proxy.resetAll();
          proxy.pass();
        } else if (roll < 70) {
          fault("stall every connection of a proxy");
          links.forEach(l -> l.stall(true, true));
          stop.await(300 + random.nextInt(1700), TimeUnit.MILLISECONDS);
          links.forEach(FaultProxy.Link::resume);
        } else if (roll < 82) {
          fault("graceful server restart");
          restart(random, true, stop);
        } else if (roll < 94) {
          fault("abrupt server restart");
          restart(random, false, stop);
        } else {
          boolean graceful = random.nextBoolean();
          fault(graceful ? "channel replaced (shutdown under load)" : "channel replaced (shutdownNow under load)");
          slots.get(random.nextInt(slots.size())).replace(graceful);
        }
      }
    } catch (Exception | Error e) {
      violation("fault driver failed: " + e);
    } finally {
      for (FaultProxy p : proxies) {
        p.pass();
      }
    }
  }

  private void restart(Random random, boolean graceful, CountDownLatch stop) throws Exception {
    FerryServer old = server;
    if (graceful) {
      old.shutdown(Duration.ofMillis(random.nextInt(2000)));
    } else {
      old.shutdownNow();
    }
    if (!old.awaitTermination(Duration.ofSeconds(20))) {
      violation("server did not terminate within 20 s of " + (graceful ? "shutdown" : "shutdownNow"));
    }
    if (ServerInternals.openConnections(old) != 0) {
      violation("terminated server still counts " + ServerInternals.openConnections(old) + " connections");
    }
    stop.await(random.nextInt(500), TimeUnit.MILLISECONDS); // the outage
    Duration maxAge = random.nextInt(4) == 0 ? Duration.ofMillis(1000 + random.nextInt(2000)) : null;
    server = startServer(port, maxAge, CALL_LIMITS[random.nextInt(CALL_LIMITS.length)]);
    if (server.isShutdown()) {
      violation("restarted server is shut down");
    }
  }

  /**
   * One issuer's channel. The fault driver may replace it: the old one is shut down (gracefully, or
   * now) under load while the issuer moves on to the new one.
   */
  private final class ChannelSlot {
    private final int targetPort;
    private final int poolSize;
    private final boolean eager;
    volatile FerryChannel channel;

    ChannelSlot(int targetPort, int poolSize, boolean eager) {
      this.targetPort = targetPort;
      this.poolSize = poolSize;
      this.eager = eager;
      this.channel = newChannel();
    }

    private FerryChannel newChannel() {
      return closeLater(FerryChannel.builder("127.0.0.1", targetPort)
          .pool(PoolOptions.builder().size(poolSize).eager(eager).build())
          .heartbeat(CLIENT_HEARTBEAT)
          .reconnectBackoff(FAST_BACKOFF)
          .connectTimeout(Duration.ofSeconds(2))
          .handshakeTimeout(Duration.ofSeconds(2))
          .build());
    }

    /** Fault driver: swaps in a new channel, then shuts the old one down and waits for it to terminate. */
    void replace(boolean graceful) throws InterruptedException {
      FerryChannel old = channel;
      channel = newChannel();
      if (graceful) {
        old.shutdown();
      } else {
        old.shutdownNow();
      }
      retired.add(old);
      // Graceful: the calls in flight finish first; the longest deadline is 5 s, handlers take at most 0.3 s.
      if (!old.awaitTermination(Duration.ofSeconds(20))) {
        violation(old + " did not terminate within 20 s of " + (graceful ? "shutdown()" : "shutdownNow()")
            + "; leftovers " + ClientInternals.leftovers(old));
      }
    }
  }

  /**
   * The servers' limits of calls in flight per connection: the low ones keep calls waiting in the
   * clients' pools for room (a full window is 16 calls on one to three connections).
   */
  private static final int[] CALL_LIMITS = {4, 16, FerryServerBuilder.DEFAULT_MAX_CONCURRENT_CALLS_PER_CONNECTION};

  private FerryServer startServer(int onPort, Duration maxAge, int maxCallsPerConnection) throws Exception {
    if (maxAge != null) {
      fault("server with a short max connection age");
    }
    if (maxCallsPerConnection < FerryServerBuilder.DEFAULT_MAX_CONCURRENT_CALLS_PER_CONNECTION) {
      fault("server allowing " + maxCallsPerConnection + " calls per connection");
    }
    IOException last = null;
    for (int attempt = 0; attempt < 20; attempt++) {
      FerryServerBuilder b = FerryServer.builder().host("127.0.0.1").port(onPort)
          .addService(service.definition())
          .maxConcurrentCallsPerConnection(maxCallsPerConnection)
          .heartbeatInterval(Duration.ofMillis(300))
          .heartbeatTimeout(Duration.ofMillis(1500))
          .minClientPingInterval(Duration.ofMillis(100));
      if (maxAge != null) {
        b.maxConnectionAge(maxAge).maxConnectionAgeGrace(Duration.ofSeconds(1));
      }
      try {
        return b.build().start();
      } catch (IOException e) {
        last = e; // the port is not free again yet: try again shortly
        new CountDownLatch(1).await(100, TimeUnit.MILLISECONDS);
      }
    }
    throw last;
  }

  private void fault(String what) {
    faults.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
    log.info("Chaos fault at {} s: {}", seconds(System.nanoTime()), what);
  }

  private <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  /** A set of call ids (0 to a fixed bound), thread-safe and compact: one bit each. */
  private static final class IdSet {
    private final AtomicLongArray bits;
    private final LongAdder size = new LongAdder();

    IdSet(long capacity) {
      bits = new AtomicLongArray((int) Math.min(Integer.MAX_VALUE - 8, (capacity >>> 6) + 1));
    }

    /** Adds {@code id}; false if it was there already. */
    boolean add(long id) {
      int index = (int) (id >>> 6);
      long bit = 1L << (id & 63);
      for (;;) {
        long word = bits.get(index);
        if ((word & bit) != 0) {
          return false;
        }
        if (bits.compareAndSet(index, word, word | bit)) {
          size.increment();
          return true;
        }
      }
    }

    long size() {
      return size.sum();
    }

    long countCommonWith(IdSet other) {
      long n = 0;
      for (int i = 0; i < Math.min(bits.length(), other.bits.length()); i++) {
        n += Long.bitCount(bits.get(i) & other.bits.get(i));
      }
      return n;
    }
  }

  /**
   * Echo methods that answer at once, later from another thread, or after blocking a handler thread
   * (all cut short by a cancel), and one that fails with the status the request names.
   */
  static final class ChaosService implements AutoCloseable {
    static final String NAME = "ferry.test.Chaos";
    static final MethodDescriptor<BytesValue, BytesValue> ECHO =
        MethodDescriptor.of(NAME + "/Echo", BytesValue.parser(), BytesValue.parser());
    /** Echoes after "x-delay-ms", completing a future from a scheduler thread. */
    static final MethodDescriptor<BytesValue, BytesValue> ASYNC_ECHO =
        MethodDescriptor.of(NAME + "/AsyncEcho", BytesValue.parser(), BytesValue.parser());
    /** Echoes after blocking its handler thread for "x-delay-ms" (or until cancelled). */
    static final MethodDescriptor<BytesValue, BytesValue> SLOW_ECHO =
        MethodDescriptor.of(NAME + "/SlowEcho", BytesValue.parser(), BytesValue.parser());
    /** Fails with the status named by "x-status". */
    static final MethodDescriptor<BytesValue, BytesValue> FAIL =
        MethodDescriptor.of(NAME + "/Fail", BytesValue.parser(), BytesValue.parser());
    /** Client stream: answers the chunks received, put together (Flow style: holds no thread). */
    static final MethodDescriptor<BytesValue, BytesValue> UPLOAD = MethodDescriptor.of(NAME + "/Upload",
        MethodDescriptor.Type.CLIENT_STREAMING, BytesValue.parser(), BytesValue.parser());
    /** Server stream: the request's payload in chunks (Flow style, pulled as the client grants credit). */
    static final MethodDescriptor<BytesValue, BytesValue> DOWNLOAD = MethodDescriptor.of(NAME + "/Download",
        MethodDescriptor.Type.SERVER_STREAMING, BytesValue.parser(), BytesValue.parser());

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "chaos-service");
      t.setDaemon(true);
      return t;
    });

    private final LongConsumer onHandled;

    /** @param onHandled told the call id (the payload's first 8 bytes) of each call whose handler runs */
    ChaosService(LongConsumer onHandled) {
      this.onHandled = onHandled;
    }

    private void handling(BytesValue request) {
      ByteString payload = request.getValue();
      if (payload.size() >= 8) {
        long id = 0;
        for (int i = 0; i < 8; i++) {
          id = (id << 8) | (payload.byteAt(i) & 0xff);
        }
        onHandled.accept(id);
      }
    }

    /** A streaming call's id, from its "x-call-id" metadata. */
    private void handling(Metadata metadata) {
      onHandled.accept(Long.parseLong(metadata.get("x-call-id")));
    }

    ServiceDefinition definition() {
      return ServiceDefinition.builder(NAME)
          .clientStreamingAsync(UPLOAD, (requests, ctx) -> {
            handling(ctx.metadata());
            CompletableFuture<BytesValue> reply = new CompletableFuture<>();
            requests.subscribe(new Flow.Subscriber<BytesValue>() {
              private ByteString all = ByteString.EMPTY;

              @Override
              public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(BytesValue chunk) {
                all = all.concat(chunk.getValue());
              }

              @Override
              public void onError(Throwable t) {
                reply.completeExceptionally(t);
              }

              @Override
              public void onComplete() {
                reply.complete(BytesValue.of(all));
              }
            });
            return reply;
          })
          .serverStreamingAsync(DOWNLOAD, (req, ctx) -> {
            handling(ctx.metadata());
            return new ChunkPublisher(req.getValue());
          })
          .unary(ECHO, (req, ctx) -> {
            handling(req);
            return req;
          })
          .unaryAsync(ASYNC_ECHO, (req, ctx) -> {
            handling(req);
            CompletableFuture<BytesValue> reply = new CompletableFuture<>();
            ScheduledFuture<?> task = scheduler.schedule(() -> reply.complete(req), delayMillis(ctx.metadata()),
                TimeUnit.MILLISECONDS);
            ctx.onCancel(() -> task.cancel(false));
            return reply;
          })
          .unary(SLOW_ECHO, (req, ctx) -> {
            handling(req);
            CountDownLatch cancelled = new CountDownLatch(1);
            ctx.onCancel(cancelled::countDown);
            if (cancelled.await(delayMillis(ctx.metadata()), TimeUnit.MILLISECONDS)) {
              throw new FerryException(StatusCode.CANCELLED, "cancelled while sleeping");
            }
            return req;
          })
          .unary(FAIL, (req, ctx) -> {
            handling(req);
            throw new FerryException(StatusCode.valueOf(ctx.metadata().get("x-status")), "chaos failure");
          })
          .build();
    }

    private static long delayMillis(Metadata metadata) {
      String value = metadata.get("x-delay-ms");
      return value == null ? 0 : Long.parseLong(value);
    }

    @Override
    public void close() {
      scheduler.shutdownNow();
    }
  }
}
