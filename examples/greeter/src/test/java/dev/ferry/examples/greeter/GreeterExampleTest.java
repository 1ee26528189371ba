package dev.ferry.examples.greeter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import org.junit.jupiter.api.Test;

/** How to test a service: start it on a free loopback port and call it through the stub. */
class GreeterExampleTest {
  @Test
  void greets() throws Exception {
    try (FerryServer server = FerryServer.builder().host("127.0.0.1").port(0)
            .addService(GreeterFerryService.bind(new GreeterExample.Greeter())).build().start();
        FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).build()) {
      HelloReply reply = GreeterFerryStub.create(channel).sayHello(HelloRequest.newBuilder().setName("test").build());
      assertEquals("Hello, test!", reply.getMessage());
    }
  }
}
