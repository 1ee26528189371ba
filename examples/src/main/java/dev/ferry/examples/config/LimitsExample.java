package dev.ferry.examples.config;

import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;

/** The limits snippet of README.md ("Limits and hostile peers"), kept here so that it compiles. */
final class LimitsExample {
  private LimitsExample() {}

  static FerryServer exposedServer(ServiceDefinition service) {
    // [server-limits]
    FerryServer server = FerryServer.builder()
        .port(7070)
        .addService(service)
        .maxConnections(2_000)                       // more are refused with ERROR(REFUSED)
        .maxConcurrentCallsPerConnection(100)        // more get RESOURCE_EXHAUSTED, never a queue
        .maxFrameSize(1 << 20)                       // 1 MiB requests at most, checked from the header
        .maxMetadataSize(16 * 1024)
        .handshakeTimeout(Duration.ofSeconds(5))
        .frameReadTimeout(Duration.ofSeconds(10))    // a frame dripped slower than this is cut off
        .writeBufferHighWaterMark(256 * 1024)        // stop reading from a client that does not read
        .memoryBudget(512L << 20)                    // frames in and responses out, all connections
        .build();
    // [server-limits]
    return server;
  }
}
