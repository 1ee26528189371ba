package dev.ferry.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One parsed golden vector file (format: protocol/src/test/resources/vectors/README.md). */
final class GoldenVector {
  final String name;
  String description;
  String mode = "frame";
  int maxFrameSize = Settings.DEFAULT_MAX_FRAME_SIZE;
  /** With flow control applied: both sides' STREAM_INITIAL_WINDOW; 0 = stream frames are only decoded. */
  int streamWindow;
  byte[] bytes;
  boolean valid;
  Integer prefaceVersion;
  String error;
  String reply;
  final List<Map<String, List<String>>> frames = new ArrayList<>();

  private GoldenVector(String name) {
    this.name = name;
  }

  static GoldenVector parse(Path file) throws IOException {
    GoldenVector v = new GoldenVector(file.getFileName().toString());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Map<String, List<String>> frame = null;
    for (String raw : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException(v.name + ": line without a key: " + raw);
      }
      String key = line.substring(0, colon).strip();
      String value = raw.substring(raw.indexOf(':') + 1);
      value = value.startsWith(" ") ? value.substring(1) : value;
      value = value.stripTrailing();
      switch (key) {
        case "description": v.description = value; break;
        case "mode": v.mode = value; break;
        case "max_frame_size": v.maxFrameSize = Integer.parseInt(value); break;
        case "stream_window": v.streamWindow = Integer.parseInt(value); break;
        case "hex": bytes.writeBytes(hex(value)); break;
        case "valid": v.valid = Boolean.parseBoolean(value); break;
        case "preface_version": v.prefaceVersion = Integer.parseInt(value); break;
        case "error": v.error = value; break;
        case "reply": v.reply = value; break;
        case "frame":
          frame = new LinkedHashMap<>();
          frame.computeIfAbsent("frame", k -> new ArrayList<>()).add(value);
          v.frames.add(frame);
          break;
        case "reason":
          if (frame == null) {
            break; // prose explanation of an invalid vector
          }
          // fall through: a GOAWAY/ERROR frame's reason
        default:
          if (frame == null) {
            throw new IllegalArgumentException(v.name + ": key '" + key + "' outside a frame block");
          }
          frame.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
      }
    }
    v.bytes = bytes.toByteArray();
    return v;
  }

  /** Hex tokens separated by white space; {@code HH*N} repeats a byte N times; {@code -} is nothing. */
  static byte[] hex(String text) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String token : text.trim().split("\\s+")) {
      if (token.isEmpty() || token.equals("-")) {
        continue;
      }
      int star = token.indexOf('*');
      if (star >= 0) {
        int b = Integer.parseInt(token.substring(0, star), 16);
        int n = Integer.parseInt(token.substring(star + 1));
        for (int i = 0; i < n; i++) {
          out.write(b);
        }
        continue;
      }
      if (token.length() % 2 != 0) {
        throw new IllegalArgumentException("odd-length hex token: " + token);
      }
      for (int i = 0; i < token.length(); i += 2) {
        out.write(Integer.parseInt(token.substring(i, i + 2), 16));
      }
    }
    return out.toByteArray();
  }

  @Override
  public String toString() {
    return name;
  }
}
