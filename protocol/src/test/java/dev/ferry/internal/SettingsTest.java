package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The value rules of PROTOCOL.md section 8, as {@link Settings} applies them to both sides. */
class SettingsTest {
  private static ByteBuf entry(int id, long value) {
    return Unpooled.buffer(6).writeShort(id).writeInt((int) value);
  }

  @Test
  void maxMetadataSizeUnderTheFloorIsAProtocolError() {
    assertThat(Settings.MIN_MAX_METADATA_SIZE).isEqualTo(1024);
    for (long value : new long[] {0, 1, 16, 64, 1023}) {
      ByteBuf payload = entry(Settings.ID_MAX_METADATA_SIZE, value);
      assertThatThrownBy(() -> Settings.decode(payload))
          .isInstanceOfSatisfying(ProtocolException.class,
              e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR))
          .hasMessage("SETTINGS MAX_METADATA_SIZE " + value + " (expected: at least 1024)");
    }
  }

  @Test
  void maxMetadataSizeFromTheFloorUpIsAccepted() {
    assertThat(Settings.decode(entry(Settings.ID_MAX_METADATA_SIZE, 1024)).maxMetadataSize()).isEqualTo(1024);
    assertThat(Settings.decode(entry(Settings.ID_MAX_METADATA_SIZE, 0xFFFF_FFFFL)).maxMetadataSize())
        .isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void everyValueOfARepeatedIdIsChecked() {
    // The last value wins, but an earlier bad one is still an error (as for MAX_FRAME_SIZE).
    ByteBuf payload = entry(Settings.ID_MAX_METADATA_SIZE, 16).writeBytes(entry(Settings.ID_MAX_METADATA_SIZE, 4096));
    assertThatThrownBy(() -> Settings.decode(payload)).isInstanceOf(ProtocolException.class);
  }

  @Test
  void aSideCannotAnnounceALimitItsPeerWouldRefuse() {
    assertThatThrownBy(() -> Settings.builder().maxMetadataSize(1023))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxMetadataSize: 1023 (expected: >= 1024)");
    assertThat(Settings.builder().maxMetadataSize(1024).build().maxMetadataSize()).isEqualTo(1024);
  }
}
