package dev.ferry.cli;

import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code ferry bench HOST:PORT METHOD -d JSON}: a small load generator. Keeps {@code --concurrency} calls
 * in flight (closed loop) or sends {@code --rate} calls per second (open loop, at most
 * {@code --concurrency} in flight), for {@code --duration}, printing a progress line every second, then
 * the latency distribution and calls per second.
 *
 * <p>In open loop a call's latency counts from when it was due, not from when it could be sent, so a
 * server that falls behind is charged for the wait too (no coordinated omission).
 */
@Command(name = "bench", description = "Load-tests a method: closed loop (--concurrency) or fixed rate (--rate), "
    + "for --duration; prints progress, then latencies and calls/s.")
final class BenchCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The server.")
  String target;

  @Parameters(index = "1", paramLabel = "METHOD", description = "package.Service/Method")
  String method;

  @Option(names = {"-d", "--data"}, paramLabel = "JSON", defaultValue = "{}",
      description = "The request, as for call (default: {}).")
  String data;

  @Option(names = {"-c", "--concurrency"}, defaultValue = "16",
      description = "Calls in flight (closed loop), or at most in flight (with --rate); default ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(names = {"-r", "--rate"}, defaultValue = "0",
      description = "Calls per second to send; 0 (default) keeps --concurrency calls in flight instead.")
  double rate;

  @Option(names = {"-z", "--duration"}, paramLabel = "DURATION", converter = Durations.class, defaultValue = "10s",
      description = "How long to send calls (default ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(names = "--connections", defaultValue = "1", description = "Connections to use (default ${DEFAULT-VALUE}).")
  int connections;

  @Mixin
  ConnectionOptions connection;

  @Mixin
  SchemaOptions schemaOptions;

  private final Recorder recorder = new Recorder(3);
  private final Map<StatusCode, LongAdder> statuses = new EnumMap<>(StatusCode.class);
  private final AtomicLong completed = new AtomicLong();

  @Override
  public Integer call() throws Exception {
    if (concurrency < 1 || connections < 1 || rate < 0) {
      throw new CliException("--concurrency and --connections must be >= 1, --rate >= 0");
    }
    for (StatusCode c : StatusCode.values()) {
      statuses.put(c, new LongAdder());
    }
    Target t = Target.parse(target);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (FerryChannel channel = connection.open(t, connections)) {
      CallOptions options = connection.callOptions();
      MethodDescriptor m = schemaOptions.open(channel, options, t).method(method);
      DynamicMessage request = DynamicMethods.request(m, data, System.in);
      dev.ferry.MethodDescriptor<DynamicMessage, DynamicMessage> call = DynamicMethods.of(m);
      out.println("Calling " + call.fullName() + " on " + t + " for " + duration.toMillis() / 1000.0 + " s: "
          + (rate > 0 ? String.format(Locale.ROOT, "%.0f calls/s, at most %d in flight", rate, concurrency)
              : concurrency + " in flight") + ", " + connections + " connection(s)");
      out.flush();

      Semaphore inFlight = new Semaphore(concurrency);
      long start = System.nanoTime();
      long end = start + duration.toNanos();
      long period = rate > 0 ? (long) (1e9 / rate) : 0;
      long nextProgress = start + TimeUnit.SECONDS.toNanos(1);
      long lastCount = 0;
      Histogram interval = null;
      Histogram total = new Histogram(3);
      long sent = 0;
      for (;;) {
        long now = System.nanoTime();
        long due = period > 0 ? start + sent * period : now;
        if (due - end >= 0) {
          break;
        }
        if (now - nextProgress >= 0) {
          interval = recorder.getIntervalHistogram(interval);
          total.add(interval);
          lastCount = progress(err, start, now, lastCount, interval);
          nextProgress += TimeUnit.SECONDS.toNanos(1);
        }
        if (period > 0 && due - now > 0) {
          LockSupport.parkNanos(Math.min(due - now, nextProgress - now));
          continue;
        }
        if (!inFlight.tryAcquire(Math.max(1, nextProgress - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          continue; // no room yet: print progress on time, then wait on
        }
        sent++;
        long from = due;
        channel.call(call, request, options).whenComplete((response, error) -> {
          recorder.recordValue(Math.max(1, System.nanoTime() - from));
          statuses.get(error == null ? StatusCode.OK : statusOf(error)).increment();
          completed.incrementAndGet();
          inFlight.release();
        });
      }
      long stopped = System.nanoTime();
      // Every call sent is waited for: each ends within its deadline at the latest.
      inFlight.acquire(concurrency);
      total.add(recorder.getIntervalHistogram(interval));
      report(out, sent, (stopped - start) / 1e9, total);
      return 0;
    }
  }

  private static StatusCode statusOf(Throwable error) {
    Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    return e instanceof FerryException ? ((FerryException) e).code() : StatusCode.UNKNOWN;
  }

  /** One progress line; returns the count so far. */
  private long progress(PrintWriter err, long start, long now, long lastCount, Histogram lastSecond) {
    long count = completed.get();
    long errors = count - statuses.get(StatusCode.OK).sum();
    err.printf(Locale.ROOT, "%6.1f s  %,10d calls  %,9d calls/s  %,d errors  p50 %s  p99 %s%n",
        (now - start) / 1e9, count, count - lastCount, errors,
        lastSecond.getTotalCount() == 0 ? "-" : Durations.format(lastSecond.getValueAtPercentile(50)),
        lastSecond.getTotalCount() == 0 ? "-" : Durations.format(lastSecond.getValueAtPercentile(99)));
    err.flush();
    return count;
  }

  private void report(PrintWriter out, long sent, double seconds, Histogram h) {
    long count = completed.get();
    out.println();
    out.println("Summary:");
    out.printf(Locale.ROOT, "  calls:     %,d in %.2f s%n", count, seconds);
    out.printf(Locale.ROOT, "  rate:      %,.1f calls/s%n", count / seconds);
    if (h.getTotalCount() > 0) {
      out.printf(Locale.ROOT, "  latency:   min %s, mean %s, max %s%n", Durations.format(h.getMinValue()),
          Durations.format(h.getMean()), Durations.format(h.getMaxValue()));
      out.println();
      out.println("Latency distribution:");
      for (double p : new double[] {50, 90, 99, 99.9}) {
        out.printf(Locale.ROOT, "  p%-5s %s%n", p == (long) p ? Long.toString((long) p) : Double.toString(p),
            Durations.format(h.getValueAtPercentile(p)));
      }
      out.println();
      out.println("Latency histogram:");
      histogram(out, h);
    }
    out.println();
    out.println("Status codes:");
    statuses.forEach((code, n) -> {
      if (n.sum() > 0) {
        out.printf(Locale.ROOT, "  %-20s %,d%n", code, n.sum());
      }
    });
    if (sent != count) {
      out.printf(Locale.ROOT, "  (%,d sent, %,d completed)%n", sent, count);
    }
  }

  /**
   * Ten bars on a logarithmic scale from the fastest call to the slowest, each labelled with its upper
   * bound: latencies spread over orders of magnitude, and a linear scale would put nearly every call in
   * its first bar.
   */
  private static void histogram(PrintWriter out, Histogram h) {
    double min = Math.max(1, h.getMinValue());
    double max = Math.max(min * 1.01, h.getMaxValue());
    double ratio = Math.pow(max / min, 1.0 / 10);
    long[] buckets = new long[10];
    double[] bounds = new double[10];
    for (int i = 0; i < 10; i++) {
      bounds[i] = min * Math.pow(ratio, i + 1);
    }
    for (var v : h.recordedValues()) {
      int i = 0;
      while (i < 9 && h.highestEquivalentValue(v.getValueIteratedTo()) > bounds[i]) {
        i++;
      }
      buckets[i] += v.getCountAtValueIteratedTo();
    }
    long most = java.util.Arrays.stream(buckets).max().orElse(1);
    for (int i = 0; i < 10; i++) {
      int bar = (int) Math.round(40.0 * buckets[i] / Math.max(1, most));
      out.printf(Locale.ROOT, "  <= %-9s %,11d  %s%n", Durations.format(bounds[i]), buckets[i], "#".repeat(bar));
    }
  }
}
