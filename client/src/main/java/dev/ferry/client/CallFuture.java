package dev.ferry.client;

/**
 * The future a caller holds for one call made without interceptors. It completes once, with the
 * call's outcome; ending it from outside ({@code cancel}, or completing it by hand as {@code orTimeout}
 * does) ends the call itself: its connection slot is given back and, if its request may have gone out,
 * the server is sent CANCEL.
 *
 * <p>It is only the caller's view: the call's state lives in {@link ClientCall}, which completes this
 * future after it has cleaned up, so that a call started by a dependent stage already finds the slot
 * free. Threads: completed on the thread that ended the call (see {@link FerryChannel}).
 *
 * @param <T> what the future yields: the response message, or a {@link Response}
 */
final class CallFuture<T> extends OnceFuture<T> {
  private final ClientCall<?, T> call;

  CallFuture(ClientCall<?, T> call) {
    this.call = call;
  }

  /** The call's outcome (from {@link ClientCall}, after its clean-up). */
  void succeed(T value) {
    super.complete(value);
  }

  void fail(Throwable error) {
    super.completeExceptionally(error);
  }

  void cancelled() {
    super.cancel(false);
  }

  /** The caller ends the call with this value (e.g. a fallback): the call is cancelled behind it. */
  @Override
  public boolean complete(T value) {
    return call.endByCaller(dev.ferry.StatusCode.OK, () -> super.complete(value));
  }

  /** The caller ends the call with this failure (e.g. {@code orTimeout}): the call is cancelled behind it. */
  @Override
  public boolean completeExceptionally(Throwable ex) {
    return call.endByCaller(ClientCall.statusOf(ex), () -> super.completeExceptionally(ex));
  }

  /**
   * Cancels the call: this future completes with a {@link java.util.concurrent.CancellationException}
   * and, if the request may have been written, the server is sent CANCEL for it. Stages that depend
   * on this future are not affected the other way round: cancelling them does not cancel the call.
   */
  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    return call.endByCaller(dev.ferry.StatusCode.CANCELLED, () -> super.cancel(mayInterruptIfRunning));
  }

  @Override
  public String toString() {
    return "CallFuture{" + call + ", " + super.toString() + '}';
  }
}
