package dev.ferry.opentelemetry;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.client.ClientInterceptor;
import dev.ferry.server.ServerInterceptor;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * OpenTelemetry tracing for Ferry: a {@code CLIENT} span around every call a channel makes and a
 * {@code SERVER} span around every call a server handles, named after the method
 * ({@code package.Service/Method}), with the RPC semantic conventions' attributes and status. The trace
 * context travels in the call's metadata ({@code traceparent} and {@code tracestate}, W3C Trace Context,
 * by default), so a handler that calls another service through a traced channel continues the trace.
 *
 * <pre>{@code
 * FerryTracing tracing = FerryTracing.create(openTelemetry);
 * FerryServer server = FerryServer.builder().intercept(tracing.serverInterceptor())...;
 * FerryChannel channel = FerryChannel.builder(host, port).intercept(tracing.clientInterceptor(host, port))...;
 * }</pre>
 *
 * <p><b>Context.</b> The server span is the current span while the handler runs on the thread that
 * called it ({@code Span.current()} adds to it, a traced channel called there continues it). An
 * asynchronous handler that carries on elsewhere takes the context with it
 * ({@code Context.current().wrap(executor)}). The client span is the child of the context current
 * where the call starts.
 *
 * <p>Install the interceptors first (outermost), so that their spans cover the others. Thread-safe.
 */
public final class FerryTracing {
  /** The instrumentation scope name of the spans. */
  public static final String INSTRUMENTATION_NAME = "dev.ferry.opentelemetry";

  static final AttributeKey<String> RPC_SYSTEM = AttributeKey.stringKey("rpc.system");
  static final AttributeKey<String> RPC_SERVICE = AttributeKey.stringKey("rpc.service");
  static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
  static final AttributeKey<String> STATUS_CODE = AttributeKey.stringKey("rpc.response.status_code");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final String SYSTEM = "ferry";

  final Tracer tracer;
  final TextMapPropagator propagator;

  private FerryTracing(Builder b) {
    this.tracer = b.openTelemetry.getTracer(INSTRUMENTATION_NAME);
    this.propagator = b.propagator;
  }

  /** Tracing through {@code openTelemetry}'s tracer, propagating W3C Trace Context. */
  public static FerryTracing create(OpenTelemetry openTelemetry) {
    return builder(openTelemetry).build();
  }

  /** A builder of tracing through {@code openTelemetry}'s tracer. */
  public static Builder builder(OpenTelemetry openTelemetry) {
    return new Builder(openTelemetry);
  }

  /** The interceptor to add to servers ({@code FerryServer.builder().intercept(...)}). */
  public ServerInterceptor serverInterceptor() {
    return new TracingServerInterceptor(this);
  }

  /** The interceptor to add to channels; their spans name no server address. */
  public ClientInterceptor clientInterceptor() {
    return new TracingClientInterceptor(this, null, 0);
  }

  /**
   * The interceptor to add to a channel built for {@code host:port}, whose spans carry them as
   * {@code server.address} and {@code server.port}.
   */
  public ClientInterceptor clientInterceptor(String host, int port) {
    requireNonNull(host, "host");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
    }
    return new TracingClientInterceptor(this, host, port);
  }

  /** Whether a server span ends with an error status for {@code code}: the server's own failures. */
  static boolean serverError(StatusCode code) {
    switch (code) {
      case UNKNOWN:
      case DEADLINE_EXCEEDED:
      case UNIMPLEMENTED:
      case INTERNAL:
      case UNAVAILABLE:
      case DATA_LOSS:
        return true;
      default:
        return false;
    }
  }

  /** Writes propagation fields into metadata, whose keys are lowercase. */
  static final TextMapSetter<Metadata.Builder> SETTER =
      (carrier, key, value) -> carrier.add(key.toLowerCase(Locale.ROOT), value);

  /** Reads propagation fields from metadata. */
  static final TextMapGetter<Metadata> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Metadata carrier) {
      List<String> keys = new ArrayList<>(carrier.size());
      for (Map.Entry<String, String> e : carrier.entries()) {
        keys.add(e.getKey());
      }
      return keys;
    }

    @Override
    public String get(Metadata carrier, String key) {
      return carrier == null ? null : carrier.get(key.toLowerCase(Locale.ROOT));
    }
  };

  /** Builds {@link FerryTracing}. */
  public static final class Builder {
    private final OpenTelemetry openTelemetry;
    private TextMapPropagator propagator = W3CTraceContextPropagator.getInstance();

    private Builder(OpenTelemetry openTelemetry) {
      this.openTelemetry = requireNonNull(openTelemetry, "openTelemetry");
    }

    /**
     * How the trace context travels in metadata. Default: W3C Trace Context ({@code traceparent},
     * {@code tracestate}); {@code openTelemetry.getPropagators().getTextMapPropagator()} uses the
     * application's configured propagators instead. Field names are lowercased (Ferry metadata keys are).
     */
    public Builder propagator(TextMapPropagator propagator) {
      this.propagator = requireNonNull(propagator, "propagator");
      return this;
    }

    public FerryTracing build() {
      return new FerryTracing(this);
    }
  }
}
