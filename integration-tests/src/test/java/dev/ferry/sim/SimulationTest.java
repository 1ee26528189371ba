package dev.ferry.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Runs the deterministic simulation (see {@link Simulation}) over many seeds. Each seed is one
 * schedule of calls, cancellations, time, byte deliveries and faults, on one thread and a fake clock,
 * so a failing seed replays exactly:
 *
 * <pre>
 *   mvn -B -ntp -pl integration-tests -am verify -Dtest=SimulationTest -Dsurefire.failIfNoSpecifiedTests=false \
 *       -Dferry.sim.seed=SEED
 * </pre>
 *
 * which prints the whole trace. By default seeds 1 to 2,000 run (a few seconds); {@code -Dferry.sim.seeds=N}
 * runs N of them from {@code -Dferry.sim.from} (default 1). Seeds that once found a bug stay below as
 * regressions.
 */
@Tag("simulation")
class SimulationTest {
  /**
   * Seeds that found bugs; each still runs, whatever range the properties select. 66 and 109 found the
   * double execution of the hardening issue (a call written but not flushed when the rest of the read
   * failed its connection was also sent elsewhere) with its fix reverted: a corrupt frame read with a
   * RESPONSE that freed a slot. 14, 1022 and 1122 found wait-for-ready calls failed as "not processed"
   * when a graceful restart or max connection age moved them more than three times (GOAWAY after
   * GOAWAY, refused connects); they are now sent again until their deadline.
   */
  private static final long[] REGRESSIONS = {66, 109, 14, 1022, 1122};

  @Test
  void everySeedKeepsEveryPromise() {
    String single = System.getProperty("ferry.sim.seed", "");
    if (!single.isBlank()) {
      Simulation.Result r = new Simulation(Long.parseLong(single)).run();
      r.trace().forEach(System.out::println);
      assertThat(r.violations()).as("violations of seed %s", single).isEmpty();
      return;
    }
    long from = Long.getLong("ferry.sim.from", 1);
    long count = Long.getLong("ferry.sim.seeds", 2_000);
    List<Long> seeds = new ArrayList<>();
    for (long s = from; s < from + count; s++) {
      seeds.add(s);
    }
    for (long s : REGRESSIONS) {
      seeds.add(s);
    }
    List<Simulation.Result> failed = new ArrayList<>();
    for (long seed : seeds) {
      Simulation.Result r = new Simulation(seed).run();
      if (!r.ok()) {
        failed.add(r);
      }
    }
    if (!failed.isEmpty()) {
      Simulation.Result first = failed.get(0);
      List<String> trace = first.trace();
      System.out.println("Seed " + first.seed() + " failed; the end of its trace:");
      trace.subList(Math.max(0, trace.size() - 200), trace.size()).forEach(System.out::println);
    }
    assertThat(failed).as("seeds that broke a promise (replay one with -Dferry.sim.seed=SEED; see the class "
        + "comment)").extracting(r -> r.seed() + ": " + r.violations()).isEmpty();
  }

  @Test
  void aSeedReplaysExactly() {
    Simulation.Result a = new Simulation(20261201).run();
    Simulation.Result b = new Simulation(20261201).run();
    assertThat(a.trace()).as("the same seed, the same run").isEqualTo(b.trace());
    assertThat(a.trace().size()).as("a run that did something").isGreaterThan(100);
  }
}
