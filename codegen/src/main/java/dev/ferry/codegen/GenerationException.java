package dev.ferry.codegen;

/** The input cannot be turned into Ferry code; the message is shown to the user by protoc. */
final class GenerationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  GenerationException(String message) {
    super(message);
  }
}
