package dev.ferry.internal;

import dev.ferry.Metadata;
import dev.ferry.internal.wire.MetadataEntry;
import java.util.List;
import java.util.Map;

/** Converts between {@link Metadata} and the wire's repeated {@link MetadataEntry}. */
public final class WireMetadata {
  private WireMetadata() {}

  /** The wire entries of {@code metadata}, in order. */
  public static Iterable<MetadataEntry> toWire(Metadata metadata) {
    List<Map.Entry<String, String>> entries = metadata.entries();
    MetadataEntry[] out = new MetadataEntry[entries.size()];
    for (int i = 0; i < out.length; i++) {
      Map.Entry<String, String> e = entries.get(i);
      out[i] = MetadataEntry.newBuilder().setKey(e.getKey()).setValue(e.getValue()).build();
    }
    return List.of(out);
  }

  /**
   * Metadata from wire entries.
   *
   * @throws IllegalArgumentException if a key breaks the key rules of {@link Metadata#checkKey} (an
   *     uppercase letter included: the wire form is lowercase)
   */
  public static Metadata fromWire(List<MetadataEntry> entries) {
    if (entries.isEmpty()) {
      return Metadata.EMPTY;
    }
    Metadata.Builder b = Metadata.builder();
    for (MetadataEntry e : entries) {
      b.add(Metadata.checkKey(e.getKey()), e.getValue()); // strict: wire keys are lowercase already
    }
    return b.build();
  }
}
