package dev.ferry.cli;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;

/** Reads durations as people type them: {@code 250ms}, {@code 10s}, {@code 2m}, {@code 1h}, or ISO {@code PT10S}. */
final class Durations implements ITypeConverter<Duration> {
  private static final Pattern SIMPLE = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    Matcher m = SIMPLE.matcher(v);
    Duration d;
    if (m.matches()) {
      double n = Double.parseDouble(m.group(1));
      double millis = switch (m.group(2)) {
        case "ms" -> n;
        case "s" -> n * 1_000;
        case "m" -> n * 60_000;
        default -> n * 3_600_000;
      };
      d = Duration.ofNanos(Math.round(millis * 1_000_000));
    } else {
      try {
        d = Duration.parse(value.trim().toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException e) {
        throw new CliException("duration: \"" + value + "\" (expected: e.g. 250ms, 10s, 2m, 1h)");
      }
    }
    if (d.isNegative() || d.isZero()) {
      throw new CliException("duration: \"" + value + "\" (expected: > 0)");
    }
    return d;
  }

  /** {@code d} as people read it: 1.2 ms, 3.4 s. */
  static String format(double nanos) {
    if (nanos < 1_000_000) {
      return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
    }
    if (nanos < 1_000_000_000) {
      return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }
}
