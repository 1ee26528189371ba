package dev.ferry.benchmarks.jmh;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.ChannelState;
import dev.ferry.client.ChannelStats;
import dev.ferry.micrometer.FerryMetrics;
import dev.ferry.server.ServerListener;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What ferry-micrometer's listeners cost per call, in isolation: the events one call raises on each side
 * (server: started and completed; client: started and completed), default meters against meters with
 * histograms. The load run's S10 measures the same inside a whole server and client.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar org.openjdk.jmh.Main MetricsBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MetricsBenchmark {
  private static final MethodDescriptor<Payload, Payload> ECHO =
      MethodDescriptor.of("ferry.bench.Bench/Echo", Payload.parser(), Payload.parser());

  @Param({"default", "histograms"})
  public String meters;

  private ServerListener server;
  private ChannelListener client;

  @Setup
  public void setUp() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FerryMetrics metrics = meters.equals("default") ? FerryMetrics.create(registry)
        : FerryMetrics.builder(registry).durationBuckets(FerryMetrics.RECOMMENDED_DURATION_BUCKETS)
            .sizeBuckets(64, 1024, 16 * 1024, 256 * 1024).build();
    server = metrics.serverListener();
    client = metrics.channelListener();
    client.channelCreated(new ChannelStats() {
      @Override
      public String host() {
        return "127.0.0.1";
      }

      @Override
      public int port() {
        return 7070;
      }

      @Override
      public ChannelState state() {
        return ChannelState.READY;
      }

      @Override
      public int activeCalls() {
        return 0;
      }

      @Override
      public int waitingCalls() {
        return 0;
      }

      @Override
      public int connectingConnections() {
        return 0;
      }

      @Override
      public int readyConnections() {
        return 1;
      }

      @Override
      public int drainingConnections() {
        return 0;
      }
    });
  }

  /** One call's events on both sides. */
  @Benchmark
  public void callOnBothSides() {
    long start = System.nanoTime();
    client.callStarted(ECHO);
    server.callStarted(ECHO);
    server.callCompleted(ECHO, StatusCode.OK, start, 0, 0);
    client.callCompleted(ECHO, StatusCode.OK, start, 0, 0);
  }

  /** For scale: the clock read the listeners make on each side. */
  @Benchmark
  public long twoClockReads() {
    return System.nanoTime() + System.nanoTime();
  }
}
