package dev.ferry.client;

import org.junit.jupiter.api.AfterEach;

/**
 * The shared fixture of tests against a {@link FakeServer}: a test sets {@link #server} and builds its
 * channel with {@link #channel}; both are closed after each test.
 */
abstract class FakeServerTestBase {
  FakeServer server;
  FerryChannel channel;

  /** Builds the test's channel (closed after the test). */
  FerryChannel channel(FerryChannelBuilder builder) {
    channel = builder.build();
    return channel;
  }

  @AfterEach
  void closeChannelAndServer() {
    if (channel != null) {
      channel.shutdownNow();
      channel.close();
    }
    if (server != null) {
      server.close();
    }
  }
}
