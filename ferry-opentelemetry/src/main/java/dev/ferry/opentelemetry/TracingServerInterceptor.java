package dev.ferry.opentelemetry;

import dev.ferry.StatusCode;
import dev.ferry.server.CallContext;
import dev.ferry.server.ServerInterceptor;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Starts a {@code SERVER} span per call, child of the trace context the client sent in the call's
 * metadata (a new trace when there is none), current while the rest of the chain and the handler run on
 * this thread; ends it when the call completes or is cancelled. Runs where handlers run.
 */
final class TracingServerInterceptor implements ServerInterceptor {
  private final FerryTracing tracing;

  TracingServerInterceptor(FerryTracing tracing) {
    this.tracing = tracing;
  }

  @Override
  public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext call, Next<ReqT, RespT> next) {
    Context parent = tracing.propagator.extract(Context.current(), call.metadata(), FerryTracing.GETTER);
    Span span = tracing.tracer.spanBuilder(call.method().fullName())
        .setParent(parent)
        .setSpanKind(SpanKind.SERVER)
        .setAttribute(FerryTracing.RPC_SYSTEM, FerryTracing.SYSTEM)
        .setAttribute(FerryTracing.RPC_SERVICE, call.method().serviceName())
        .setAttribute(FerryTracing.RPC_METHOD, call.method().methodName())
        .startSpan();
    AtomicBoolean ended = new AtomicBoolean();
    // A cancelled call's handler may never complete its stage: the span ends with the cancellation.
    call.onCancel(() -> end(span, ended, StatusCode.CANCELLED, "cancelled"));
    CompletionStage<RespT> stage;
    try (Scope ignored = parent.with(span).makeCurrent()) {
      stage = next.proceed(request);
    }
    return stage.whenComplete((response, error) -> {
      if (error == null) {
        end(span, ended, StatusCode.OK, "");
      } else {
        end(span, ended, Statuses.ofHandler(error), Statuses.description(error));
      }
    });
  }

  private static void end(Span span, AtomicBoolean ended, StatusCode code, String description) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    span.setAttribute(FerryTracing.STATUS_CODE, code.name());
    // Only the server's own failures make a server span an error; a caller's mistake (NOT_FOUND,
    // INVALID_ARGUMENT...) does not.
    if (FerryTracing.serverError(code)) {
      span.setAttribute(FerryTracing.ERROR_TYPE, code.name());
      span.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR, description);
    }
    span.end();
  }
}
