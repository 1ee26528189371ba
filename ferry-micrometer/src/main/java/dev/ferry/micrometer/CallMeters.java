package dev.ferry.micrometer;

import dev.ferry.StatusCode;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The meters of one method on one side (and, on the client, one target): a duration timer per status,
 * created on first use and kept, and the two size summaries. Thread-safe; recording allocates nothing.
 */
class CallMeters {
  private static final StatusCode[] CODES = StatusCode.values();

  private final FerryMetrics metrics;
  private final String durationName;
  private final Tags tags;
  private final AtomicReferenceArray<Timer> durations = new AtomicReferenceArray<>(CODES.length);
  private final DistributionSummary requestSize;
  private final DistributionSummary responseSize;

  /**
   * @param side {@code "server"} or {@code "client"}
   * @param tags the system, service and method (and target) tags
   */
  CallMeters(FerryMetrics metrics, String side, Tags tags) {
    this.metrics = metrics;
    this.durationName = "rpc." + side + ".call.duration";
    this.tags = tags;
    this.requestSize = size(metrics, "rpc." + side + ".request.size", "Size of request messages", tags);
    this.responseSize = size(metrics, "rpc." + side + ".response.size", "Size of response messages (OK responses)", tags);
  }

  private static DistributionSummary size(FerryMetrics metrics, String name, String description, Tags tags) {
    return DistributionSummary.builder(name)
        .description(description)
        .baseUnit(BaseUnits.BYTES)
        .tags(tags)
        .serviceLevelObjectives(metrics.sizeBuckets)
        .register(metrics.registry);
  }

  /** Records a completed call. */
  final void completed(StatusCode status, long nanos, long requestBytes, long responseBytes) {
    duration(status).record(nanos, TimeUnit.NANOSECONDS);
    requestSize.record(requestBytes);
    if (status == StatusCode.OK) {
      responseSize.record(responseBytes);
    }
  }

  /** Records a call refused without a handler: it took no time and its sizes are unknown. */
  final void refused(StatusCode status) {
    duration(status).record(0, TimeUnit.NANOSECONDS);
  }

  private Timer duration(StatusCode status) {
    int i = status.ordinal();
    Timer t = durations.get(i);
    if (t == null) {
      // Two threads may build it at once: the registry hands both the same timer.
      t = Timer.builder(durationName)
          .description("Duration of calls")
          .tags(tags)
          .tag(FerryMetrics.STATUS_CODE, CODES[i].name())
          .serviceLevelObjectives(metrics.durationBuckets)
          .register(metrics.registry);
      durations.set(i, t);
    }
    return t;
  }
}
