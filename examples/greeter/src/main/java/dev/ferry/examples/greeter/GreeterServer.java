package dev.ferry.examples.greeter;

import dev.ferry.server.FerryServer;

/**
 * The greeter as a program of its own that serves until it is stopped (Ctrl-C): start it, then run
 * {@link GreeterClient} in another terminal.
 *
 * <pre>
 *   mvn -q compile exec:java -Dexec.mainClass=dev.ferry.examples.greeter.GreeterServer [-Dexec.args=port]
 * </pre>
 */
public final class GreeterServer {
  private GreeterServer() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 7070;
    // [greeter-server]
    FerryServer server = FerryServer.builder()
        .host("127.0.0.1") // loopback only: leave host out to serve other machines too
        .port(port)
        .addService(GreeterFerryService.bind(new GreeterService()))
        .build()
        .start();
    // Ctrl-C: shut down gracefully (calls in flight finish, clients are told to go elsewhere).
    Runtime.getRuntime().addShutdownHook(new Thread(server::close));
    System.out.println("Greeter listening on port " + server.port() + "; Ctrl-C stops it");
    // Ferry's threads are daemons: without this wait, main returns and the JVM exits at once.
    server.awaitTermination();
    // [greeter-server]
  }
}
