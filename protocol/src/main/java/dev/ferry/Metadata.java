package dev.ferry;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Immutable, ordered key/value pairs sent with a call (request metadata) or with its status
 * (trailing metadata). A key may appear more than once.
 *
 * <p>Keys are 1 to 256 characters of ASCII letters, digits, {@code '-'}, {@code '_'} and {@code '.'};
 * values are any string. Keys are case-insensitive, as in HTTP: they are stored (and sent) in
 * lowercase, so {@code add("X-Request-Id", ...)} and {@code get("x-request-id")} name the same key.
 *
 * <pre>{@code
 * Metadata md = Metadata.builder().add("x-request-id", "42").add("tenant", "acme").build();
 * }</pre>
 */
public final class Metadata {
  /** Metadata with no entries. */
  public static final Metadata EMPTY = new Metadata(List.of());

  private final List<Map.Entry<String, String>> entries;

  private Metadata(List<Map.Entry<String, String>> entries) {
    this.entries = entries;
  }

  /** A builder of new metadata. */
  public static Builder builder() {
    return new Builder();
  }

  /** Metadata holding a single entry. */
  public static Metadata of(String key, String value) {
    return builder().add(key, value).build();
  }

  /** A builder that starts with this metadata's entries. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.entries.addAll(entries);
    return b;
  }

  /** The first value for {@code key} (in any case), or {@code null} if there is none. */
  public String get(String key) {
    key = lowercase(key);
    for (Map.Entry<String, String> e : entries) {
      if (e.getKey().equals(key)) {
        return e.getValue();
      }
    }
    return null;
  }

  /** Every value for {@code key} (in any case), in order; empty if there is none. */
  public List<String> getAll(String key) {
    key = lowercase(key);
    List<String> values = new ArrayList<>(1);
    for (Map.Entry<String, String> e : entries) {
      if (e.getKey().equals(key)) {
        values.add(e.getValue());
      }
    }
    return Collections.unmodifiableList(values);
  }

  /** All entries, in the order they were added; keys in lowercase. */
  public List<Map.Entry<String, String>> entries() {
    return entries;
  }

  /** The number of entries. */
  public int size() {
    return entries.size();
  }

  /** Whether there are no entries. */
  public boolean isEmpty() {
    return entries.isEmpty();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Metadata && ((Metadata) o).entries.equals(entries);
  }

  @Override
  public int hashCode() {
    return entries.hashCode();
  }

  @Override
  public String toString() {
    return "Metadata" + entries;
  }

  /**
   * Checks a metadata key in its wire form (lowercase, as PROTOCOL.md section 9.3 requires of what is
   * sent and received) and returns it. Keys given to {@link Builder#add} are lowercased first; this
   * check is for keys read from the wire, where uppercase is an error.
   *
   * @throws IllegalArgumentException if the key is empty, longer than 256 characters, or holds a
   *     character other than {@code [a-z0-9-_.]}
   */
  public static String checkKey(String key) {
    requireNonNull(key, "key");
    if (key.isEmpty() || key.length() > 256) {
      throw new IllegalArgumentException("metadata key: \"" + key + "\" (expected: 1 to 256 characters)");
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      if (!ok) {
        throw new IllegalArgumentException(
            "metadata key: \"" + key + "\" (expected: lowercase ASCII letters, digits, '-', '_', '.')");
      }
    }
    return key;
  }

  /**
   * {@code key} with ASCII uppercase letters lowercased (nothing else changes, so a non-ASCII letter
   * still fails {@link #checkKey}). Returns {@code key} itself when it has none, the common case.
   */
  private static String lowercase(String key) {
    requireNonNull(key, "key");
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        char[] chars = key.toCharArray();
        for (int j = i; j < chars.length; j++) {
          if (chars[j] >= 'A' && chars[j] <= 'Z') {
            chars[j] = (char) (chars[j] + ('a' - 'A'));
          }
        }
        return new String(chars);
      }
    }
    return key;
  }

  /** Builds {@link Metadata}. Not thread-safe. */
  public static final class Builder {
    private final List<Map.Entry<String, String>> entries = new ArrayList<>();

    private Builder() {}

    /**
     * Adds an entry, its key lowercased ({@code "X-Caller"} becomes {@code "x-caller"}); earlier entries
     * with the same key are kept.
     *
     * @throws IllegalArgumentException if the key is empty, longer than 256 characters, or holds a
     *     character other than ASCII letters, digits, {@code '-'}, {@code '_'} and {@code '.'}
     */
    public Builder add(String key, String value) {
      String lower = lowercase(key);
      if (lower != key) {
        try {
          checkKey(lower);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("metadata key: \"" + key
              + "\" (expected: ASCII letters, digits, '-', '_', '.')", e);
        }
      }
      entries.add(Map.entry(checkKey(lower), requireNonNull(value, "value")));
      return this;
    }

    /** Adds every entry of {@code other}. */
    public Builder addAll(Metadata other) {
      entries.addAll(other.entries);
      return this;
    }

    /** The metadata built so far. */
    public Metadata build() {
      return entries.isEmpty() ? EMPTY : new Metadata(List.copyOf(entries));
    }
  }
}
