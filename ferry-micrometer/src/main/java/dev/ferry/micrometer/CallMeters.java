package dev.ferry.micrometer;

import dev.ferry.StatusCode;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The meters of one method on one side (and, on the client, one target). Durations are counted per
 * status in {@link Cells} and published as a {@link FunctionTimer} (count and total) per status seen;
 * with duration buckets configured, each call is also recorded in a {@link Timer} with that histogram.
 * Message sizes are byte totals ({@code ferry.*.request.bytes}, {@code ...response.bytes}); with size
 * buckets configured, also {@link DistributionSummary}s. Thread-safe; recording allocates nothing.
 */
class CallMeters {
  private static final StatusCode[] CODES = StatusCode.values();
  private static final int COUNT = 0;
  private static final int TOTAL = CODES.length;
  private static final int REQUEST_BYTES = 2 * CODES.length;
  private static final int RESPONSE_BYTES = REQUEST_BYTES + 1;
  /** Slots a subclass may use from here on. */
  static final int SLOTS = RESPONSE_BYTES + 1;

  final FerryMetrics metrics;
  final Cells cells;
  final int base;
  private final String side;
  private final Tags tags;
  /** Statuses whose meters exist; a plain array: a stale false only re-registers the same meter. */
  private final boolean[] registered = new boolean[CODES.length];
  private final AtomicReferenceArray<Timer> histograms; // null without duration buckets
  private final DistributionSummary requestSize; // null without size buckets
  private final DistributionSummary responseSize;
  private volatile StallMeters stalls; // created with the first stall

  /**
   * @param side {@code "server"} or {@code "client"}
   * @param tags the system, service and method (and target) tags
   * @param extraSlots slots for the subclass, after {@link #SLOTS}
   */
  CallMeters(FerryMetrics metrics, Cells cells, String side, Tags tags, int extraSlots) {
    this.metrics = metrics;
    this.cells = cells;
    this.side = side;
    this.tags = tags;
    this.base = cells.reserve(SLOTS + extraSlots);
    this.histograms = metrics.durationBuckets.length > 0 ? new AtomicReferenceArray<>(CODES.length) : null;
    FunctionCounter.builder("ferry." + side + ".request.bytes", this, m -> m.cells.sum(m.base + REQUEST_BYTES))
        .description("Bytes of request messages").baseUnit(BaseUnits.BYTES).tags(tags).register(metrics.registry);
    FunctionCounter.builder("ferry." + side + ".response.bytes", this, m -> m.cells.sum(m.base + RESPONSE_BYTES))
        .description("Bytes of response messages (OK responses)").baseUnit(BaseUnits.BYTES).tags(tags)
        .register(metrics.registry);
    if (metrics.sizeBuckets.length > 0) {
      requestSize = size("rpc." + side + ".request.size", "Size of request messages");
      responseSize = size("rpc." + side + ".response.size", "Size of response messages (OK responses)");
    } else {
      requestSize = null;
      responseSize = null;
    }
  }

  private DistributionSummary size(String name, String description) {
    return DistributionSummary.builder(name).description(description).baseUnit(BaseUnits.BYTES).tags(tags)
        .serviceLevelObjectives(metrics.sizeBuckets).register(metrics.registry);
  }

  /** Records a completed call on the calling thread's cell. */
  final void completed(Cells.Cell cell, StatusCode status, long nanos, long requestBytes, long responseBytes) {
    int i = status.ordinal();
    if (!registered[i]) {
      register(i);
    }
    cell.add(base + COUNT + i, 1);
    cell.add(base + TOTAL + i, nanos);
    cell.add(base + REQUEST_BYTES, requestBytes);
    if (status == StatusCode.OK) {
      cell.add(base + RESPONSE_BYTES, responseBytes);
    }
    if (histograms != null) {
      histogram(i).record(nanos, TimeUnit.NANOSECONDS);
    }
    if (requestSize != null) {
      requestSize.record(requestBytes);
      if (status == StatusCode.OK) {
        responseSize.record(responseBytes);
      }
    }
  }

  /** Records a call refused without a handler: it took no time and its sizes are unknown. */
  final void refused(Cells.Cell cell, StatusCode status) {
    int i = status.ordinal();
    if (!registered[i]) {
      register(i);
    }
    cell.add(base + COUNT + i, 1);
    if (histograms != null) {
      histogram(i).record(0, TimeUnit.NANOSECONDS);
    }
  }

  private Timer histogram(int i) {
    Timer t = histograms.get(i);
    if (t == null) {
      register(i);
      t = histograms.get(i);
    }
    return t;
  }

  /** The method's stall meters, registered on the first stall. */
  final StallMeters stalls() {
    StallMeters s = stalls;
    if (s == null) {
      synchronized (this) {
        s = stalls;
        if (s == null) {
          s = new StallMeters(metrics.registry, side, tags);
          stalls = s;
        }
      }
    }
    return s;
  }

  /** Calls completed so far, every status. */
  final long completed() {
    long n = 0;
    for (int i = 0; i < CODES.length; i++) {
      n += cells.sum(base + COUNT + i);
    }
    return n;
  }

  private synchronized void register(int i) {
    if (registered[i]) {
      return;
    }
    String name = "rpc." + side + ".call.duration";
    Tags withStatus = tags.and(FerryMetrics.STATUS_CODE, CODES[i].name());
    if (histograms != null) {
      // A real timer: the registry keeps the histogram (and the count, total and maximum) itself.
      histograms.set(i, Timer.builder(name).description("Duration of calls").tags(withStatus)
          .serviceLevelObjectives(metrics.durationBuckets).register(metrics.registry));
    } else {
      int count = base + COUNT + i;
      int total = base + TOTAL + i;
      FunctionTimer.builder(name, this, m -> m.cells.sum(count), m -> m.cells.sum(total), TimeUnit.NANOSECONDS)
          .description("Duration of calls").tags(withStatus).register(metrics.registry);
    }
    registered[i] = true;
  }
}
