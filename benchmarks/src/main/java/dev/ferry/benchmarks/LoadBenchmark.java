package dev.ferry.benchmarks;

import com.google.protobuf.ByteString;
import dev.ferry.benchmarks.BenchSystem.Config;
import dev.ferry.benchmarks.BenchSystem.Executor;
import dev.ferry.benchmarks.BenchSystem.Kind;
import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.internal.Transports;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs the load scenarios of BENCHMARKS.md: Ferry, gRPC-java and a raw Netty ceiling side by side, in
 * this one JVM, alternating in short blocks over several rounds, and prints a table with the ratios
 * Ferry/gRPC and Ferry/ceiling; the same results go to {@code benchmarks/target/results.json}.
 *
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar [--quick] [--rounds N] [--out FILE] [--only SYSTEM[,SYSTEM]]
 *       [--warmup SECONDS] [--nio] [--conns 1,4] [--inflight 16,128,1024] [--sizes 0,1024] [--executors direct,pooled]
 *       [--large 64,1024] [--streams 1,16] [--stream-sizes 64,1024,65536] [--modes server,bidi]
 *       [s1 s2 s3 s4 s5 s6 s7 s8 s8-throughput s8-stalled s8-cancel s9 s10 s11]
 * </pre>
 *
 * <p>{@code --nio} runs every system on Java NIO instead of native epoll (Ferry and the ceiling through
 * the {@code ferry.transport.nio} property, gRPC through its own NIO classes). The S2 filters choose
 * which of its configurations run (for profiling and A/B runs); the defaults are the full set.
 */
public final class LoadBenchmark {
  private final boolean quick;
  private final int rounds;
  private final long warmupNanos;
  private final long measureNanos;
  private final Report report = new Report();
  /** Peak QPS per system at 1 connection x 128 in flight, 0 bytes, direct (from S2, for S3's rate). */
  private final Map<String, Double> peak = new LinkedHashMap<>();
  /** For profiling and A/B runs: run these systems only (--only ferry,netty-ceiling); null = all. */
  private Set<Kind> only;
  /** The same filter by label, for S8's systems (which include ferry-blocking); null = all. */
  private Set<String> onlyLabels;
  /** The JIT warm-up of each system before anything is measured (--warmup); below 0 = the mode's default. */
  private double warmupSeconds = -1;
  /** S2's configurations (--conns, --inflight, --sizes, --executors); null = the mode's default. */
  private int[] conns;
  private int[] inFlights;
  private int[] sizes;
  private List<Executor> executors;
  /** S4's payload sizes in KiB (--large 64,1024); null = both. */
  private int[] largeKib;
  /** S8's configurations (--streams 1,16, --stream-sizes 64,1024,65536, --modes server,bidi); null = all. */
  private int[] streamCounts;
  private int[] streamSizes;
  private List<StreamSystem.Mode> modes;

  private LoadBenchmark(boolean quick, int rounds) {
    this.quick = quick;
    this.rounds = rounds;
    this.warmupNanos = TimeUnit.MILLISECONDS.toNanos(quick ? 300 : 700);
    this.measureNanos = TimeUnit.MILLISECONDS.toNanos(quick ? 700 : 1_500);
  }

  public static void main(String[] args) throws Exception {
    boolean quick = false;
    int rounds = -1;
    Set<Kind> only = null;
    Set<String> onlyLabels = null;
    double warmupSeconds = -1;
    int[] conns = null;
    int[] inFlights = null;
    int[] sizes = null;
    int[] largeKib = null;
    int[] streamCounts = null;
    int[] streamSizes = null;
    List<StreamSystem.Mode> modes = null;
    List<Executor> executors = null;
    Path out = Path.of("benchmarks/target/results.json");
    Set<String> scenarios = new LinkedHashSet<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick":
          quick = true;
          break;
        case "--rounds":
          rounds = Integer.parseInt(args[++i]);
          break;
        case "--out":
          out = Path.of(args[++i]);
          break;
        case "--only":
          only = new LinkedHashSet<>();
          onlyLabels = new LinkedHashSet<>();
          for (String name : args[++i].split(",")) {
            String label = name.trim().toLowerCase(Locale.ROOT);
            if (streamKind(label) != null) {
              onlyLabels.add(label);
              if (!label.equals(StreamSystem.Kind.FERRY_BLOCKING.label)) {
                only.add(Kind.of(label));
              }
            } else {
              only.add(Kind.of(label));
              onlyLabels.add(Kind.of(label).label);
            }
          }
          break;
        case "--warmup":
          warmupSeconds = Double.parseDouble(args[++i]);
          break;
        case "--nio":
          // Before anything reads it: Transports decides once, when its class is loaded.
          System.setProperty("ferry.transport.nio", "true");
          break;
        case "--conns":
          conns = ints(args[++i]);
          break;
        case "--inflight":
          inFlights = ints(args[++i]);
          break;
        case "--sizes":
          sizes = ints(args[++i]);
          break;
        case "--large":
          largeKib = ints(args[++i]);
          break;
        case "--streams":
          streamCounts = ints(args[++i]);
          break;
        case "--stream-sizes":
          streamSizes = ints(args[++i]);
          break;
        case "--modes":
          modes = new ArrayList<>();
          for (String name : args[++i].split(",")) {
            switch (name.trim().toLowerCase(Locale.ROOT)) {
              case "server" -> modes.add(StreamSystem.Mode.SERVER_STREAM);
              case "bidi" -> modes.add(StreamSystem.Mode.BIDI);
              default -> throw new IllegalArgumentException("--modes: " + name + " (expected: server, bidi)");
            }
          }
          break;
        case "--executors":
          executors = new ArrayList<>();
          for (String name : args[++i].split(",")) {
            executors.add(Executor.valueOf(name.trim().toUpperCase(Locale.ROOT)));
          }
          break;
        default:
          scenarios.add(args[i].toLowerCase(Locale.ROOT));
      }
    }
    if (scenarios.isEmpty()) {
      scenarios.addAll(List.of("s1", "s2", "s3", "s4", "s5", "s6", "s7"));
    }
    LoadBenchmark bench = new LoadBenchmark(quick, rounds > 0 ? rounds : quick ? 1 : 3);
    bench.only = only;
    bench.onlyLabels = onlyLabels;
    bench.warmupSeconds = warmupSeconds;
    bench.conns = conns;
    bench.inFlights = inFlights;
    bench.sizes = sizes;
    bench.executors = executors;
    bench.largeKib = largeKib;
    bench.streamCounts = streamCounts;
    bench.streamSizes = streamSizes;
    bench.modes = modes;
    bench.run(scenarios, out);
  }

  private static int[] ints(String list) {
    return java.util.Arrays.stream(list.split(",")).mapToInt(v -> Integer.parseInt(v.trim())).toArray();
  }

  private boolean runs(Kind kind) {
    return only == null || only.contains(kind);
  }

  private boolean runs(StreamSystem.Kind kind) {
    return onlyLabels == null || onlyLabels.contains(kind.label);
  }

  private static StreamSystem.Kind streamKind(String label) {
    for (StreamSystem.Kind k : StreamSystem.Kind.values()) {
      if (k.label.equals(label)) {
        return k;
      }
    }
    return null;
  }

  private void run(Set<String> scenarios, Path out) throws Exception {
    long started = System.nanoTime();
    report.environment("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    report.environment("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
    report.environment("transport", Transports.nativeEpoll() ? "epoll" : "nio");
    report.environment("mode", quick ? "quick" : "full");
    report.environment("rounds", Integer.toString(rounds));
    System.out.printf("Ferry load benchmark (%s, %d round(s), %s transport, %d cores)%n", quick ? "quick" : "full",
        rounds, Transports.nativeEpoll() ? "epoll" : "nio", Runtime.getRuntime().availableProcessors());
    warmUp();
    if (scenarios.contains("s1")) {
      s1Latency();
    }
    if (scenarios.contains("s2") || scenarios.contains("s6") || scenarios.contains("s3")) {
      s2Throughput(scenarios.contains("s2"));
    }
    if (scenarios.contains("s3")) {
      s3OpenLoop();
    }
    if (scenarios.contains("s4")) {
      s4LargePayloads();
    }
    if (scenarios.contains("s7")) {
      s7TlsAndInterceptors();
    }
    if (scenarios.contains("s5")) {
      s5IdleCost();
    }
    // s8 runs all three parts; s8-throughput, s8-stalled and s8-cancel one each.
    if (scenarios.contains("s8") || scenarios.contains("s8-throughput")) {
      s8Streaming();
    }
    if (scenarios.contains("s8") || scenarios.contains("s8-stalled")) {
      s8StalledStreams();
    }
    if (scenarios.contains("s8") || scenarios.contains("s8-cancel")) {
      s8CancelLatency();
    }
    if (scenarios.contains("s9")) {
      s9BlockingHandlers();
    }
    if (scenarios.contains("s10")) {
      s10Metrics();
    }
    if (scenarios.contains("s11")) {
      s11ManyServers();
    }
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("S1 ping-pong latency", "p50_us");
    keys.put("S2 closed-loop throughput", "qps");
    keys.put("S3 open loop", "p99_us");
    keys.put("S4 large payloads", "mb_per_s");
    keys.put("S5 idle cost", "cpu_s_per_min_per_conn");
    keys.put("S6 allocation per call", "bytes_per_call");
    keys.put("S7 TLS and interceptors", "qps");
    keys.put("S8 streaming throughput", "msgs_per_s");
    keys.put("S8 unary beside stalled streams", "p99_us");
    keys.put("S8 cancel latency", "p99_us");
    keys.put("S9 blocking handlers", "qps");
    keys.put("S10 metrics installed", "qps");
    keys.put("S11 many servers", "qps");
    System.out.println(report.table(keys));
    report.environment("seconds", String.format(Locale.ROOT, "%.0f", (System.nanoTime() - started) / 1e9));
    report.writeJson(out);
    Profiling.dump();
    System.out.printf("Results written to %s (%.0f s)%n", out, (System.nanoTime() - started) / 1e9);
  }

  private static Payload payload(int size) {
    return Payload.newBuilder().setData(ByteString.copyFrom(new byte[size])).build();
  }

  /** JIT warm-up of every system's hot path before anything is measured. */
  private void warmUp() throws Exception {
    long nanos = warmupSeconds >= 0 ? (long) (warmupSeconds * 1e9) : TimeUnit.SECONDS.toNanos(quick ? 1 : 3);
    for (Kind kind : Kind.CORE) {
      if (!runs(kind)) {
        continue;
      }
      for (boolean direct : new boolean[] {true, false}) {
        try (BenchSystem system = kind.start(new Config(1, direct, false))) {
          // Both payload shapes: a 1 KiB body takes paths (copies, parsing) that an empty one does not.
          Profiling.suspend(true);
          Load.closedLoop(system, payload(0), 128, nanos / 4, nanos / 4);
          Load.closedLoop(system, payload(1024), 128, nanos / 4, nanos / 4);
        } finally {
          Profiling.suspend(false);
        }
      }
    }
  }

  /** Runs {@code shape} for each system in alternating blocks over the rounds; returns samples per system. */
  private Map<String, Map<String, List<Double>>> alternate(List<Kind> kinds, Config config, Block shape)
      throws Exception {
    Map<String, Map<String, List<Double>>> samples = new LinkedHashMap<>();
    for (int round = 0; round < rounds; round++) {
      for (Kind kind : kinds) {
        if (!runs(kind)) {
          continue;
        }
        try (BenchSystem system = kind.start(config)) {
          Map<String, Double> metrics = shape.run(system);
          Map<String, List<Double>> forSystem = samples.computeIfAbsent(kind.label, k -> new LinkedHashMap<>());
          metrics.forEach((k, v) -> forSystem.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
        }
      }
    }
    return samples;
  }

  @FunctionalInterface
  private interface Block {
    Map<String, Double> run(BenchSystem system) throws Exception;
  }

  private static Map<String, Double> latencyMetrics(Measurement m) {
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("p50_us", m.p50Micros());
    out.put("p99_us", m.p99Micros());
    out.put("p999_us", m.p999Micros());
    out.put("errors", (double) m.errors());
    return out;
  }

  private void s1Latency() throws Exception {
    for (int size : new int[] {0, 1024}) {
      Payload p = payload(size);
      Config config = new Config(1, true, false);
      String label = String.format("1 conn, 1 in flight, %dB", size);
      Map<String, Map<String, List<Double>>> samples = alternate(Kind.CORE, config,
          system -> latencyMetrics(Load.closedLoop(system, p, 1, warmupNanos, measureNanos)));
      samples.forEach((system, metrics) -> report.add("S1 ping-pong latency", label, system, metrics));
      printProgress("S1", label);
    }
  }

  private void s2Throughput(boolean all) throws Exception {
    int[] connections = this.conns != null ? this.conns : all && !quick ? new int[] {1, 4} : new int[] {1};
    int[] inFlights = this.inFlights != null ? this.inFlights
        : all && !quick ? new int[] {16, 128, 1024} : new int[] {128};
    int[] sizes = this.sizes != null ? this.sizes : all ? new int[] {0, 1024} : new int[] {0};
    List<Executor> executors = this.executors != null ? this.executors : List.of(Executor.DIRECT, Executor.POOLED);
    for (int conns : connections) {
      for (int inFlight : inFlights) {
        for (int size : sizes) {
          Payload p = payload(size);
          String base = String.format("%d conn x %d in flight, %dB", conns, inFlight, size);
          for (Executor executor : executors) {
            boolean direct = executor == Executor.DIRECT;
            Config config = new Config(conns, executor, false, 0);
            List<Kind> kinds = direct ? Kind.CORE
                : executor == Executor.VIRTUAL ? List.of(Kind.FERRY) : List.of(Kind.FERRY, Kind.GRPC);
            Map<String, Map<String, List<Double>>> samples = alternate(kinds, config, system -> {
              Measurement m = Load.closedLoop(system, p, inFlight, warmupNanos, measureNanos);
              Map<String, Double> out = new LinkedHashMap<>();
              out.put("qps", m.qps());
              out.put("qps_per_cpu_s", m.qpsPerCpuSecond());
              out.put("p99_us", m.p99Micros());
              out.put("bytes_per_call", m.bytesPerCall());
              out.put("cores", m.cores());
              out.put("busiest_thread", m.busiestThread());
              out.put("errors", (double) m.errors());
              return out;
            });
            String label = base + " " + config.executorName();
            for (Map.Entry<String, Map<String, List<Double>>> e : samples.entrySet()) {
              String rowLabel = e.getKey().equals(Kind.CEILING.label) ? base : label;
              report.add("S2 closed-loop throughput", rowLabel, e.getKey(), e.getValue());
              if (conns == 1 && inFlight == 128 && size == 0) {
                Map<String, List<Double>> alloc = new LinkedHashMap<>();
                alloc.put("bytes_per_call", e.getValue().get("bytes_per_call"));
                report.add("S6 allocation per call", rowLabel, e.getKey(), alloc);
                if (direct) {
                  peak.put(e.getKey(), Report.Value.of(e.getValue().get("qps")).median());
                }
              }
            }
            printProgress("S2", label);
          }
        }
      }
    }
  }

  /**
   * Ferry plaintext, with a pass-through interceptor on each side, and over TLS with each provider;
   * gRPC plaintext and over TLS: 1 connection x 128 in flight, 0 B, 1 KiB and 16 KiB, direct executors
   * (at 16 KiB encryption, not per-call overhead, dominates).
   */
  private void s7TlsAndInterceptors() throws Exception {
    List<Kind> kinds = new ArrayList<>(List.of(Kind.FERRY, Kind.FERRY_INTERCEPTED, Kind.FERRY_TLS_JDK));
    if (io.netty.handler.ssl.OpenSsl.isAvailable()) {
      kinds.add(Kind.FERRY_TLS_OPENSSL);
    } else {
      System.out.println("  (OpenSSL not available here: no ferry-tls-openssl row)");
    }
    kinds.add(Kind.GRPC);
    kinds.add(Kind.GRPC_TLS);
    for (int size : new int[] {0, 1024, 16 * 1024}) {
      Payload p = payload(size);
      Config config = new Config(1, true, false);
      String label = String.format("1 conn x 128 in flight, %dB direct", size);
      Map<String, Map<String, List<Double>>> samples = alternate(kinds, config, system -> {
        Measurement m = Load.closedLoop(system, p, 128, warmupNanos, measureNanos);
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("qps", m.qps());
        out.put("qps_per_cpu_s", m.qpsPerCpuSecond());
        out.put("p99_us", m.p99Micros());
        out.put("errors", (double) m.errors());
        return out;
      });
      samples.forEach((system, metrics) -> report.add("S7 TLS and interceptors", label, system, metrics));
      printProgress("S7", label);
    }
  }

  // ---- S8 streaming ----

  /** S8's message sizes in bytes (the Payload's data; its encoding adds 2 or 3 bytes). */
  private static final int[] S8_SIZES = {64, 1024, 64 * 1024};
  /** S8's concurrent streams on the one connection. */
  private static final int[] S8_STREAMS = {1, 16};

  /**
   * Server streams and bidirectional echoes of 64 B, 1 KiB and 64 KiB messages, 1 and 16 streams on
   * one connection, each system in turn in alternating blocks over the rounds: messages per second
   * received by the client, MB/s of message data, messages per CPU-second of the whole process.
   */
  private void s8Streaming() throws Exception {
    List<StreamSystem.Kind> kinds = new ArrayList<>();
    for (StreamSystem.Kind kind : StreamSystem.Kind.ALL) {
      if (runs(kind)) {
        kinds.add(kind);
      }
    }
    // JIT warm-up of each system's streaming paths, both shapes.
    long warm = warmupSeconds >= 0 ? (long) (warmupSeconds * 1e9) : TimeUnit.SECONDS.toNanos(quick ? 1 : 2);
    Profiling.suspend(true);
    try {
      for (StreamSystem.Kind kind : kinds) {
        try (StreamSystem system = kind.start()) {
          for (StreamSystem.Mode mode : StreamSystem.Mode.values()) {
            StreamLoad.run(system, mode, 4, payload(1024), warm / 4, warm / 4);
          }
        }
      }
    } finally {
      Profiling.suspend(false);
    }
    for (StreamSystem.Mode mode : modes != null ? modes : List.of(StreamSystem.Mode.values())) {
      for (int streams : streamCounts != null ? streamCounts : S8_STREAMS) {
        for (int size : streamSizes != null ? streamSizes : S8_SIZES) {
          Payload p = payload(size);
          String label = String.format(Locale.ROOT, "%s, %d stream%s, %s", mode.label, streams,
              streams == 1 ? "" : "s", size >= 1024 ? size / 1024 + " KiB" : size + " B");
          Map<String, Map<String, List<Double>>> samples = new LinkedHashMap<>();
          for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < kinds.size(); i++) {
              StreamSystem.Kind kind = kinds.get((round + i) % kinds.size()); // no system always first
              try (StreamSystem system = kind.start()) {
                Measurement m = StreamLoad.run(system, mode, streams, p, warmupNanos, measureNanos);
                Map<String, List<Double>> forSystem = samples.computeIfAbsent(kind.label, k -> new LinkedHashMap<>());
                forSystem.computeIfAbsent("msgs_per_s", k -> new ArrayList<>()).add(m.qps());
                forSystem.computeIfAbsent("mb_per_s", k -> new ArrayList<>()).add(m.qps() * size / 1e6);
                forSystem.computeIfAbsent("msgs_per_cpu_s", k -> new ArrayList<>()).add(m.qpsPerCpuSecond());
                forSystem.computeIfAbsent("cores", k -> new ArrayList<>()).add(m.cores());
                forSystem.computeIfAbsent("busiest_thread", k -> new ArrayList<>()).add(m.busiestThread());
                forSystem.computeIfAbsent("bytes_per_msg", k -> new ArrayList<>()).add(m.bytesPerCall());
                forSystem.computeIfAbsent("errors", k -> new ArrayList<>()).add((double) m.errors());
              }
            }
          }
          for (StreamSystem.Kind kind : kinds) {
            report.add("S8 streaming throughput", label, kind.label, samples.get(kind.label));
          }
          printProgress("S8", label);
        }
      }
    }
  }

  /**
   * Unary calls beside 1,000 stalled server streams on the same connection: Ferry's unary p99 at
   * 1 connection x 16 and x 128 in flight (0 B, direct executors), first alone, then with 1,000 server
   * streams open whose client never reads (each holding a full window at the client; the server's
   * publishers waiting for credit) - the order flipping every round. Two windows: 64 KiB with 1 KiB
   * messages, and Ferry's default 1 MiB with 64 KiB messages (1,000 x 1 MiB held by the client).
   */
  private void s8StalledStreams() throws Exception {
    if (!runs(StreamSystem.Kind.FERRY)) {
      return;
    }
    int stalled = 1_000;
    String with = "ferry+" + stalled + "-stalled";
    int[][] windowsAndSizes = {{64 * 1024, 1024}, {1024 * 1024, 64 * 1024}};
    Payload unary = payload(0);
    for (int[] ws : windowsAndSizes) {
      int window = ws[0];
      Payload message = payload(ws[1]);
      Map<Integer, Map<String, Map<String, List<Double>>>> byInFlight = new LinkedHashMap<>();
      for (int round = 0; round < rounds; round++) {
        try (FerryStreams system = FerryStreams.start(FerryStreams.Style.FLOW, window)) {
          Load.closedLoop(system, unary, 128, warmupNanos, measureNanos); // warm this system's unary path
          for (int pass = 0; pass < 2; pass++) {
            boolean withStalled = (pass == 0) == (round % 2 == 1);
            StreamSystem.Streams streams = withStalled
                ? system.openStalled(stalled, message, window, java.time.Duration.ofSeconds(60)) : null;
            // The messages the stalled streams hold at the client (1,000 windows) were just allocated:
            // the young collections that would copy them to the old generation took 100-150 ms each
            // here (both sides share this JVM), a one-off that would land in whichever block came
            // first. Collected here, before either pass, it lands in neither.
            System.gc();
            try {
              for (int inFlight : new int[] {16, 128}) {
                Measurement m = Load.closedLoop(system, unary, inFlight, warmupNanos, measureNanos);
                Map<String, List<Double>> metrics = byInFlight.computeIfAbsent(inFlight, k -> new LinkedHashMap<>())
                    .computeIfAbsent(withStalled ? with : "ferry", k -> new LinkedHashMap<>());
                metrics.computeIfAbsent("p50_us", k -> new ArrayList<>()).add(m.p50Micros());
                metrics.computeIfAbsent("p99_us", k -> new ArrayList<>()).add(m.p99Micros());
                metrics.computeIfAbsent("p999_us", k -> new ArrayList<>()).add(m.p999Micros());
                metrics.computeIfAbsent("qps", k -> new ArrayList<>()).add(m.qps());
                metrics.computeIfAbsent("errors", k -> new ArrayList<>()).add((double) m.errors());
              }
            } finally {
              if (streams != null) {
                streams.stop();
              }
            }
          }
        }
      }
      for (Map.Entry<Integer, Map<String, Map<String, List<Double>>>> e : byInFlight.entrySet()) {
        String label = String.format(Locale.ROOT, "1 conn x %d in flight, 0B; window %d KiB, %d KiB msgs",
            e.getKey(), window / 1024, ws[1] / 1024);
        Map<String, List<Double>> alone = e.getValue().get("ferry");
        Map<String, List<Double>> beside = e.getValue().get(with);
        report.add("S8 unary beside stalled streams", label, "ferry", alone);
        report.add("S8 unary beside stalled streams", label, with, beside);
        System.out.printf(Locale.ROOT, "  S8 %s: unary p99 %.0f us beside %d stalled streams vs %.0f us alone: "
            + "%.2fx (pairwise %s; goal <= 2x)%n", label, median(beside.get("p99_us")), stalled,
            median(alone.get("p99_us")), ratio(beside, alone, "p99_us"),
            pairwise(beside.get("p99_us"), alone.get("p99_us")));
        printProgress("S8", label);
      }
    }
  }

  /**
   * How long a client's cancel takes to reach the server's handler: a server stream of 1 KiB messages
   * (Flow publisher on the event loop) is opened, its first message read with a StreamReader, then the
   * reader is closed; the time to the handler's cancellation listener and to the cancel of its
   * publisher's subscription (production stops) are recorded, beside the round trip of a 1-byte unary
   * call on the same connection measured just before each sample. At Ferry's default window (1 MiB)
   * and at 64 KiB: the cancel is read behind whatever the server is still sending, up to one window.
   */
  private void s8CancelLatency() throws Exception {
    if (!runs(StreamSystem.Kind.FERRY)) {
      return;
    }
    for (int window : new int[] {1024 * 1024, 64 * 1024}) {
      s8CancelLatency(window);
    }
  }

  private void s8CancelLatency(int window) throws Exception {
    int samples = quick ? 200 : 1_000;
    Payload oneByte = payload(1);
    Payload message = payload(1024);
    String label = String.format(Locale.ROOT, "1 conn, 1 KiB server stream, window %d KiB, %d samples/round",
        window / 1024, samples);
    Map<String, Map<String, List<Double>>> rows = new LinkedHashMap<>();
    for (int round = 0; round < rounds; round++) {
      try (FerryStreams system = FerryStreams.start(FerryStreams.Style.FLOW, window)) {
        for (int i = 0; i < samples / 4; i++) { // warm-up
          system.unaryRoundTrip(oneByte);
          system.cancelSample(message);
        }
        org.HdrHistogram.Histogram rtt = new org.HdrHistogram.Histogram(3);
        org.HdrHistogram.Histogram listener = new org.HdrHistogram.Histogram(3);
        org.HdrHistogram.Histogram stopped = new org.HdrHistogram.Histogram(3);
        for (int i = 0; i < samples; i++) {
          rtt.recordValue(Math.max(1, system.unaryRoundTrip(oneByte)));
          long[] c = system.cancelSample(message);
          listener.recordValue(Math.max(1, c[0]));
          stopped.recordValue(Math.max(1, c[1]));
        }
        addLatency(rows, "ferry-unary-rtt-1B", rtt);
        addLatency(rows, "ferry-cancel-to-listener", listener);
        addLatency(rows, "ferry-cancel-to-producer", stopped);
      }
    }
    rows.forEach((system, metrics) -> report.add("S8 cancel latency", label, system, metrics));
    double rttP99 = median(rows.get("ferry-unary-rtt-1B").get("p99_us"));
    for (String s : List.of("ferry-cancel-to-listener", "ferry-cancel-to-producer")) {
      double p50 = median(rows.get(s).get("p50_us"));
      double p99 = median(rows.get(s).get("p99_us"));
      System.out.printf(Locale.ROOT, "  S8 %s, window %d KiB: p50 %.0f us, p99 %.0f us; unary RTT p50 %.0f us, "
          + "p99 %.0f us; goal p99 <= RTT p99 + 10 ms: %s%n", s, window / 1024, p50, p99,
          median(rows.get("ferry-unary-rtt-1B").get("p50_us")),
          rttP99, p99 <= rttP99 + 10_000 ? "met" : "missed");
    }
    printProgress("S8", label);
  }

  private static void addLatency(Map<String, Map<String, List<Double>>> rows, String system,
      org.HdrHistogram.Histogram h) {
    Map<String, List<Double>> m = rows.computeIfAbsent(system, k -> new LinkedHashMap<>());
    m.computeIfAbsent("p50_us", k -> new ArrayList<>()).add(h.getValueAtPercentile(50) / 1e3);
    m.computeIfAbsent("p99_us", k -> new ArrayList<>()).add(h.getValueAtPercentile(99) / 1e3);
    m.computeIfAbsent("max_us", k -> new ArrayList<>()).add(h.getMaxValue() / 1e3);
  }

  /**
   * Handlers that block (a 1 ms sleep, as one waiting for a database): Ferry's default handler pool
   * against a virtual thread per call passed through {@code executor(...)} (Java 21+; skipped on older
   * JVMs). 1 connection x 128 and x 1,024 in flight, 0 B. No target: it shows what the choice is worth.
   */
  private void s9BlockingHandlers() throws Exception {
    List<Executor> executors = new ArrayList<>(List.of(Executor.POOLED));
    if (FerrySystem.virtualThreadsAvailable()) {
      executors.add(Executor.VIRTUAL);
    } else {
      System.out.println("  (no virtual threads before Java 21: no S9 virtual row)");
    }
    Payload p = payload(0);
    for (int inFlight : new int[] {128, 1024}) {
      for (Executor executor : executors) {
        Config config = new Config(1, executor, false, 1);
        String label = String.format("1 conn x %d in flight, 0B, handler sleeps 1 ms, %s", inFlight,
            config.executorName());
        Map<String, Map<String, List<Double>>> samples = alternate(List.of(Kind.FERRY), config, system -> {
          Measurement m = Load.closedLoop(system, p, inFlight, warmupNanos, measureNanos);
          Map<String, Double> out = new LinkedHashMap<>();
          out.put("qps", m.qps());
          out.put("qps_per_cpu_s", m.qpsPerCpuSecond());
          out.put("p50_us", m.p50Micros());
          out.put("p99_us", m.p99Micros());
          out.put("errors", (double) m.errors());
          return out;
        });
        samples.forEach((system, metrics) -> report.add("S9 blocking handlers", label, system, metrics));
        printProgress("S9", label);
      }
    }
  }

  /**
   * Plain Ferry against Ferry with ferry-micrometer's meters on both sides (as created by default, and
   * with histograms): 1 connection x 128 in flight, 0 B, direct executors, the order of the systems
   * rotating every round: calls per second, calls per CPU-second and bytes allocated per call.
   */
  private void s10Metrics() throws Exception {
    Payload p = payload(0);
    Config config = new Config(1, true, false);
    String label = "1 conn x 128 in flight, 0B direct";
    List<Kind> kinds = List.of(Kind.FERRY, Kind.FERRY_METRICS, Kind.FERRY_METRICS_HISTOGRAMS);
    Map<String, Map<String, List<Double>>> samples = rotatingRounds(kinds, config, p);
    for (Kind kind : kinds) {
      report.add("S10 metrics installed", label, kind.label, samples.get(kind.label));
    }
    Map<String, List<Double>> plain = samples.get(Kind.FERRY.label);
    for (Kind kind : kinds.subList(1, kinds.size())) {
      Map<String, List<Double>> metered = samples.get(kind.label);
      System.out.printf(Locale.ROOT, "  S10 %s/ferry over %d rounds: calls/s %.3f (ratio of medians; pairwise %s),"
          + " calls per CPU-second %.3f (pairwise %s), bytes/call %.3f (%.0f vs %.0f)%n", kind.label, rounds,
          ratio(metered, plain, "qps"), pairwise(metered.get("qps"), plain.get("qps")),
          ratio(metered, plain, "qps_per_cpu_s"), pairwise(metered.get("qps_per_cpu_s"), plain.get("qps_per_cpu_s")),
          ratio(metered, plain, "bytes_per_call"), median(metered.get("bytes_per_call")),
          median(plain.get("bytes_per_call")));
    }
    printProgress("S10", label);
  }

  /**
   * Three servers: a channel to one of them by host and port, one built from {@code static://} with that
   * server alone (what balancing costs when there is nothing to balance), and one with all three (power
   * of two choices): 1 connection per server x 128 in flight, 0 B, direct executors, the order rotating
   * every round: calls per second and p99.
   */
  private void s11ManyServers() throws Exception {
    Payload p = payload(0);
    Config config = new Config(1, true, false);
    String label = "3 servers, 1 conn each x 128 in flight, 0B direct";
    List<Kind> kinds = List.of(Kind.FERRY_ONE_ADDRESS, Kind.FERRY_STATIC_ONE, Kind.FERRY_STATIC_THREE);
    Map<String, Map<String, List<Double>>> samples = rotatingRounds(kinds, config, p);
    for (Kind kind : kinds) {
      report.add("S11 many servers", label, kind.label, samples.get(kind.label));
    }
    Map<String, List<Double>> one = samples.get(Kind.FERRY_ONE_ADDRESS.label);
    for (Kind kind : kinds.subList(1, kinds.size())) {
      Map<String, List<Double>> other = samples.get(kind.label);
      System.out.printf(Locale.ROOT, "  S11 %s/%s over %d rounds: calls/s %.3f (ratio of medians; pairwise %s), "
          + "p99 %.0f vs %.0f us%n", kind.label, Kind.FERRY_ONE_ADDRESS.label, rounds, ratio(other, one, "qps"),
          pairwise(other.get("qps"), one.get("qps")), median(other.get("p99_us")), median(one.get("p99_us")));
    }
    printProgress("S11", label);
  }

  /**
   * Closed loops of 128 in flight over each of {@code kinds}: one warm-up block each (so that every shape
   * of the call path is compiled before anything is measured: a listener call site that has seen only the
   * no-op compiles differently from one that has seen the meters too), then {@link #rounds} rounds, the
   * order rotating so that no system always runs first. Samples by system label, then by metric.
   */
  private Map<String, Map<String, List<Double>>> rotatingRounds(List<Kind> kinds, Config config, Payload p)
      throws Exception {
    for (Kind kind : kinds) {
      try (BenchSystem system = kind.start(config)) {
        Load.closedLoop(system, p, 128, warmupNanos, measureNanos);
      }
    }
    Map<String, Map<String, List<Double>>> samples = new LinkedHashMap<>();
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < kinds.size(); i++) {
        Kind kind = kinds.get((round + i) % kinds.size());
        try (BenchSystem system = kind.start(config)) {
          Measurement m = Load.closedLoop(system, p, 128, warmupNanos, measureNanos);
          Map<String, List<Double>> forSystem = samples.computeIfAbsent(kind.label, k -> new LinkedHashMap<>());
          forSystem.computeIfAbsent("qps", k -> new ArrayList<>()).add(m.qps());
          forSystem.computeIfAbsent("qps_per_cpu_s", k -> new ArrayList<>()).add(m.qpsPerCpuSecond());
          forSystem.computeIfAbsent("bytes_per_call", k -> new ArrayList<>()).add(m.bytesPerCall());
          forSystem.computeIfAbsent("p99_us", k -> new ArrayList<>()).add(m.p99Micros());
          forSystem.computeIfAbsent("errors", k -> new ArrayList<>()).add((double) m.errors());
        }
      }
    }
    return samples;
  }

  private static double ratio(Map<String, List<Double>> a, Map<String, List<Double>> b, String metric) {
    return median(a.get(metric)) / median(b.get(metric));
  }

  private static double median(List<Double> values) {
    return Report.Value.of(values).median();
  }

  /** The ratios of each round's pair, as {@code min..max}. */
  private static String pairwise(List<Double> a, List<Double> b) {
    double min = Double.MAX_VALUE;
    double max = 0;
    for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
      double r = a.get(i) / b.get(i);
      min = Math.min(min, r);
      max = Math.max(max, r);
    }
    return String.format(Locale.ROOT, "%.2f..%.2f", min, max);
  }

  private void s3OpenLoop() throws Exception {
    double slower = Math.min(peak.getOrDefault(Kind.FERRY.label, 50_000.0), peak.getOrDefault(Kind.GRPC.label, 50_000.0));
    double rate = 0.5 * slower;
    Payload p = payload(0);
    Config config = new Config(1, true, false);
    String label = String.format(Locale.ROOT, "1 conn, %.0f calls/s (50%% of the slower peak), 0B", rate);
    Map<String, Map<String, List<Double>>> samples = alternate(Kind.CORE, config,
        system -> latencyMetrics(Load.openLoop(system, p, rate, warmupNanos, measureNanos)));
    samples.forEach((system, metrics) -> report.add("S3 open loop", label, system, metrics));
    printProgress("S3", label);
  }

  private void s4LargePayloads() throws Exception {
    int[] kib = largeKib != null ? largeKib : new int[] {64, 1024};
    for (int size : java.util.Arrays.stream(kib).map(k -> k * 1024).toArray()) {
      Payload p = payload(size);
      Config config = new Config(1, true, false);
      String label = String.format("1 conn x 4 in flight, %d KiB each way", size / 1024);
      Map<String, Map<String, List<Double>>> samples = alternate(Kind.CORE, config, system -> {
        Measurement m = Load.closedLoop(system, p, 4, warmupNanos, measureNanos);
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("mb_per_s", m.qps() * size / 1e6);
        out.put("p99_us", m.p99Micros());
        out.put("errors", (double) m.errors());
        return out;
      });
      samples.forEach((system, metrics) -> report.add("S4 large payloads", label, system, metrics));
      printProgress("S4", label);
    }
  }

  /**
   * Idle connections with heartbeats on, client and server in this process: CPU per connection-minute
   * and heap per connection (both sides together). The ceiling has no heartbeats and is left out.
   */
  private void s5IdleCost() throws Exception {
    int connections = quick ? 200 : 1_000;
    long window = TimeUnit.SECONDS.toNanos(quick ? 10 : 30);
    String label = String.format("%d idle connections, heartbeats on, %d s", connections,
        TimeUnit.NANOSECONDS.toSeconds(window));
    for (Kind kind : List.of(Kind.FERRY, Kind.GRPC)) {
      long heap0 = ProcessCounters.usedHeapAfterGc();
      try (BenchSystem system = kind.start(new Config(connections, true, true))) {
        long heap1 = ProcessCounters.usedHeapAfterGc();
        long cpu0 = ProcessCounters.cpuNanos();
        LockSupport.parkNanos(window);
        long cpu1 = ProcessCounters.cpuNanos();
        Map<String, List<Double>> metrics = new LinkedHashMap<>();
        double cpuPerMinute = (cpu1 - cpu0) / 1e9 * (60e9 / window);
        metrics.put("cpu_s_per_min_per_conn", List.of(cpuPerMinute / connections));
        metrics.put("cpu_s_per_min_total", List.of(cpuPerMinute));
        metrics.put("heap_kib_per_conn_both_sides", List.of((heap1 - heap0) / 1024.0 / connections));
        report.add("S5 idle cost", label, kind.label, metrics);
      }
    }
    printProgress("S5", label);
  }

  private static void printProgress(String scenario, String label) {
    System.out.printf("  done: %s %s%n", scenario, label);
  }
}
