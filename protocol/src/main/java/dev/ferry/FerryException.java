package dev.ferry;

import static java.util.Objects.requireNonNull;

/**
 * A call that ended with a status other than {@link StatusCode#OK}.
 *
 * <p>Handlers throw it to return a status to the caller ({@code throw new FerryException(NOT_FOUND,
 * "no such key: " + key)}); callers receive it, as the cause of a failed future or thrown by a
 * blocking call, with the status code, the message and the trailing metadata the server sent.
 */
public class FerryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final StatusCode code;
  private final String description;
  private final transient Metadata trailers;

  /** A failure with a code and a human-readable description (may be empty, not null). */
  public FerryException(StatusCode code, String description) {
    this(code, description, Metadata.EMPTY, null);
  }

  /** A failure with a code, a description and the underlying cause (not sent to the peer). */
  public FerryException(StatusCode code, String description, Throwable cause) {
    this(code, description, Metadata.EMPTY, cause);
  }

  /** A failure with a code, a description, trailing metadata and an optional local cause. */
  public FerryException(StatusCode code, String description, Metadata trailers, Throwable cause) {
    super(code + (description.isEmpty() ? "" : ": " + description), cause);
    this.code = requireNonNull(code, "code");
    if (code == StatusCode.OK) {
      throw new IllegalArgumentException("code: OK (expected: a failure code)");
    }
    this.description = requireNonNull(description, "description");
    this.trailers = requireNonNull(trailers, "trailers");
  }

  /** The status code. Never {@link StatusCode#OK}. */
  public StatusCode code() {
    return code;
  }

  /** The status message, as the handler gave it (any Unicode); possibly empty. */
  public String description() {
    return description;
  }

  /** Trailing metadata sent with the status; empty when there was none. */
  public Metadata trailers() {
    return trailers;
  }
}
