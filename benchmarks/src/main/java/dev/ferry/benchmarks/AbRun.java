package dev.ferry.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A/B of two builds of the load benchmark: runs {@code A.jar} and {@code B.jar} one after the other in
 * fresh JVMs, with the same arguments, {@code --pairs} times (the order flips every pair, so neither
 * always runs first on a machine whose load drifts), and prints for every row and metric the median of
 * each side over its runs, the ratio B/A of the medians and the median and range of the pairwise ratios.
 * Run it with the same jar on both sides to see the noise band.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar dev.ferry.benchmarks.AbRun [--pairs N] [--java PATH]
 *       [--jvm-arg ARG]... A.jar B.jar -- [benchmark arguments, e.g. --rounds 1 --only ferry s2]
 * </pre>
 *
 * <p>Each child writes its results.json to a scratch directory, which this reads back (the format
 * {@link Report#writeJson} writes: one result per line). Runs on the calling thread.
 */
public final class AbRun {
  private static final Pattern ROW = Pattern.compile(
      "\\{\"scenario\": \"([^\"]*)\", \"config\": \"([^\"]*)\", \"system\": \"([^\"]*)\", \"metrics\": \\{(.*)\\}\\}");
  private static final Pattern METRIC = Pattern.compile("\"([a-z0-9_]+)\": \\{\"median\": ([-0-9.eE]+)");
  private static final List<String> SHOWN =
      List.of("qps", "qps_per_cpu_s", "p99_us", "p50_us", "bytes_per_call", "mb_per_s", "msgs_per_s",
          "msgs_per_cpu_s", "cores", "busiest_thread");

  private AbRun() {}

  public static void main(String[] args) throws Exception {
    int pairs = 4;
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> jvmArgs = new ArrayList<>();
    List<String> jars = new ArrayList<>();
    List<String> benchArgs = new ArrayList<>();
    int i = 0;
    for (; i < args.length && !args[i].equals("--"); i++) {
      switch (args[i]) {
        case "--pairs" -> pairs = Integer.parseInt(args[++i]);
        case "--java" -> java = args[++i];
        case "--jvm-arg" -> jvmArgs.add(args[++i]);
        default -> jars.add(args[i]);
      }
    }
    for (i++; i < args.length; i++) {
      benchArgs.add(args[i]);
    }
    if (jars.size() != 2) {
      throw new IllegalArgumentException("jars: " + jars + " (expected: A.jar B.jar)");
    }
    Path scratch = Files.createTempDirectory("ferry-ab");
    // key (scenario | config | system) -> metric -> the runs' medians, for A and for B
    Map<String, Map<String, List<Double>>> a = new LinkedHashMap<>();
    Map<String, Map<String, List<Double>>> b = new LinkedHashMap<>();
    for (int pair = 0; pair < pairs; pair++) {
      for (int k = 0; k < 2; k++) {
        boolean runA = (pair % 2 == 0) == (k == 0);
        String jar = jars.get(runA ? 0 : 1);
        Path out = scratch.resolve((runA ? "a" : "b") + pair + ".json");
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmArgs);
        command.add("-jar");
        command.add(jar);
        command.add("--out");
        command.add(out.toString());
        command.addAll(benchArgs);
        System.out.printf(Locale.ROOT, "pair %d/%d: %s %s%n", pair + 1, pairs, runA ? "A" : "B", jar);
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(scratch.resolve((runA ? "a" : "b") + pair + ".log").toFile()).start();
        int exit = p.waitFor();
        if (exit != 0) {
          throw new IllegalStateException(jar + " exited with " + exit + "; see " + scratch);
        }
        read(out, runA ? a : b);
      }
      print(a, b);
    }
    System.out.println("logs and results: " + scratch);
  }

  private static void read(Path file, Map<String, Map<String, List<Double>>> into) throws IOException {
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      Matcher row = ROW.matcher(line);
      if (!row.find()) {
        continue;
      }
      String key = row.group(1) + " | " + row.group(2) + " | " + row.group(3);
      Matcher m = METRIC.matcher(row.group(4));
      while (m.find()) {
        into.computeIfAbsent(key, x -> new LinkedHashMap<>())
            .computeIfAbsent(m.group(1), x -> new ArrayList<>()).add(Double.parseDouble(m.group(2)));
      }
    }
  }

  private static void print(Map<String, Map<String, List<Double>>> a, Map<String, Map<String, List<Double>>> b) {
    StringBuilder out = new StringBuilder();
    for (Map.Entry<String, Map<String, List<Double>>> row : a.entrySet()) {
      Map<String, List<Double>> other = b.get(row.getKey());
      if (other == null) {
        continue;
      }
      out.append(row.getKey()).append('\n');
      for (String metric : SHOWN) {
        List<Double> va = row.getValue().get(metric);
        List<Double> vb = other.get(metric);
        if (va == null || vb == null) {
          continue;
        }
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < Math.min(va.size(), vb.size()); i++) {
          ratios.add(va.get(i) == 0 ? Double.NaN : vb.get(i) / va.get(i));
        }
        Report.Value ma = Report.Value.of(va);
        Report.Value mb = Report.Value.of(vb);
        Report.Value r = Report.Value.of(ratios);
        out.append(String.format(Locale.ROOT,
            "  %-15s A %12.1f [%.1f..%.1f]  B %12.1f [%.1f..%.1f]  B/A %.3f  pairwise %.3f [%.3f..%.3f] n=%d%n",
            metric, ma.median(), ma.min(), ma.max(), mb.median(), mb.min(), mb.max(),
            ma.median() == 0 ? Double.NaN : mb.median() / ma.median(), r.median(), r.min(), r.max(), ratios.size()));
      }
    }
    System.out.print(out);
    System.out.flush();
  }
}
