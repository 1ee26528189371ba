package dev.ferry.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Collects results (one row per scenario, configuration and system) and prints them as a table and JSON. */
final class Report {
  /** One metric of one row: the median over rounds and the spread (min, max). */
  record Value(double median, double min, double max) {
    static Value of(List<Double> samples) {
      double[] s = samples.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
      return new Value(median, s[0], s[s.length - 1]);
    }

    /** Spread as +-% of the median. */
    double spreadPercent() {
      return median == 0 ? 0 : 100 * Math.max(max - median, median - min) / median;
    }
  }

  record Row(String scenario, String config, String system, Map<String, Value> metrics) {}

  private final List<Row> rows = new ArrayList<>();
  private final Map<String, String> environment = new LinkedHashMap<>();

  void environment(String key, String value) {
    environment.put(key, value);
  }

  void add(String scenario, String config, String system, Map<String, List<Double>> samples) {
    Map<String, Value> metrics = new LinkedHashMap<>();
    samples.forEach((k, v) -> metrics.put(k, Value.of(v)));
    rows.add(new Row(scenario, config, system, metrics));
  }

  List<Row> rows() {
    return rows;
  }

  private Value find(String scenario, String config, String system, String metric) {
    for (Row r : rows) {
      if (r.scenario.equals(scenario) && r.config.equals(config) && r.system.equals(system)) {
        return r.metrics.get(metric);
      }
    }
    return null;
  }

  /** Prints each scenario's rows with the ratios Ferry/gRPC and Ferry/ceiling on its key metric. */
  String table(Map<String, String> keyMetric) {
    StringBuilder out = new StringBuilder();
    String currentScenario = null;
    List<Row> sorted = new ArrayList<>(rows);
    List<String> order = new ArrayList<>(keyMetric.keySet());
    sorted.sort(java.util.Comparator.comparingInt(r -> order.indexOf(r.scenario))); // stable within a scenario
    for (Row r : sorted) {
      if (!r.scenario.equals(currentScenario)) {
        currentScenario = r.scenario;
        out.append('\n').append(r.scenario).append('\n');
      }
      out.append(String.format(Locale.ROOT, "  %-34s %-14s", r.config, r.system));
      r.metrics.forEach((k, v) -> out.append(String.format(Locale.ROOT, "  %s=%s(±%.0f%%)", k, fmt(v.median),
          v.spreadPercent())));
      String metric = keyMetric.get(r.scenario);
      if (metric != null && r.system.equals(BenchSystem.Kind.FERRY.label)) {
        Value ferry = r.metrics.get(metric);
        Value grpc = find(r.scenario, r.config, BenchSystem.Kind.GRPC.label, metric);
        Value ceiling = find(r.scenario, ceilingConfig(r.config), BenchSystem.Kind.CEILING.label, metric);
        if (ferry != null && grpc != null && grpc.median > 0) {
          out.append(String.format(Locale.ROOT, "  ferry/grpc=%.2f", ferry.median / grpc.median));
        }
        if (ferry != null && ceiling != null && ceiling.median > 0) {
          out.append(String.format(Locale.ROOT, "  ferry/ceiling=%.2f", ferry.median / ceiling.median));
        }
      }
      if (metric != null && !BenchSystem.Kind.CORE.stream().anyMatch(k -> k.label.equals(r.system))) {
        // S7's variants, against the plain system they vary.
        String base = r.system.startsWith("grpc") ? BenchSystem.Kind.GRPC.label : BenchSystem.Kind.FERRY.label;
        Value v = r.metrics.get(metric);
        Value plain = find(r.scenario, r.config, base, metric);
        if (v != null && plain != null && plain.median > 0) {
          out.append(String.format(Locale.ROOT, "  /%s=%.2f", base, v.median / plain.median));
        }
        Value grpcTls = find(r.scenario, r.config, BenchSystem.Kind.GRPC_TLS.label, metric);
        if (r.system.startsWith("ferry-tls") && v != null && grpcTls != null && grpcTls.median > 0) {
          out.append(String.format(Locale.ROOT, "  /grpc-tls=%.2f", v.median / grpcTls.median));
        }
      }
      out.append('\n');
    }
    return out.toString();
  }

  /** The ceiling has no executor choice: its row is labelled without one. */
  static String ceilingConfig(String config) {
    return config.replace(" direct", "").replace(" pooled", "");
  }

  private static String fmt(double v) {
    if (v >= 100_000) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (v >= 100) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    return String.format(Locale.ROOT, "%.3g", v);
  }

  void writeJson(Path file) throws IOException {
    StringBuilder j = new StringBuilder("{\n  \"environment\": {");
    int i = 0;
    for (Map.Entry<String, String> e : environment.entrySet()) {
      j.append(i++ == 0 ? "\n" : ",\n").append("    ").append(quote(e.getKey())).append(": ").append(quote(e.getValue()));
    }
    j.append("\n  },\n  \"results\": [");
    for (int r = 0; r < rows.size(); r++) {
      Row row = rows.get(r);
      j.append(r == 0 ? "\n" : ",\n").append("    {\"scenario\": ").append(quote(row.scenario))
          .append(", \"config\": ").append(quote(row.config)).append(", \"system\": ").append(quote(row.system))
          .append(", \"metrics\": {");
      int m = 0;
      for (Map.Entry<String, Value> e : row.metrics.entrySet()) {
        Value v = e.getValue();
        j.append(m++ == 0 ? "" : ", ").append(quote(e.getKey())).append(String.format(Locale.ROOT,
            ": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f}", v.median, v.min, v.max));
      }
      j.append("}}");
    }
    j.append("\n  ]\n}\n");
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, j.toString(), StandardCharsets.UTF_8);
  }

  private static String quote(String s) {
    StringBuilder q = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        q.append('\\').append(c);
      } else if (c < 0x20) {
        q.append(String.format("\\u%04x", (int) c));
      } else {
        q.append(c);
      }
    }
    return q.append('"').toString();
  }

  @Override
  public String toString() {
    return Arrays.toString(rows.toArray());
  }
}
