package dev.ferry.examples.greeter;

import dev.ferry.client.FerryChannel;
import java.time.Duration;

/**
 * Calls a running {@link GreeterServer} once and prints the greeting.
 *
 * <pre>
 *   mvn -q exec:java -Dexec.mainClass=dev.ferry.examples.greeter.GreeterClient [-Dexec.args="name [port]"]
 * </pre>
 */
public final class GreeterClient {
  private GreeterClient() {}

  public static void main(String[] args) throws Exception {
    String name = args.length > 0 ? args[0] : "Ferry";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 7070;
    // [greeter-client]
    try (FerryChannel channel = FerryChannel.builder("127.0.0.1", port).build()) {
      GreeterFerryStub greeter = GreeterFerryStub.create(channel).withTimeout(Duration.ofSeconds(5));
      // Throws FerryException on failure: UNAVAILABLE, saying so, when no server is running.
      HelloReply reply = greeter.sayHello(HelloRequest.newBuilder().setName(name).build());
      System.out.println(reply.getMessage());
    }
    // [greeter-client]
  }
}
