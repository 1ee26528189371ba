package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.ferry.StatusCode;
import dev.ferry.client.EndpointStats.Verdict;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The per-endpoint latency estimate and failure counting, on a fake clock (times are arguments). */
class EndpointStatsTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  @Test
  void aSlowCallRaisesTheEstimateAtOnceAndFastOnesBringItDownOverTime() {
    EndpointStats stats = new EndpointStats(5, 1 * MS, 0);
    stats.record(0, 10 * MS, StatusCode.OK, true);
    assertThat(stats.latency(0)).isEqualTo(10.0 * MS); // peak: at once

    // A fast call right after barely moves it; after a decay time it has moved about 63% of the way.
    stats.record(1 * MS, 1 * MS, StatusCode.OK, true);
    assertThat(stats.latency(1 * MS)).isGreaterThan(9.9 * MS);
    stats.record(1 * MS + EndpointStats.DECAY_NANOS, 1 * MS, StatusCode.OK, true);
    assertThat(stats.latency(1 * MS + EndpointStats.DECAY_NANOS)).isCloseTo(1 * MS + 9.0 * MS / Math.E,
        within(0.1 * MS));
  }

  @Test
  void withoutSamplesTheEstimateDecaysTowardsZeroSoAnAvoidedServerIsTriedAgain() {
    EndpointStats stats = new EndpointStats(5, 0, 0);
    stats.record(0, 100 * MS, StatusCode.OK, true);
    assertThat(stats.latency(EndpointStats.DECAY_NANOS)).isCloseTo(100.0 * MS / Math.E, within(0.01 * MS));
    assertThat(stats.latency(10 * EndpointStats.DECAY_NANOS)).isLessThan(0.01 * MS);
  }

  @Test
  void theFifthFailureInARowCallsForAnEjectionOnceAndASuccessStartsTheCountAgain() {
    EndpointStats stats = new EndpointStats(5, 0, 0);
    for (int i = 0; i < 4; i++) {
      assertThat(stats.record(i, 1, StatusCode.UNAVAILABLE, true)).isEqualTo(Verdict.NONE);
    }
    assertThat(stats.record(4, 1, StatusCode.OK, true)).isEqualTo(Verdict.NONE);
    for (int i = 0; i < 4; i++) {
      assertThat(stats.record(5 + i, 1, StatusCode.UNAVAILABLE, false)).isEqualTo(Verdict.NONE);
    }
    assertThat(stats.record(9, 1, StatusCode.UNAVAILABLE, false)).isEqualTo(Verdict.EJECT);
    assertThat(stats.record(10, 1, StatusCode.UNAVAILABLE, false)).as("asked once").isEqualTo(Verdict.NONE);
  }

  @Test
  void onlyFailuresThatSaySomethingAboutTheServerCount() {
    assertThat(EndpointStats.isFailure(StatusCode.UNAVAILABLE, true)).isTrue();
    assertThat(EndpointStats.isFailure(StatusCode.UNAVAILABLE, false)).isTrue();
    assertThat(EndpointStats.isFailure(StatusCode.INTERNAL, false)).as("a response this side could not read").isTrue();
    assertThat(EndpointStats.isFailure(StatusCode.INTERNAL, true)).as("the application's own failure").isFalse();
    assertThat(EndpointStats.isFailure(StatusCode.NOT_FOUND, true)).isFalse();
    assertThat(EndpointStats.isFailure(StatusCode.DEADLINE_EXCEEDED, false)).isFalse();

    EndpointStats stats = new EndpointStats(2, 0, 0);
    stats.record(0, 1, StatusCode.INTERNAL, true);
    stats.record(1, 1, StatusCode.DEADLINE_EXCEEDED, false);
    stats.record(2, 1, StatusCode.CANCELLED, false);
    assertThat(stats.failuresInARow()).isZero();
    assertThat(stats.takeSuccessRate(1)).as("cancelled calls are not counted").isEqualTo(1.0);
  }

  @Test
  void theProbeIsClaimedOnceAndItsOutcomeDecides() {
    EndpointStats stats = new EndpointStats(5, 0, 0);
    stats.ejection(EndpointStats.Ejection.PROBE_READY);
    assertThat(stats.claimProbe()).isTrue();
    assertThat(stats.claimProbe()).isFalse();
    assertThat(stats.record(0, 1, StatusCode.CANCELLED, false)).isEqualTo(Verdict.NONE);
    assertThat(stats.ejection()).as("a cancelled probe lets the next call probe").isEqualTo(EndpointStats.Ejection.PROBE_READY);
    assertThat(stats.claimProbe()).isTrue();
    assertThat(stats.record(1, 1, StatusCode.OK, true)).isEqualTo(Verdict.PROBE_SUCCEEDED);
    stats.ejection(EndpointStats.Ejection.PROBING);
    assertThat(stats.record(2, 1, StatusCode.UNAVAILABLE, true)).isEqualTo(Verdict.PROBE_FAILED);
    stats.ejection(EndpointStats.Ejection.PROBING);
    assertThat(stats.record(3, 1, StatusCode.DEADLINE_EXCEEDED, false)).as("a hung server fails its probe")
        .isEqualTo(Verdict.PROBE_FAILED);
  }

  @Test
  void successRateIsOverTheCallsOfOneIntervalAndNeedsEnoughOfThem() {
    EndpointStats stats = new EndpointStats(0, 0, 0);
    for (int i = 0; i < 10; i++) {
      stats.record(i, 1, i < 7 ? StatusCode.UNAVAILABLE : StatusCode.OK, true);
    }
    assertThat(stats.takeSuccessRate(11)).isEqualTo(-1);
    for (int i = 0; i < 10; i++) {
      stats.record(i, 1, i < 7 ? StatusCode.UNAVAILABLE : StatusCode.OK, true);
    }
    assertThat(stats.takeSuccessRate(10)).isCloseTo(0.3, within(1e-9));
    assertThat(stats.takeSuccessRate(1)).as("a new interval").isEqualTo(-1);
  }
}
