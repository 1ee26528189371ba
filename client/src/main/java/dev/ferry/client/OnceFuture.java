package dev.ferry.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The future of a Ferry call: it completes exactly once, by the call's outcome (or a cancel, or a
 * completion by hand, which subclasses pass on to the call). Rewriting the outcome ({@code obtrude*}) and
 * completing from a supplier ({@code completeAsync}) are not supported.
 */
abstract class OnceFuture<T> extends CompletableFuture<T> {
  /** Not supported: a call completes exactly once. */
  @Override
  public final void obtrudeValue(T value) {
    throw new UnsupportedOperationException("a Ferry call completes exactly once");
  }

  /** Not supported: a call completes exactly once. */
  @Override
  public final void obtrudeException(Throwable ex) {
    throw new UnsupportedOperationException("a Ferry call completes exactly once");
  }

  /** Not supported: a call is completed by its response (or cancelled, or completed by hand). */
  @Override
  public final CompletableFuture<T> completeAsync(Supplier<? extends T> supplier, Executor executor) {
    throw new UnsupportedOperationException("a Ferry call is completed by its response");
  }

  /** Not supported: a call is completed by its response. */
  @Override
  public final CompletableFuture<T> completeAsync(Supplier<? extends T> supplier) {
    throw new UnsupportedOperationException("a Ferry call is completed by its response");
  }
}
