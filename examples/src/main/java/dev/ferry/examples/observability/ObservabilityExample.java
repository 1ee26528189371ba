package dev.ferry.examples.observability;

import com.google.protobuf.ByteString;
import dev.ferry.FerryException;
import dev.ferry.client.FerryChannel;
import dev.ferry.examples.kvstore.GetRequest;
import dev.ferry.examples.kvstore.InMemoryKvStore;
import dev.ferry.examples.kvstore.KvStoreFerryService;
import dev.ferry.examples.kvstore.KvStoreFerryStub;
import dev.ferry.examples.kvstore.PutRequest;
import dev.ferry.micrometer.FerryMetrics;
import dev.ferry.opentelemetry.FerryTracing;
import dev.ferry.server.FerryServer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.io.PrintStream;
import java.util.Comparator;
import java.util.stream.Collectors;

/**
 * Metrics (ferry-micrometer) and tracing (ferry-opentelemetry) on the key-value store: a few calls,
 * then the meters they produced. With the no-op OpenTelemetry the spans go nowhere; an application
 * passes its configured SDK.
 */
public final class ObservabilityExample {
  private ObservabilityExample() {}

  public static void main(String[] args) throws Exception {
    run(System.out);
  }

  public static void run(PrintStream out) throws Exception {
    MeterRegistry registry = new SimpleMeterRegistry(); // your registry: Prometheus, OTLP, ...
    OpenTelemetry openTelemetry = OpenTelemetry.noop();  // your SDK, e.g. GlobalOpenTelemetry.get()
    // [metrics-and-tracing]
    FerryMetrics metrics = FerryMetrics.create(registry);
    FerryTracing tracing = FerryTracing.create(openTelemetry);
    FerryServer server = FerryServer.builder()
        .host("127.0.0.1")
        .port(0)
        .addService(KvStoreFerryService.bind(new InMemoryKvStore()))
        .intercept(tracing.serverInterceptor())   // a SERVER span per call, child of the caller's
        .addListener(metrics.serverListener())    // rpc.server.* and ferry.server.* meters
        .build()
        .start();
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port())
        .intercept(tracing.clientInterceptor("127.0.0.1", server.port())) // a CLIENT span; traceparent in metadata
        .addListener(metrics.channelListener())   // a new one per channel: its meters carry the target
        .build();
    // [metrics-and-tracing]
    try (server; channel) {
      KvStoreFerryStub kv = KvStoreFerryStub.create(channel);
      kv.put(PutRequest.newBuilder().setKey("fruit/apple").setValue(ByteString.copyFromUtf8("red")).build());
      kv.get(GetRequest.newBuilder().setKey("fruit/apple").build());
      try {
        kv.get(GetRequest.newBuilder().setKey("fruit/zucchini").build());
      } catch (FerryException e) {
        // NOT_FOUND: counted under its status
      }
    }
    registry.getMeters().stream()
        .filter(m -> !m.getId().getName().endsWith(".histogram"))
        .sorted(Comparator.comparing((Meter m) -> m.getId().getName()).thenComparing(m -> m.getId().getTags().toString()))
        .forEach(m -> out.println(describe(m)));
  }

  /** {@code name{tag=value,...} count=N} (timers, counters), {@code bytes=N} or {@code value=N} (gauges). */
  private static String describe(Meter m) {
    String tags = m.getId().getTags().stream()
        .filter(t -> !t.getKey().equals(FerryMetrics.RPC_SYSTEM)) // always "ferry"
        .map(t -> t.getKey() + "=" + t.getValue()).collect(Collectors.joining(","));
    StringBuilder b = new StringBuilder(m.getId().getName()).append('{').append(tags).append('}');
    for (var measurement : m.measure()) {
      String statistic = measurement.getStatistic().name();
      if (statistic.equals("COUNT") || statistic.equals("VALUE")) {
        String what = "bytes".equals(m.getId().getBaseUnit()) ? "bytes" : statistic.toLowerCase(java.util.Locale.ROOT);
        b.append(' ').append(what).append('=').append((long) measurement.getValue());
      }
    }
    return b.toString();
  }
}
