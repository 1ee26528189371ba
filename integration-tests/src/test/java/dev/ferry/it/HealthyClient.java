package dev.ferry.it;

import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A well-behaved client that calls the server every few milliseconds while a test attacks it: small
 * echo calls with a 5 s deadline, each checked. Records failures and latencies; the test asserts on
 * the failures only (latencies are printed, for people). Bounded: at most {@link #MAX_CALLS} calls.
 */
final class HealthyClient implements AutoCloseable {
  private static final int MAX_CALLS = 50_000;

  private final FerryChannel channel;
  private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();
  private final AtomicLong calls = new AtomicLong();
  private final AtomicLong ok = new AtomicLong();
  private final List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
  private final List<Long> latencyMicros = Collections.synchronizedList(new ArrayList<>());
  private final Random random = new Random(5);
  private volatile boolean stopping;

  HealthyClient(int port) {
    channel = FerryChannel.builder("127.0.0.1", port).build();
    loop.scheduleWithFixedDelay(this::call, 0, 5, TimeUnit.MILLISECONDS);
    awaitMoreCalls(1);
  }

  private void call() {
    if (stopping || calls.incrementAndGet() > MAX_CALLS) {
      return;
    }
    byte[] body = new byte[64];
    random.nextBytes(body);
    long start = System.nanoTime();
    try {
      // Options built per call: a CallOptions timeout is fixed when built (issue 12, item 12).
      BytesValue reply = channel.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFrom(body)),
          CallOptions.builder().timeout(Duration.ofSeconds(5)).build());
      latencyMicros.add(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start));
      if (Arrays.equals(reply.getValue().toByteArray(), body)) {
        ok.incrementAndGet();
      } else {
        errors.add(new AssertionError("echo came back changed"));
      }
    } catch (Throwable t) {
      errors.add(t);
    }
  }

  /** Waits until {@code n} more calls than now have succeeded. */
  void awaitMoreCalls(int n) {
    long target = ok.get() + n;
    await().atMost(Duration.ofSeconds(20)).until(() -> ok.get() >= target || !errors.isEmpty());
  }

  List<Throwable> errors() {
    synchronized (errors) {
      return new ArrayList<>(errors);
    }
  }

  long succeeded() {
    return ok.get();
  }

  /** Latency percentiles so far, as text: "n calls, p50 .. ms, p99 .. ms, max .. ms". */
  String latencies() {
    long[] sorted;
    synchronized (latencyMicros) {
      sorted = latencyMicros.stream().mapToLong(Long::longValue).sorted().toArray();
    }
    if (sorted.length == 0) {
      return "no calls";
    }
    return String.format("%d calls, p50 %.1f ms, p99 %.1f ms, max %.1f ms", sorted.length,
        sorted[sorted.length / 2] / 1000.0, sorted[(int) (sorted.length * 0.99)] / 1000.0,
        sorted[sorted.length - 1] / 1000.0);
  }

  @Override
  public void close() {
    stopping = true;
    loop.shutdown();
    try {
      loop.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    channel.close();
  }
}
