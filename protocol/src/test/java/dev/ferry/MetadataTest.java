package dev.ferry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.internal.WireMetadata;
import dev.ferry.internal.wire.MetadataEntry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetadataTest {
  @Test
  void mixedCaseKeysAreStoredLowercaseAndFoundInAnyCase() {
    Metadata md = Metadata.builder().add("X-Caller", "billing").add("x-caller", "again").add("Tenant", "acme")
        .build();
    assertThat(md.entries()).containsExactly(
        Map.entry("x-caller", "billing"), Map.entry("x-caller", "again"), Map.entry("tenant", "acme"));
    assertThat(md.get("x-caller")).isEqualTo("billing");
    assertThat(md.get("X-CALLER")).isEqualTo("billing");
    assertThat(md.getAll("X-Caller")).containsExactly("billing", "again");
    assertThat(Metadata.of("X-Request-Id", "42")).isEqualTo(Metadata.of("x-request-id", "42"));
  }

  @Test
  void invalidKeysAreRefusedNamingTheKeyAsGiven() {
    assertThatThrownBy(() -> Metadata.of("X Caller", "v"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("metadata key: \"X Caller\" (expected: ASCII letters, digits, '-', '_', '.')");
    assertThatThrownBy(() -> Metadata.of("ключ", "v"))
        .hasMessageStartingWith("metadata key: \"ключ\"");
    assertThatThrownBy(() -> Metadata.of("", "v")).hasMessageContaining("1 to 256 characters");
  }

  @Test
  void theWireStaysLowercase() {
    assertThat(WireMetadata.toWire(Metadata.of("X-Caller", "v")))
        .extracting(MetadataEntry::getKey).containsExactly("x-caller");
    // Read from the wire, an uppercase key is still malformed (PROTOCOL.md 9.3): only local input is forgiven.
    assertThatThrownBy(() -> WireMetadata.fromWire(List.of(MetadataEntry.newBuilder().setKey("X-Caller").build())))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("metadata key: \"X-Caller\"");
    assertThatThrownBy(() -> Metadata.checkKey("X-Caller")).isInstanceOf(IllegalArgumentException.class);
  }
}
