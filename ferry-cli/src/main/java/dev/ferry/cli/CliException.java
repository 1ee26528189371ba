package dev.ferry.cli;

/** A failure the tool reports in one line, without a stack trace: bad input, a missing file, no such method. */
final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CliException(String message) {
    super(message);
  }

  CliException(String message, Throwable cause) {
    super(message, cause);
  }
}
