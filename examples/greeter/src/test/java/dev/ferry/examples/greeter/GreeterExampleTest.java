package dev.ferry.examples.greeter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.junit5.FerryServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** How to test a service: the extension runs it in-process for the tests and gives a channel to it. */
class GreeterExampleTest {
  // [greeter-test]
  @RegisterExtension
  static final FerryServerExtension ferry =
      FerryServerExtension.inProcess(GreeterFerryService.bind(new GreeterService()));

  @Test
  void greets() {
    GreeterFerryStub greeter = GreeterFerryStub.create(ferry.channel());
    HelloReply reply = greeter.sayHello(HelloRequest.newBuilder().setName("test").build());
    assertEquals("Hello, test!", reply.getMessage());
  }
  // [greeter-test]
}
