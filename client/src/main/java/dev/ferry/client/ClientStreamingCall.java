package dev.ferry.client;

import dev.ferry.StreamWriter;
import java.util.concurrent.CompletableFuture;

/**
 * A client-streaming call in progress: write the requests, {@link #complete()} them, and get the one
 * response. Returned by {@link FerryChannel#clientStream(dev.ferry.MethodDescriptor, CallOptions)}.
 *
 * <pre>{@code
 * try (ClientStreamingCall<Entry, LoadSummary> load = stub.load()) {
 *   for (Entry e : entries) {
 *     load.write(e);          // waits while the server has not read what it was sent
 *   }
 *   LoadSummary summary = load.awaitResponse();
 * }
 * }</pre>
 *
 * <p>Writing follows {@link StreamWriter}: {@code write} waits for the server's credit (up to the
 * deadline), {@code complete()} half-closes, and {@code close()} without {@code complete()} cancels the
 * call, so an upload abandoned by an exception is never taken for a finished one. The server may
 * answer before the requests are complete (a validation error, say): writes then throw its status.
 *
 * <p>Thread-safe.
 *
 * @param <ReqT> request type
 * @param <RespT> response type
 */
public interface ClientStreamingCall<ReqT, RespT> extends StreamWriter<ReqT> {
  /**
   * The server's response, or the call's failure. It completes on the connection's event loop; cancelling
   * it cancels the call.
   */
  CompletableFuture<RespT> response();

  /**
   * Completes the requests (if not done yet) and waits for the response.
   *
   * @throws dev.ferry.FerryException the call's failure, thrown on the calling thread; {@code CANCELLED}
   *     if the waiting thread is interrupted (the call is cancelled)
   */
  RespT awaitResponse();

  /** Cancels the call: the server is told, and the response fails with {@code CANCELLED}. */
  void cancel();
}
