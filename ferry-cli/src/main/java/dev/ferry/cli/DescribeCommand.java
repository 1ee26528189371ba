package dev.ferry.cli;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.GenericDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import dev.ferry.client.FerryChannel;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ferry describe HOST:PORT [SYMBOL]}: a service, method, message or enum as {@code .proto} text. */
@Command(name = "describe",
    description = "Shows a service, method, message or enum as .proto declarations; every service without SYMBOL.")
final class DescribeCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The server.")
  String target;

  @Parameters(index = "1", arity = "0..1", paramLabel = "SYMBOL",
      description = "package.Service, package.Service/Method, package.Message or package.Enum.")
  String symbol;

  @Mixin
  ConnectionOptions connection;

  @Mixin
  SchemaOptions schemaOptions;

  @Override
  public Integer call() {
    Target t = Target.parse(target);
    PrintWriter out = spec.commandLine().getOut();
    try (FerryChannel channel = connection.open(t, 1)) {
      Schema schema = schemaOptions.open(channel, connection.callOptions(), t);
      if (symbol == null) {
        boolean first = true;
        for (String name : schema.services()) {
          if (!first) {
            out.println();
          }
          first = false;
          describe(schema.find(name), out);
        }
        return 0;
      }
      describe(schema.find(symbol), out);
      return 0;
    }
  }

  private static void describe(GenericDescriptor d, PrintWriter out) {
    if (d instanceof ServiceDescriptor) {
      out.println(d.getFullName() + " is a service (" + d.getFile().getName() + "):");
      out.print(ProtoPrinter.service((ServiceDescriptor) d));
    } else if (d instanceof MethodDescriptor) {
      MethodDescriptor m = (MethodDescriptor) d;
      out.println(m.getService().getFullName() + "/" + m.getName() + " is a method (" + d.getFile().getName() + "):");
      out.println(ProtoPrinter.rpc(m));
      out.println();
      out.print(ProtoPrinter.message(m.getInputType()));
      if (m.getOutputType() != m.getInputType()) {
        out.println();
        out.print(ProtoPrinter.message(m.getOutputType()));
      }
    } else if (d instanceof Descriptor) {
      out.println(d.getFullName() + " is a message (" + d.getFile().getName() + "):");
      out.print(ProtoPrinter.message((Descriptor) d));
    } else if (d instanceof EnumDescriptor) {
      out.println(d.getFullName() + " is an enum (" + d.getFile().getName() + "):");
      out.print(ProtoPrinter.enumType((EnumDescriptor) d));
    } else {
      out.println(d.getFullName());
    }
  }
}
