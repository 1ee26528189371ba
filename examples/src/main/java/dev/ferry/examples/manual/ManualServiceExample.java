package dev.ferry.examples.manual;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;

/** A service written by hand, without code generation: what the generated code does for you. */
public final class ManualServiceExample {
  private ManualServiceExample() {}

  public static void main(String[] args) throws Exception {
    // [manual-service]
    MethodDescriptor<StringValue, StringValue> greet =
        MethodDescriptor.of("demo.Greeter/Greet", StringValue.parser(), StringValue.parser());

    ServiceDefinition greeter = ServiceDefinition.builder("demo.Greeter")
        .unary(greet, (request, context) -> {
          if (request.getValue().isEmpty()) {
            throw new FerryException(StatusCode.INVALID_ARGUMENT, "name must not be empty");
          }
          return StringValue.of("Hello, " + request.getValue());
        })
        .build();

    try (FerryServer server = FerryServer.builder().host("127.0.0.1").addService(greeter).build().start();
        FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).build()) {
      StringValue reply = channel.blockingCall(greet, StringValue.of("Ada"),
          CallOptions.builder().timeout(Duration.ofSeconds(2)).build());
      System.out.println(reply.getValue());
    }
    // [manual-service]
  }
}
