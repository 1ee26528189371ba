package dev.ferry.examples.config;

import dev.ferry.FerryException;
import dev.ferry.client.BackoffOptions;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.examples.kvstore.GetRequest;
import dev.ferry.examples.kvstore.KvStoreFerryStub;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;

/** The configuration snippets of README.md, kept here so that they compile. */
final class ChannelConfigExample {
  private ChannelConfigExample() {}

  static FerryChannel channel() {
    // [channel-config]
    FerryChannel channel = FerryChannel.builder("kv.internal", 7070)
        .pool(PoolOptions.builder().size(4).eager(true).build())
        .heartbeat(HeartbeatOptions.of(Duration.ofSeconds(5), Duration.ofSeconds(15)))
        .reconnectBackoff(BackoffOptions.of(Duration.ofMillis(500), 1.6, Duration.ofSeconds(20), 0.2))
        .defaultTimeout(Duration.ofSeconds(10))
        .build();
    // [channel-config]
    return channel;
  }

  static CallOptions options() {
    // [call-options]
    CallOptions options = CallOptions.builder()
        .timeout(Duration.ofMillis(250))        // DEADLINE_EXCEEDED after 250 ms, on the client and the server
        .metadata(dev.ferry.Metadata.of("x-request-id", "42"))
        .waitForReady(true)                      // wait for a connection instead of failing fast
        .build();
    // [call-options]
    return options;
  }

  static String lookUp(KvStoreFerryStub kv, String key) {
    // [client-errors]
    try {
      return kv.withTimeout(Duration.ofMillis(250))
          .get(GetRequest.newBuilder().setKey(key).build())
          .getValue().toStringUtf8();
    } catch (FerryException e) {
      switch (e.code()) {
        case NOT_FOUND:
          return null;                  // e.description() says which key
        case DEADLINE_EXCEEDED:
        case UNAVAILABLE:
          throw new IllegalStateException("store unreachable: " + e.getMessage(), e);
        default:
          throw e;
      }
    }
    // [client-errors]
  }

  static FerryServer server(ServiceDefinition service) {
    // [server-config]
    FerryServer server = FerryServer.builder()
        .port(7070)
        .addService(service)
        .heartbeatInterval(Duration.ofSeconds(30))     // PING quiet clients; close silent ones after 90 s
        .minClientPingInterval(Duration.ofSeconds(5))  // clients adapt to it instead of being cut off
        .maxConnectionIdle(Duration.ofMinutes(5))      // GOAWAY connections nobody uses
        .maxConnectionAge(Duration.ofHours(1))         // and rotate old ones, to spread load after scaling
        .maxConcurrentCallsPerConnection(1_000)
        .build();
    // [server-config]
    return server;
  }
}
