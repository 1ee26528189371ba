package dev.ferry.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** Per-thread counters: sums over threads, growth past the first array, and threads that die. */
class CellsTest {
  @Test
  void sumsEveryThreadsCountsAndKeepsThoseOfThreadsThatDied() throws Exception {
    Cells cells = new Cells();
    int first = cells.reserve(1);
    int far = cells.reserve(500) + 499; // beyond a cell's first array: it grows
    CountDownLatch counted = new CountDownLatch(8);
    CountDownLatch finish = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      Thread thread = new Thread(() -> {
        for (int i = 1; i <= 1_000; i++) {
          cells.cell().add(first, i);
          cells.cell().add(far, 1);
        }
        counted.countDown();
        try {
          finish.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      threads.add(thread);
      thread.start();
    }
    counted.await();
    assertThat(cells.sum(first)).isEqualTo(8 * 500_500L);
    assertThat(cells.sum(far)).isEqualTo(8_000);
    assertThat(cells.liveCells()).isEqualTo(8);

    finish.countDown();
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(cells.sum(first)).as("the dead threads' counts are kept").isEqualTo(8 * 500_500L);
    assertThat(cells.sum(far)).isEqualTo(8_000);
    assertThat(cells.liveCells()).as("and their cells folded together").isZero();
    cells.cell().add(first, 1);
    assertThat(cells.sum(first)).isEqualTo(8 * 500_500L + 1);
  }
}
