package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class FerryChannelBuilderTest {
  @Test
  void validatesHostAndPort() {
    assertThatThrownBy(() -> FerryChannel.builder(null, 1)).isInstanceOf(NullPointerException.class).hasMessage("host");
    assertThatThrownBy(() -> FerryChannel.builder("", 1)).hasMessageContaining("host: \"\"");
    assertThatThrownBy(() -> FerryChannel.builder("localhost", 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("port: 0 (expected: 1 to 65535)");
    assertThatThrownBy(() -> FerryChannel.builder("localhost", 65536))
        .hasMessage("port: 65536 (expected: 1 to 65535)");
  }

  @Test
  void validatesDurationsAndFrameSize() {
    FerryChannelBuilder b = FerryChannel.builder("localhost", 7000);
    assertThatThrownBy(() -> b.defaultTimeout(Duration.ofSeconds(-1)))
        .hasMessage("defaultTimeout: PT-1S (expected: > 0)");
    assertThatThrownBy(() -> b.connectTimeout(Duration.ZERO)).hasMessage("connectTimeout: PT0S (expected: > 0)");
    assertThatThrownBy(() -> b.handshakeTimeout(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("handshakeTimeout");
    assertThatThrownBy(() -> b.maxFrameSize(1000)).hasMessage("maxFrameSize: 1000 (expected: >= 16384)");
    assertThatThrownBy(() -> b.eventLoopGroup(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void buildingDoesNotConnectAndCloseOfAnUnusedChannelTerminates() throws InterruptedException {
    // Nothing listens on port 1; an unused channel never tries it.
    FerryChannel channel = FerryChannel.builder("127.0.0.1", 1).build();
    assertThat(channel.currentConnection()).isNull();
    assertThat(channel.isShutdown()).isFalse();
    channel.close();
    assertThat(channel.isShutdown()).isTrue();
    assertThat(channel.awaitTermination(Duration.ofSeconds(5))).isTrue();
    assertThat(channel.isTerminated()).isTrue();
  }
}
