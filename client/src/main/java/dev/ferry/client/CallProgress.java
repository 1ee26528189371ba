package dev.ferry.client;

/**
 * How far a call's request got: the one value that decides whether the call may be sent again.
 *
 * <p>The rule: a call is sent again (transparently, on another connection) only when it provably
 * never reached the server ({@link #IDLE} after a write that never happened or failed) or the server
 * said it did not process it (a GOAWAY whose last request id is below the call's, or an ERROR
 * {@code REFUSED}). A call whose request may have reached the socket ({@link #WRITTEN} with its write
 * still going, or {@link #SENT}) is never sent again: the server may have run it. While a write is
 * going, nobody knows yet; the write's outcome decides (see {@link ClientCallHandler}).
 *
 * <pre>
 *   IDLE ──▶ QUEUED ──▶ IDLE ──▶ BOUND ──▶ WRITTEN ──▶ SENT
 *     ▲                            │          │          │
 *     └────────────────────────────┴──────────┴──────────┘  not written / write failed / not processed
 *   any state ──▶ DONE   (the call completed; exactly once)
 * </pre>
 */
enum CallProgress {
  /** On no connection: new, or moved off one that it never reached (or that did not process it). */
  IDLE,
  /** In the pool's queue, waiting for a connection with room. */
  QUEUED,
  /** Counted on a connection, waiting for its handshake or its turn to be written; no byte written. */
  BOUND,
  /**
   * Handed to the channel: until the write completes it is unknown whether any of it reached the
   * socket. A connection that fails now leaves the decision to the write's outcome.
   */
  WRITTEN,
  /** Its write completed: the server may have received it and run it. Never sent again. */
  SENT,
  /** Completed: response, error status, deadline, cancellation or connection loss. Terminal. */
  DONE;

  /** Whether a request in this state may have reached the server, as far as this client can tell. */
  boolean mayHaveReachedServer() {
    return this == WRITTEN || this == SENT;
  }
}
