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

  /** How a system is started for one measurement. */
  record Config(int connections, boolean directExecutor, boolean heartbeats) {
    String executorName() {
      return directExecutor ? "direct" : "pooled";
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
    CEILING("netty-ceiling");

    final String label;

    Kind(String label) {
      this.label = label;
    }

    BenchSystem start(Config config) throws Exception {
      switch (this) {
        case FERRY:
          return FerrySystem.start(config);
        case GRPC:
          return GrpcSystem.start(config);
        default:
          return NettyCeiling.start(config);
      }
    }
  }
}
