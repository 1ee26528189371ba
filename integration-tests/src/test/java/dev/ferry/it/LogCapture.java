package dev.ferry.it;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Captures what slf4j-simple logs while installed (it writes to whatever {@code System.err} is at the
 * time of each line), still passing it on to the real stream. Thread-safe. Close to restore.
 */
final class LogCapture implements AutoCloseable {
  private final PrintStream original = System.err;
  private final List<String> lines = new ArrayList<>();

  LogCapture() {
    OutputStream tee = new OutputStream() {
      private final ByteArrayOutputStream line = new ByteArrayOutputStream();

      @Override
      public void write(int b) {
        original.write(b);
        synchronized (LogCapture.this) {
          if (b == '\n') {
            lines.add(line.toString(StandardCharsets.UTF_8));
            line.reset();
          } else {
            line.write(b);
          }
        }
      }

      @Override
      public void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
          write(b[i]);
        }
      }
    };
    System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
  }

  /** The first captured line logged at {@code level} that contains every one of {@code parts}, or null. */
  synchronized String find(String level, String... parts) {
    for (String line : lines) {
      if (!line.contains(" " + level + " ")) {
        continue;
      }
      boolean all = true;
      for (String p : parts) {
        all &= line.contains(p);
      }
      if (all) {
        return line;
      }
    }
    return null;
  }

  /** How many captured lines logged at {@code level} contain every one of {@code parts}. */
  synchronized int count(String level, String... parts) {
    int n = 0;
    for (String line : lines) {
      boolean all = line.contains(" " + level + " ");
      for (String p : parts) {
        all &= line.contains(p);
      }
      n += all ? 1 : 0;
    }
    return n;
  }

  /** Every complete line captured so far. */
  synchronized List<String> lines() {
    return new ArrayList<>(lines);
  }

  /** Every complete line captured so far, joined with newlines. */
  synchronized String text() {
    return String.join("\n", lines);
  }

  /** Every captured line logged at {@code level} (e.g. "ERROR"). */
  synchronized List<String> linesAt(String level) {
    List<String> found = new ArrayList<>();
    for (String line : lines) {
      if (line.contains(" " + level + " ")) {
        found.add(line);
      }
    }
    return found;
  }

  @Override
  public void close() {
    System.err.flush();
    System.setErr(original);
  }
}
