package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.StatusCode;
import dev.ferry.client.EndpointStats.Ejection;
import dev.ferry.internal.Settings;
import dev.ferry.internal.SystemTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Outlier ejection on a fake clock: which failures eject, for how long, the probe, the cap on how many
 * endpoints may be out at once. The endpoints here never connect: ejection is about call outcomes.
 */
class OutlierDetectorTest {
  private static final long MS = 1_000_000;

  private final FakeScheduler clock = new FakeScheduler();
  private final List<String> ejected = new ArrayList<>();
  private final AtomicReference<Double> random = new AtomicReference<>(0.5); // 0.5: no jitter

  private Balancer balancer(BalancerOptions options, int endpoints) {
    ChannelListener listener = new ChannelListener() {
      @Override
      public void endpointEjected(Endpoint endpoint, Duration duration) {
        ejected.add(endpoint.port() + " for " + duration.toMillis() + " ms");
      }
    };
    ClientConnection.Config config = new ClientConnection.Config("unused", 1, Settings.DEFAULTS, 1000, 1000,
        HeartbeatOptions.DEFAULT, false, HostResolver.SYSTEM, s -> {}, SystemTicker.INSTANCE,
        ChannelListeners.NONE, null);
    Balancer b = new Balancer("test", PoolOptions.DEFAULT, BackoffOptions.DEFAULT, options, true, clock,
        random::get, config::forEndpoint, (s, l) -> {
          throw new AssertionError("no connection in this test");
        }, () -> {}, listener);
    List<Endpoint> list = new ArrayList<>();
    for (int i = 1; i <= endpoints; i++) {
      list.add(Endpoint.of("127.0.0.1", 1000 + i));
    }
    b.updateEndpoints(list);
    return b;
  }

  private static Subchannel endpoint(Balancer b, int i) {
    synchronized (b) {
      return b.subchannels().get(i);
    }
  }

  private void fail(Balancer b, Subchannel s, int times) {
    for (int i = 0; i < times; i++) {
      b.record(s, clock.nanoTime(), MS, StatusCode.UNAVAILABLE, true);
    }
  }

  private void succeed(Balancer b, Subchannel s, int times) {
    for (int i = 0; i < times; i++) {
      b.record(s, clock.nanoTime(), MS, StatusCode.OK, true);
    }
  }

  @Test
  void fiveFailuresInARowEjectForTheBaseTimeThenOneProbeBringsItBack() {
    Balancer b = balancer(BalancerOptions.DEFAULT, 3);
    Subchannel a = endpoint(b, 0);
    fail(b, a, 4);
    assertThat(a.stats.ejection()).isEqualTo(Ejection.ACTIVE);
    fail(b, a, 1);
    assertThat(a.stats.ejection()).isEqualTo(Ejection.EJECTED);
    assertThat(ejected).containsExactly("1001 for 5000 ms");

    clock.advance(Duration.ofMillis(4_999));
    assertThat(a.stats.ejection()).isEqualTo(Ejection.EJECTED);
    clock.advance(Duration.ofMillis(1));
    assertThat(a.stats.ejection()).isEqualTo(Ejection.PROBE_READY);

    assertThat(a.stats.claimProbe()).isTrue();
    succeed(b, a, 1);
    assertThat(a.stats.ejection()).isEqualTo(Ejection.ACTIVE);
  }

  @Test
  void eachEjectionLastsTwiceTheLastUpToTheMaximumAndAFailedProbeEjectsAgain() {
    Balancer b = balancer(BalancerOptions.builder().maxEjectionTime(Duration.ofSeconds(30)).build(), 2);
    Subchannel a = endpoint(b, 0);
    fail(b, a, 5);
    List<String> expected = new ArrayList<>(List.of("1001 for 5000 ms"));
    for (long ms : new long[] {10_000, 20_000, 30_000, 30_000}) {
      clock.advance(Duration.ofMinutes(1));
      assertThat(a.stats.claimProbe()).isTrue();
      fail(b, a, 1);
      expected.add("1001 for " + ms + " ms");
    }
    assertThat(ejected).containsExactlyElementsOf(expected);
  }

  @Test
  void ejectionTimesAreJitteredByUpToTwentyPercentAndNeverPastTheMaximum() {
    random.set(0.0);
    Balancer b = balancer(BalancerOptions.builder().maxEjectionTime(Duration.ofSeconds(10)).build(), 2);
    Subchannel a = endpoint(b, 0);
    fail(b, a, 5);
    random.set(0.999_999);
    clock.advance(Duration.ofMinutes(1));
    a.stats.claimProbe();
    fail(b, a, 1); // 10 s, +20% would pass the maximum
    assertThat(ejected).containsExactly("1001 for 4000 ms", "1001 for 10000 ms");
  }

  @Test
  void atMostHalfOfTheEndpointsAreEjectedAtOnce() {
    Balancer b = balancer(BalancerOptions.DEFAULT, 3);
    fail(b, endpoint(b, 0), 5);
    fail(b, endpoint(b, 1), 5);
    assertThat(endpoint(b, 0).stats.ejection()).isEqualTo(Ejection.EJECTED);
    assertThat(endpoint(b, 1).stats.ejection()).as("1 of 3 may be out (50% rounded down)").isEqualTo(Ejection.ACTIVE);
    assertThat(ejected).containsExactly("1001 for 5000 ms");

    Balancer one = balancer(BalancerOptions.DEFAULT, 1);
    fail(one, endpoint(one, 0), 20);
    assertThat(endpoint(one, 0).stats.ejection()).as("the only endpoint is never ejected").isEqualTo(Ejection.ACTIVE);
  }

  @Test
  void aLowSuccessRateOverAnIntervalEjectsEvenWithoutFailuresInARow() {
    Balancer b = balancer(BalancerOptions.builder().minSuccessRate(0.9, 20).build(), 3);
    Subchannel c = endpoint(b, 2);
    for (int i = 0; i < 30; i++) {
      b.record(c, clock.nanoTime(), MS, i % 3 == 0 ? StatusCode.UNAVAILABLE : StatusCode.OK, true);
    }
    succeed(b, endpoint(b, 0), 30);
    assertThat(c.stats.ejection()).isEqualTo(Ejection.ACTIVE);
    clock.advance(BalancerOptions.DEFAULT_INTERVAL);
    assertThat(c.stats.ejection()).isEqualTo(Ejection.EJECTED);
    assertThat(endpoint(b, 0).stats.ejection()).isEqualTo(Ejection.ACTIVE);
    assertThat(ejected).containsExactly("1003 for 5000 ms");
  }

  @Test
  void pastEjectionsAreForgottenOneIntervalAtATime() {
    Balancer b = balancer(BalancerOptions.DEFAULT, 2);
    Subchannel a = endpoint(b, 0);
    fail(b, a, 5);
    clock.advance(Duration.ofSeconds(6));
    a.stats.claimProbe();
    succeed(b, a, 1);
    assertThat(a.stats.ejections).isEqualTo(1);
    clock.advance(BalancerOptions.DEFAULT_INTERVAL.multipliedBy(2));
    assertThat(a.stats.ejections).isZero();
    fail(b, a, 5);
    assertThat(ejected).containsExactly("1001 for 5000 ms", "1001 for 5000 ms");
  }

  @Test
  void aNewEndpointStartsAtItsPeersMedianLatency() {
    Balancer b = balancer(BalancerOptions.DEFAULT, 3);
    long now = clock.nanoTime();
    b.record(endpoint(b, 0), now, 2 * MS, StatusCode.OK, true);
    b.record(endpoint(b, 1), now, 4 * MS, StatusCode.OK, true);
    b.record(endpoint(b, 2), now, 9 * MS, StatusCode.OK, true);
    List<Endpoint> list = new ArrayList<>();
    for (Subchannel s : List.of(endpoint(b, 0), endpoint(b, 1), endpoint(b, 2))) {
      list.add(s.endpoint());
    }
    list.add(Endpoint.of("127.0.0.1", 2000));
    b.updateEndpoints(list);
    assertThat(endpoint(b, 3).stats.latency(now)).isEqualTo(4.0 * MS);
  }
}
