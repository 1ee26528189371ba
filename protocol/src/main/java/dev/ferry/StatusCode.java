package dev.ferry;

/**
 * The outcome of a call. The set and the numbering are gRPC's, so that users and tools that know
 * gRPC status codes read Ferry's the same way; the number is what travels on the wire.
 */
public enum StatusCode {
  /** The call completed successfully. */
  OK(0),
  /** The call was cancelled, typically by the caller. */
  CANCELLED(1),
  /** An error that fits no other code, or an unknown code received from a peer. */
  UNKNOWN(2),
  /** The caller sent an argument that is invalid whatever the state of the system. */
  INVALID_ARGUMENT(3),
  /** The deadline expired before the call completed. */
  DEADLINE_EXCEEDED(4),
  /** A requested entity was not found. */
  NOT_FOUND(5),
  /** An entity the caller tried to create already exists. */
  ALREADY_EXISTS(6),
  /** The caller is authenticated but not allowed to do this. */
  PERMISSION_DENIED(7),
  /** A resource ran out: a quota, a queue, a limit on concurrent calls. */
  RESOURCE_EXHAUSTED(8),
  /** The system is not in the state the call requires. */
  FAILED_PRECONDITION(9),
  /** The call was aborted, typically by a concurrency conflict. */
  ABORTED(10),
  /** The call went past a valid range. */
  OUT_OF_RANGE(11),
  /** The method is not implemented or not known by the server. */
  UNIMPLEMENTED(12),
  /** An internal error: an invariant the system relies on is broken. */
  INTERNAL(13),
  /** The service is currently unavailable; a retry with backoff may succeed. */
  UNAVAILABLE(14),
  /** Unrecoverable data loss or corruption. */
  DATA_LOSS(15),
  /** The caller has no valid credentials. */
  UNAUTHENTICATED(16);

  private static final StatusCode[] BY_VALUE = values();

  private final int value;

  StatusCode(int value) {
    this.value = value;
  }

  /** The number that represents this code on the wire. */
  public int value() {
    return value;
  }

  /** The code for a wire number; numbers this version does not know map to {@link #UNKNOWN}. */
  public static StatusCode fromValue(int value) {
    return value >= 0 && value < BY_VALUE.length ? BY_VALUE[value] : UNKNOWN;
  }
}
