package dev.ferry.cli;

import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.client.BidiStreamingCall;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientStreamingCall;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.Response;
import java.io.PrintWriter;
import java.util.List;
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

/**
 * {@code ferry call HOST:PORT METHOD -d JSON}: one call, JSON in and out. Streaming methods too: a client
 * stream sends each JSON object of {@code -d}, and each message of a server stream is printed as it comes.
 */
@Command(name = "call", description = {"Calls a method with a request given as JSON and prints the response as JSON.",
    "Streaming methods: -d holds one JSON object per request message (a client stream sends them all, then "
        + "half-closes), and each response message is printed as it arrives. A streaming call has no deadline "
        + "unless --deadline is given."})
final class CallCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The server.")
  String target;

  @Parameters(index = "1", paramLabel = "METHOD", description = "package.Service/Method")
  String method;

  @Option(names = {"-d", "--data"}, paramLabel = "JSON", defaultValue = "{}",
      description = "The request in protobuf's JSON mapping, or for a client stream its requests one after the "
          + "other; @FILE reads a file, @- standard input (default: {}).")
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
      MethodDescriptor m = schemaOptions.open(channel, connection.callOptions(), t).method(method);
      JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(DynamicMethods.registry(m));
      if (emitDefaults) {
        printer = printer.alwaysPrintFieldsWithNoPresence();
      }
      if (m.isClientStreaming() || m.isServerStreaming()) {
        // A stream may be meant to stay open (a watch): no deadline unless one is given.
        boolean deadlineGiven = spec.commandLine().getParseResult().hasMatchedOption("--deadline");
        return stream(channel, m, connection.callOptions(deadlineGiven), printer, out);
      }
      CallOptions options = connection.callOptions();
      DynamicMessage request = DynamicMethods.request(m, data, System.in);
      long start = System.nanoTime();
      Response<DynamicMessage> response = await(channel.exchange(DynamicMethods.of(m), request, options));
      long nanos = System.nanoTime() - start;
      print(printer, response.message(), out);
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

  /**
   * A streaming call: the requests are the JSON objects of {@code -d}, one after the other (one for a
   * server stream); each response is printed as it arrives. A bidirectional call writes its requests on a
   * thread of its own while this one prints, so that neither side waits for the other's credit.
   */
  private int stream(FerryChannel channel, MethodDescriptor m, CallOptions options, JsonFormat.Printer printer,
      PrintWriter out) throws Exception {
    dev.ferry.MethodDescriptor<DynamicMessage, DynamicMessage> method = DynamicMethods.of(m);
    List<DynamicMessage> requests = m.isClientStreaming() ? DynamicMethods.requests(m, data, System.in)
        : List.of(DynamicMethods.request(m, data, System.in));
    long start = System.nanoTime();
    int received = 0;
    if (!m.isClientStreaming()) {
      try (StreamReader<DynamicMessage> responses = channel.serverStream(method, requests.get(0), options)) {
        while (responses.hasNext()) {
          print(printer, responses.next(), out);
          received++;
        }
      }
    } else if (!m.isServerStreaming()) {
      ClientStreamingCall<DynamicMessage, DynamicMessage> call = channel.clientStream(method, options);
      for (DynamicMessage request : requests) {
        call.write(request);
      }
      call.complete();
      print(printer, call.awaitResponse(), out);
      received++;
    } else {
      try (BidiStreamingCall<DynamicMessage, DynamicMessage> call = channel.bidiStream(method, options)) {
        Thread writer = new Thread(() -> {
          try {
            for (DynamicMessage request : requests) {
              call.requests().write(request);
            }
            call.requests().complete();
          } catch (FerryException e) {
            // The call ended early: the reader below gets its status and reports it.
          }
        }, "ferry-call-writer");
        writer.setDaemon(true);
        writer.start();
        while (call.responses().hasNext()) {
          print(printer, call.responses().next(), out);
          received++;
        }
        writer.join();
      }
    }
    if (verbose) {
      spec.commandLine().getErr().println("OK in " + Durations.format(System.nanoTime() - start) + ": "
          + requests.size() + " sent, " + received + " received");
    }
    return 0;
  }

  private static void print(JsonFormat.Printer printer, DynamicMessage message, PrintWriter out) {
    try {
      out.println(printer.print(message));
      out.flush();
    } catch (InvalidProtocolBufferException e) {
      throw new CliException("cannot print the response as JSON: " + e.getMessage(), e);
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
