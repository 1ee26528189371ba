package dev.ferry.opentelemetry;

import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** The status a call's failure stands for. */
final class Statuses {
  private Statuses() {}

  /** On the client: what the caller's future failed with. */
  static StatusCode of(Throwable error) {
    Throwable t = unwrap(error);
    if (t instanceof FerryException) {
      return ((FerryException) t).code();
    }
    return t instanceof CancellationException ? StatusCode.CANCELLED : StatusCode.UNKNOWN;
  }

  /** On the server: the status the client is sent (anything but a FerryException is INTERNAL). */
  static StatusCode ofHandler(Throwable error) {
    Throwable t = unwrap(error);
    return t instanceof FerryException ? ((FerryException) t).code() : StatusCode.INTERNAL;
  }

  static String description(Throwable error) {
    Throwable t = unwrap(error);
    if (t instanceof FerryException) {
      return ((FerryException) t).description();
    }
    return t == null ? "" : String.valueOf(t.getMessage());
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
