package dev.ferry.opentelemetry;

import com.google.protobuf.MessageLite;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInterceptor;
import dev.ferry.client.Response;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Starts a {@code CLIENT} span per call, child of the context current where the call starts, puts the
 * span's context in the call's metadata, and ends the span when the call completes. Runs on the thread
 * that starts the call; the span ends on the thread that completes it.
 */
final class TracingClientInterceptor implements ClientInterceptor {
  private final FerryTracing tracing;
  private final String host; // null = not known
  private final int port;

  TracingClientInterceptor(FerryTracing tracing, String host, int port) {
    this.tracing = tracing;
    this.host = host;
    this.port = port;
  }

  @Override
  public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> interceptCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, Next<ReqT, RespT> next) {
    Context parent = Context.current();
    SpanBuilder builder = tracing.tracer.spanBuilder(method.fullName())
        .setParent(parent)
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute(FerryTracing.RPC_SYSTEM, FerryTracing.SYSTEM)
        .setAttribute(FerryTracing.RPC_SERVICE, method.serviceName())
        .setAttribute(FerryTracing.RPC_METHOD, method.methodName());
    if (host != null) {
      builder.setAttribute(FerryTracing.SERVER_ADDRESS, host).setAttribute(FerryTracing.SERVER_PORT, (long) port);
    }
    Span span = builder.startSpan();
    Context context = parent.with(span);
    CompletableFuture<Response<RespT>> call;
    try (Scope ignored = context.makeCurrent()) {
      call = next.proceed(request, options.toBuilder().metadata(withContext(context, options.metadata())).build());
    }
    return call.whenComplete((response, error) -> {
      StatusCode code = error == null ? StatusCode.OK : Statuses.of(error);
      span.setAttribute(FerryTracing.STATUS_CODE, code.name());
      if (code != StatusCode.OK) {
        // On the client every failure is one: the call did not do what the caller asked.
        span.setAttribute(FerryTracing.ERROR_TYPE, code.name());
        span.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR, Statuses.description(error));
      }
      span.end();
    });
  }

  /** {@code metadata} with the propagation fields of {@code context}, replacing any it had. */
  private Metadata withContext(Context context, Metadata metadata) {
    Set<String> fields = Set.copyOf(tracing.propagator.fields());
    Metadata.Builder out = Metadata.builder();
    for (Map.Entry<String, String> e : metadata.entries()) {
      if (!fields.contains(e.getKey())) {
        out.add(e.getKey(), e.getValue());
      }
    }
    tracing.propagator.inject(context, out, FerryTracing.SETTER);
    return out.build();
  }
}
