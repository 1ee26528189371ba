package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ferry.StatusCode;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Balancer behaviour that needs no server at all. */
class BalancerTest {
  @Test
  void failedAttemptsKeepBeingRetriedWithBackoffEvenWhenTheyFailInline() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: connecting to it is refused, on loopback often at once
    }
    try (FerryChannel channel = FerryChannel.builder("127.0.0.1", port)
        .pool(PoolOptions.builder().size(1).build())
        .reconnectBackoff(BackoffOptions.of(Duration.ofMillis(10), 1, Duration.ofMillis(10), 0))
        .build()) {
      assertThat(failure(channel.call(ECHO, s("x"))).code()).isEqualTo(StatusCode.UNAVAILABLE);
      // Retries run on the channel's event loop, where a refused connect fails inline; each must still
      // schedule the next one (a slot that stopped retrying would stay dead for good).
      await().atMost(Duration.ofSeconds(10)).until(() -> channel.balancer().connectAttempts() >= 5);
      assertThat(channel.state()).isEqualTo(ChannelState.TRANSIENT_FAILURE);
    }
  }
}
