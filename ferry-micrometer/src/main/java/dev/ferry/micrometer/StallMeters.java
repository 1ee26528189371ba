package dev.ferry.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Flow-control stalls of one method's streams on one side: stalls started, their durations, and the
 * streams stalled now. Created with the first stall of the method, so that methods that never stall
 * (every unary one) publish none of these meters. A stall is a rare event (a writer that waits for
 * credit has been blocked anyway), so plain Micrometer meters suffice. Thread-safe.
 */
final class StallMeters {
  private final Counter stalls;
  private final Timer durations;
  private final AtomicInteger stalled = new AtomicInteger();

  /** @param side {@code "server"} or {@code "client"} */
  StallMeters(MeterRegistry registry, String side, Tags tags) {
    String what = side.equals("server") ? "response" : "request";
    stalls = Counter.builder("ferry." + side + ".stream.stalls")
        .description("Stalls of " + what + " streams: a writer waited for the peer's flow-control credit")
        .tags(tags).register(registry);
    durations = Timer.builder("ferry." + side + ".stream.stall.duration")
        .description("How long " + what + " stream writers waited for credit, recorded when each stall ended")
        .tags(tags).register(registry);
    Gauge.builder("ferry." + side + ".streams.stalled", stalled, AtomicInteger::get)
        .description(what.substring(0, 1).toUpperCase() + what.substring(1)
            + " streams whose writer is waiting for credit now")
        .tags(tags).register(registry);
  }

  void started() {
    stalls.increment();
    stalled.incrementAndGet();
  }

  void ended(long nanos) {
    stalled.decrementAndGet();
    durations.record(nanos, TimeUnit.NANOSECONDS);
  }
}
