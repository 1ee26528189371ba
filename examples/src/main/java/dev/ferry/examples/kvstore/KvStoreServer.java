package dev.ferry.examples.kvstore;

import dev.ferry.server.FerryServer;
import dev.ferry.services.HealthService;
import dev.ferry.services.ReflectionService;
import dev.ferry.services.health.v1.HealthCheckResponse.ServingStatus;
import java.io.IOException;
import java.time.Duration;

/**
 * The key-value store embedded in an application that runs until it is stopped (Ctrl-C), then shuts
 * down gracefully: calls in flight get up to 10 seconds to finish, clients are told to go elsewhere. It
 * offers health checks and reflection, so that the {@code ferry} tool can list, describe, call and
 * probe it without its {@code .proto} file.
 *
 * <pre>
 *   java -cp ... dev.ferry.examples.kvstore.KvStoreServer [port]
 * </pre>
 */
public final class KvStoreServer {
  private KvStoreServer() {}

  /** Starts the store on 127.0.0.1:{@code port} (0: any free port), with health checks and reflection. */
  public static FerryServer start(int port) throws IOException {
    // [kvstore-server]
    HealthService health = HealthService.create();
    FerryServer server = FerryServer.builder()
        .host("127.0.0.1")
        .port(port)
        .addService(KvStoreFerryService.bind(new InMemoryKvStore()))
        .addService(health.service())              // ferry.health.v1.Health: ferry health
        .addService(ReflectionService.builder()    // ferry.reflection.v1: ferry list, describe, call
            .addFile(Kvstore.getDescriptor())      // kvstore.proto's generated outer class
            .addFile(HealthService.descriptor())
            .build())
        .addListener(health.shutdownListener())    // NOT_SERVING as soon as a shutdown starts
        .maxConnectionIdle(Duration.ofMinutes(5)) // close connections nobody uses; Ferry clients don't notice
        .build()
        .start();
    health.setStatus(KvStoreFerry.SERVICE_NAME, ServingStatus.SERVING);
    // [kvstore-server]
    return server;
  }

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 7070;
    FerryServer server = start(port);
    // [kvstore-shutdown]
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdown(Duration.ofSeconds(10)); // GOAWAY, finish calls in flight, then close
      try {
        server.awaitTermination(Duration.ofSeconds(15));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    System.out.println("kvstore listening on 127.0.0.1:" + server.port() + " (Ctrl-C to stop)");
    server.awaitTermination(); // serve until the hook has shut the server down
    // [kvstore-shutdown]
  }
}
