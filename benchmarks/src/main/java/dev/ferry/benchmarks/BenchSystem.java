package dev.ferry.benchmarks;

import dev.ferry.benchmarks.proto.Payload;

/**
 * One system under test, started with a server and a client in this process: Ferry, gRPC-java, or the
 * raw Netty ceiling. Every system echoes the same {@link Payload} messages over loopback TCP.
 */
interface BenchSystem extends AutoCloseable {
  /** Told once per call: {@code error} is null on success. Runs on the client's I/O thread. */
  @FunctionalInterface
  interface Callback {
    void done(Throwable error);
  }

  /** Where the server runs its handlers. */
  enum Executor {
    /** On the connection's event loop. */
    DIRECT,
    /** The framework's default handler pool. */
    POOLED,
    /** A virtual thread per call ({@code Executors.newVirtualThreadPerTaskExecutor()}, Java 21+; Ferry only). */
    VIRTUAL
  }

  /**
   * How a system is started for one measurement.
   *
   * @param handlerSleepMillis how long the echo handler blocks (sleeps) before answering; 0 = not at all
   */
  record Config(int connections, Executor executor, boolean heartbeats, int handlerSleepMillis) {
    Config(int connections, boolean directExecutor, boolean heartbeats) {
      this(connections, directExecutor ? Executor.DIRECT : Executor.POOLED, heartbeats, 0);
    }

    boolean directExecutor() {
      return executor == Executor.DIRECT;
    }

    String executorName() {
      return executor.name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Which system: a short, stable name used in tables and JSON. */
  String name();

  /** Sends one echo call; {@code done} runs exactly once. Any thread. */
  void call(Payload request, Callback done);

  @Override
  void close() throws Exception;

  /** The systems, by name. */
  enum Kind {
    FERRY("ferry"),
    GRPC("grpc"),
    CEILING("netty-ceiling"),
    /** Ferry with one pass-through interceptor on each side (S7). */
    FERRY_INTERCEPTED("ferry-intercepted"),
    /** Ferry with ferry-micrometer's meters on both sides, as created by default (S10). */
    FERRY_METRICS("ferry-metrics"),
    /** Ferry with ferry-micrometer's meters and histograms of durations and sizes on both sides (S10). */
    FERRY_METRICS_HISTOGRAMS("ferry-metrics-histograms"),
    /** Ferry over TLS 1.3 with the JDK's provider (S7). */
    FERRY_TLS_JDK("ferry-tls-jdk"),
    /** Ferry over TLS 1.3 with OpenSSL (BoringSSL, netty-tcnative) (S7). */
    FERRY_TLS_OPENSSL("ferry-tls-openssl"),
    /** gRPC-java over TLS (its shaded Netty picks OpenSSL when it can) (S7). */
    GRPC_TLS("grpc-tls"),
    /** Three servers; a channel to one of them, built from its host and port (S11). */
    FERRY_ONE_ADDRESS("ferry-one-address"),
    /** Three servers; a channel to one of them, built from {@code static://} with that one (S11). */
    FERRY_STATIC_ONE("ferry-static-1"),
    /** Three servers behind one channel: {@code static://} with all three, power of two choices (S11). */
    FERRY_STATIC_THREE("ferry-static-3");

    /** The systems of scenarios S1 to S6. */
    static final java.util.List<Kind> CORE = java.util.List.of(FERRY, GRPC, CEILING);

    final String label;

    Kind(String label) {
      this.label = label;
    }

    /** The system called {@code name}: its label ({@code netty-ceiling}) or its constant's name. */
    static Kind of(String name) {
      for (Kind k : values()) {
        if (k.label.equalsIgnoreCase(name) || k.name().equalsIgnoreCase(name.replace('-', '_'))) {
          return k;
        }
      }
      throw new IllegalArgumentException("system: " + name + " (expected one of: "
          + java.util.Arrays.stream(values()).map(k -> k.label).collect(java.util.stream.Collectors.joining(", "))
          + ")");
    }

    BenchSystem start(Config config) throws Exception {
      switch (this) {
        case FERRY:
          return FerrySystem.start(config, null, false, label);
        case FERRY_INTERCEPTED:
          return FerrySystem.start(config, null, true, label);
        case FERRY_METRICS:
          return FerrySystem.start(config, null, false, FerrySystem.Metrics.DEFAULT, label);
        case FERRY_METRICS_HISTOGRAMS:
          return FerrySystem.start(config, null, false, FerrySystem.Metrics.HISTOGRAMS, label);
        case FERRY_TLS_JDK:
          return FerrySystem.start(config, dev.ferry.TlsProvider.JDK, false, label);
        case FERRY_TLS_OPENSSL:
          return FerrySystem.start(config, dev.ferry.TlsProvider.OPENSSL, false, label);
        case FERRY_ONE_ADDRESS:
          return FerrySystem.startFleet(config, 3, 0, label);
        case FERRY_STATIC_ONE:
          return FerrySystem.startFleet(config, 3, 1, label);
        case FERRY_STATIC_THREE:
          return FerrySystem.startFleet(config, 3, 3, label);
        case GRPC:
          return GrpcSystem.start(config, false);
        case GRPC_TLS:
          return GrpcSystem.start(config, true);
        default:
          return NettyCeiling.start(config);
      }
    }
  }
}
