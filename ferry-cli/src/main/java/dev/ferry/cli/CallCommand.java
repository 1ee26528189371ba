package dev.ferry.cli;

import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.Response;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ferry call HOST:PORT METHOD -d JSON}: one call, JSON in and out. */
@Command(name = "call", description = "Calls a method with a request given as JSON and prints the response as JSON.")
final class CallCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The server.")
  String target;

  @Parameters(index = "1", paramLabel = "METHOD", description = "package.Service/Method")
  String method;

  @Option(names = {"-d", "--data"}, paramLabel = "JSON", defaultValue = "{}",
      description = "The request in protobuf's JSON mapping; @FILE reads a file, @- standard input (default: {}).")
  String data;

  @Option(names = "--emit-defaults", description = "Also print fields that hold their default value.")
  boolean emitDefaults;

  @Option(names = {"-v", "--verbose"}, description = "Also print the response's trailing metadata and the call's time.")
  boolean verbose;

  @Mixin
  ConnectionOptions connection;

  @Mixin
  SchemaOptions schemaOptions;

  @Override
  public Integer call() throws Exception {
    Target t = Target.parse(target);
    PrintWriter out = spec.commandLine().getOut();
    try (FerryChannel channel = connection.open(t, 1)) {
      CallOptions options = connection.callOptions();
      MethodDescriptor m = schemaOptions.open(channel, options, t).method(method);
      DynamicMessage request = DynamicMethods.request(m, data, System.in);
      long start = System.nanoTime();
      Response<DynamicMessage> response = await(channel.exchange(DynamicMethods.of(m), request, options));
      long nanos = System.nanoTime() - start;
      JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(DynamicMethods.registry(m));
      if (emitDefaults) {
        printer = printer.alwaysPrintFieldsWithNoPresence();
      }
      try {
        out.println(printer.print(response.message()));
      } catch (InvalidProtocolBufferException e) {
        throw new CliException("cannot print the response as JSON: " + e.getMessage(), e);
      }
      if (verbose) {
        PrintWriter err = spec.commandLine().getErr();
        for (Map.Entry<String, String> e : response.trailers().entries()) {
          err.println("trailer " + e.getKey() + ": " + e.getValue());
        }
        err.println("OK in " + Durations.format(nanos));
      }
      return 0;
    }
  }

  static <T> T await(java.util.concurrent.CompletableFuture<T> future) throws InterruptedException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof FerryException) {
        throw (FerryException) e.getCause();
      }
      throw new FerryException(StatusCode.UNKNOWN, String.valueOf(e.getCause()), e.getCause());
    } catch (CancellationException e) {
      throw new FerryException(StatusCode.CANCELLED, "cancelled", e);
    }
  }
}
