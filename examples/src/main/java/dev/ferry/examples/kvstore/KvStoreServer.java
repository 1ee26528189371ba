package dev.ferry.examples.kvstore;

import dev.ferry.server.FerryServer;
import java.time.Duration;

/**
 * The key-value store embedded in an application that runs until it is stopped (Ctrl-C), then shuts
 * down gracefully: calls in flight get up to 10 seconds to finish, clients are told to go elsewhere.
 *
 * <pre>
 *   java -cp ... dev.ferry.examples.kvstore.KvStoreServer [port]
 * </pre>
 */
public final class KvStoreServer {
  private KvStoreServer() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 7070;
    // [kvstore-server]
    FerryServer server = FerryServer.builder()
        .host("127.0.0.1")
        .port(port)
        .addService(KvStoreFerryService.bind(new InMemoryKvStore()))
        .maxConnectionIdle(Duration.ofMinutes(5)) // close connections nobody uses; Ferry clients don't notice
        .build()
        .start();
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
    // [kvstore-server]
  }
}
