package dev.ferry.benchmarks;

import java.lang.reflect.Method;
import java.util.Locale;

/**
 * Profiles only the measured blocks of a load run, with async-profiler, when asked:
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar:async-profiler-4.1.jar \
 *       -Dferry.bench.profile=event=cpu,interval=1ms,threads,collapsed,file=/tmp/ferry.collapsed \
 *       -Dferry.bench.profiler.lib=/path/to/linux-x64/libasyncProfiler.so \
 *       dev.ferry.benchmarks.LoadBenchmark --only ferry,netty-ceiling ... s2
 * </pre>
 *
 * <p>async-profiler rather than JFR, because JFR does not sample a thread while it runs native code,
 * and the system calls (read, writev, epoll_wait) are a large part of where this workload spends its
 * CPU; async-profiler's CPU samples include them, kernel frames and all. Warm-ups, set-up and
 * tear-down are not profiled: the profile covers exactly the calls counted, so samples divided by
 * calls is CPU per call. The profiler is reached by reflection: nothing here is needed to build or run
 * the benchmarks without it. Called from the load thread only.
 */
final class Profiling {
  private static final String OPTIONS = System.getProperty("ferry.bench.profile");
  private static Object profiler;
  private static Method execute;
  private static boolean started;
  private static long calls;
  private static double cpuSeconds;
  private static boolean suspended;

  private Profiling() {}

  /** While suspended (the warm-up), measured blocks are not profiled. */
  static void suspend(boolean suspend) {
    suspended = suspend;
  }

  /** A measured block starts. */
  static void resume() {
    if (OPTIONS == null || suspended) {
      return;
    }
    run((started ? "resume," : "start,") + OPTIONS);
    started = true;
  }

  /** A measured block ended, with {@code n} calls completed in {@code cpu} seconds of process CPU. */
  static void pause(long n, double cpu) {
    if (OPTIONS == null || suspended) {
      return;
    }
    run("stop");
    calls += n;
    cpuSeconds += cpu;
  }

  /** Writes the profile of every measured block (the file named in the options). */
  static void dump() {
    if (OPTIONS == null || !started) {
      return;
    }
    run("dump," + OPTIONS);
    System.out.printf(Locale.ROOT, "Profiled %d calls in %.2f s of process CPU (%.0f ns per call)%n", calls,
        cpuSeconds, calls == 0 ? 0 : cpuSeconds * 1e9 / calls);
  }

  private static void run(String command) {
    try {
      if (profiler == null) {
        Class<?> type = Class.forName("one.profiler.AsyncProfiler");
        String lib = System.getProperty("ferry.bench.profiler.lib");
        profiler = lib == null ? type.getMethod("getInstance").invoke(null)
            : type.getMethod("getInstance", String.class).invoke(null, lib);
        execute = type.getMethod("execute", String.class);
      }
      execute.invoke(profiler, command);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("async-profiler (" + command + "): " + e, e);
    }
  }
}
