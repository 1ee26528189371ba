package dev.ferry.examples.greeter;

import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;

/** Hello world: a server and a client in one program. */
public final class GreeterExample {
  private GreeterExample() {}

  public static void main(String[] args) throws Exception {
    // [greeter-main]
    try (FerryServer server = FerryServer.builder()
            .host("127.0.0.1").port(0) // loopback, any free port
            .addService(GreeterFerryService.bind(new GreeterService()))
            .build()
            .start();
        FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).build()) {
      GreeterFerryStub greeter = GreeterFerryStub.create(channel);
      HelloReply reply = greeter.sayHello(HelloRequest.newBuilder().setName("Ferry").build());
      System.out.println(reply.getMessage());
    }
    // [greeter-main]
  }
}
