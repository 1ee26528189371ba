package dev.ferry.client;

import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Waits for a call on the caller's thread and turns its failure into an exception thrown there, with
 * the caller's stack. Used by {@link FerryChannel}'s blocking methods and by stubs; never on an event
 * loop (the channel refuses that before it gets here).
 */
final class BlockingCall {
  private BlockingCall() {}

  /** Waits on the caller's thread for a call's future; failures are thrown as {@link FerryException}s. */
  static <T> T await(CompletableFuture<T> future, MethodDescriptor<?, ?> method) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      future.cancel(false);
      Thread.currentThread().interrupt();
      throw new FerryException(StatusCode.CANCELLED,
          "interrupted while waiting for " + method.fullName() + "; call cancelled", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof FerryException) {
        throw forCaller((FerryException) cause);
      }
      throw new FerryException(StatusCode.UNKNOWN, Failures.describe(cause), cause);
    } catch (CancellationException e) {
      throw new FerryException(StatusCode.CANCELLED, method.fullName() + " was cancelled", e);
    }
  }

  /**
   * The exception to throw to a blocking caller: the call's failure was made on an event loop (or a
   * timer), and its stack trace shows only Ferry and Netty frames. A copy made here carries the
   * caller's frames, which say where the failed call came from; the original stays as its cause.
   * A subclass (whose type the caller may catch) is thrown as it is.
   */
  private static FerryException forCaller(FerryException failure) {
    if (failure.getClass() != FerryException.class) {
      return failure;
    }
    return new FerryException(failure.code(), failure.description(), failure.trailers(), failure);
  }
}
