package dev.ferry.cli;

import com.google.protobuf.Descriptors.GenericDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import dev.ferry.client.FerryChannel;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ferry list HOST:PORT [SERVICE]}: the services, or one service's methods. */
@Command(name = "list", description = "Lists the server's services, or the methods of one.")
final class ListCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The server.")
  String target;

  @Parameters(index = "1", arity = "0..1", paramLabel = "SERVICE", description = "A service's full name.")
  String service;

  @Mixin
  ConnectionOptions connection;

  @Mixin
  SchemaOptions schemaOptions;

  @Override
  public Integer call() {
    Target t = Target.parse(target);
    try (FerryChannel channel = connection.open(t, 1)) {
      Schema schema = schemaOptions.open(channel, connection.callOptions(), t);
      if (service == null) {
        schema.services().forEach(spec.commandLine().getOut()::println);
        return 0;
      }
      GenericDescriptor found = schema.find(service);
      if (!(found instanceof ServiceDescriptor)) {
        throw new CliException(service + " is not a service (see: ferry describe " + t + " " + service + ")");
      }
      for (MethodDescriptor m : ((ServiceDescriptor) found).getMethods()) {
        spec.commandLine().getOut().println(m.getService().getFullName() + "/" + m.getName());
      }
      return 0;
    }
  }
}
