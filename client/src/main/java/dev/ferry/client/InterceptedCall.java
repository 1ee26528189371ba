package dev.ferry.client;

import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * The future an application gets for a call made through a channel's interceptors. Its result comes
 * from the outermost interceptor's future. Ending it from outside (cancel, or complete by hand, as
 * {@code orTimeout} does) cancels every call the chain sent (one, or more if an interceptor retries),
 * even if an interceptor's own future would not pass the cancellation on: the connection's slot is
 * freed and the server told, as without interceptors. Completes exactly once (see {@link OnceFuture}).
 */
final class InterceptedCall<T> extends OnceFuture<T> {
  private List<CompletableFuture<?>> sent; // guarded by this

  /** Runs {@code method} through {@code interceptors} from {@code index} on; {@code start} makes the real call. */
  static <ReqT extends MessageLite, RespT extends MessageLite, T> InterceptedCall<T> start(
      ClientInterceptor[] interceptors, MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options,
      Starter starter, Function<Response<RespT>, T> result) {
    InterceptedCall<T> outer = new InterceptedCall<>();
    CompletableFuture<Response<RespT>> stage = outer.invoke(interceptors, 0, method, request, options, starter);
    stage.whenComplete((response, error) -> {
      if (error != null) {
        outer.finishExceptionally(asFerryException(error));
      } else if (response == null) {
        outer.finishExceptionally(new FerryException(StatusCode.INTERNAL,
            "a client interceptor completed " + method.fullName() + " with null"));
      } else {
        outer.finish(result.apply(response));
      }
    });
    return outer;
  }

  /** Makes the real call: {@code FerryChannel.exchange} without interceptors. */
  interface Starter {
    <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> start(
        MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options);
  }

  private <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> invoke(
      ClientInterceptor[] interceptors, int index, MethodDescriptor<ReqT, RespT> method, ReqT request,
      CallOptions options, Starter starter) {
    try {
      if (index == interceptors.length) {
        CompletableFuture<Response<RespT>> call = starter.start(method, request, options);
        track(call);
        return call;
      }
      CompletableFuture<Response<RespT>> f = interceptors[index].interceptCall(method, request, options,
          (req, opts) -> invoke(interceptors, index + 1, method, req, opts, starter));
      return f != null ? f : CompletableFuture.failedFuture(new NullPointerException(
          "client interceptor " + interceptors[index].getClass().getName() + " returned null"));
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
  }

  private void track(CompletableFuture<?> call) {
    synchronized (this) {
      if (!isDone()) {
        if (sent == null) {
          sent = new ArrayList<>(1);
        }
        sent.add(call);
        return;
      }
    }
    call.cancel(false); // the application ended the call before the chain got here
  }

  /** The chain's outcome. */
  private void finish(T value) {
    super.complete(value);
  }

  private void finishExceptionally(Throwable error) {
    super.completeExceptionally(error);
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    boolean cancelled = super.cancel(mayInterruptIfRunning);
    cancelSent();
    return cancelled;
  }

  /** Completed by the application (not by the chain): the calls behind it are cancelled. */
  @Override
  public boolean complete(T value) {
    boolean completed = super.complete(value);
    cancelSent();
    return completed;
  }

  @Override
  public boolean completeExceptionally(Throwable ex) {
    boolean completed = super.completeExceptionally(ex);
    cancelSent();
    return completed;
  }

  /** Cancels the calls the chain sent; a call that already completed is not affected. */
  private void cancelSent() {
    List<CompletableFuture<?>> calls;
    synchronized (this) {
      calls = sent == null ? List.of() : new ArrayList<>(sent);
    }
    for (CompletableFuture<?> call : calls) {
      call.cancel(false);
    }
  }

  private static Throwable asFerryException(Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof FerryException || t instanceof java.util.concurrent.CancellationException) {
      return t;
    }
    return new FerryException(StatusCode.UNKNOWN, "client interceptor failed: " + Failures.describe(t), t);
  }
}
