package dev.ferry.examples.interceptors;

import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.server.CallContext;
import dev.ferry.server.ServerInterceptor;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A server interceptor that counts calls and their total time per method and status: the shape a
 * metrics interceptor takes. Install it first to time everything, authentication included.
 */
// [call-timer]
public final class CallTimer implements ServerInterceptor {
  private final Map<String, LongAdder> calls = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> nanos = new ConcurrentHashMap<>();

  @Override
  public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
      Next<ReqT, RespT> next) {
    long start = System.nanoTime();
    return next.proceed(request).whenComplete((response, error) -> {
      String key = context.method().fullName() + " " + status(error);
      calls.computeIfAbsent(key, k -> new LongAdder()).increment();
      nanos.computeIfAbsent(key, k -> new LongAdder()).add(System.nanoTime() - start);
    });
  }

  private static StatusCode status(Throwable error) {
    Throwable e = error instanceof CompletionException ? error.getCause() : error;
    return e == null ? StatusCode.OK : e instanceof FerryException ? ((FerryException) e).code() : StatusCode.INTERNAL;
  }

  /** Calls so far of {@code "package.Service/Method STATUS"}. */
  public long calls(String methodAndStatus) {
    LongAdder n = calls.get(methodAndStatus);
    return n == null ? 0 : n.sum();
  }
}
// [call-timer]
