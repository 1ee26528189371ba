package dev.ferry.benchmarks;

import dev.ferry.benchmarks.proto.Payload;
import java.util.concurrent.atomic.LongAdder;

/**
 * One system under test for S8 (streaming), started with a server and a client in this process over
 * loopback TCP, one connection: Ferry, gRPC-java, or the raw Netty streaming ceiling. Each opens
 * streams of {@link Payload} messages that run as fast as the system's flow control allows, and counts
 * what its client receives.
 *
 * <p>Two shapes ({@link Mode}): a server stream (one request, then the server writes the request's
 * message again and again until the client cancels) and a bidirectional echo (the client writes the
 * message again and again, the server writes each one it reads back). Both directions of the echo carry
 * every message, so its messages per second count round trips of one message, each way once.
 *
 * <p>Threads: {@link #open} and {@link Streams#stop} are called from the load thread; the counters are
 * incremented on whichever threads the system delivers messages on.
 */
interface StreamSystem extends AutoCloseable {
  /** The shape of the streams. */
  enum Mode {
    SERVER_STREAM("server stream"),
    BIDI("bidi echo");

    final String label;

    Mode(String label) {
      this.label = label;
    }
  }

  /** What the client side received, over all its streams. Thread-safe. */
  final class Counters {
    /** Messages received by the client. */
    final LongAdder messages = new LongAdder();
    /** Streams that failed before they were stopped. */
    final LongAdder errors = new LongAdder();
  }

  /** Streams opened by {@link #open}: stopping them cancels every one. */
  @FunctionalInterface
  interface Streams {
    /** Cancels the streams (from the client); failures that follow are not counted as errors. */
    void stop() throws Exception;
  }

  /** Which system: a short, stable name used in tables and JSON. */
  String name();

  /**
   * Opens {@code streams} streams of {@code mode} on the system's one connection, each carrying
   * {@code message}; every message the client receives is counted in {@code counters}. Returns once
   * the streams are started (not necessarily flowing).
   */
  Streams open(Mode mode, int streams, Payload message, Counters counters) throws Exception;

  @Override
  void close() throws Exception;

  /** The systems of S8, by name. */
  enum Kind {
    /** Ferry's Flow API on both sides (the choice for throughput). */
    FERRY("ferry"),
    /** Ferry's blocking API: StreamWriter loops on handler threads, StreamReader loops on client threads. */
    FERRY_BLOCKING("ferry-blocking"),
    GRPC("grpc"),
    CEILING("netty-ceiling");

    static final java.util.List<Kind> ALL = java.util.List.of(values());

    final String label;

    Kind(String label) {
      this.label = label;
    }

    StreamSystem start() throws Exception {
      switch (this) {
        case FERRY:
          return FerryStreams.start(FerryStreams.Style.FLOW, 0);
        case FERRY_BLOCKING:
          return FerryStreams.start(FerryStreams.Style.BLOCKING, 0);
        case GRPC:
          return GrpcStreams.start();
        default:
          return NettyStreamCeiling.start();
      }
    }
  }
}
