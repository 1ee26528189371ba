package dev.ferry.examples.greeter;

import dev.ferry.server.CallContext;

// [greeter-service]
/** The service: implement the generated interface. */
public final class GreeterService implements GreeterFerryService {
  @Override
  public HelloReply sayHello(HelloRequest request, CallContext context) {
    return HelloReply.newBuilder().setMessage("Hello, " + request.getName() + "!").build();
  }
}
// [greeter-service]
