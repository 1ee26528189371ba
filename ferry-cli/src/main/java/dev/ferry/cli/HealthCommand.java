package dev.ferry.cli;

import dev.ferry.StreamReader;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.services.HealthService;
import dev.ferry.services.health.v1.HealthCheckRequest;
import dev.ferry.services.health.v1.HealthCheckResponse;
import dev.ferry.services.health.v1.HealthCheckResponse.ServingStatus;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code ferry health HOST:PORT [SERVICE]}: asks the health service (ferry.health.v1); exits 0 only when
 * SERVING, so that it can serve as a container health probe. With {@code --watch}, prints each status
 * the server sends until the watch ends (the server shuts down), then exits as for the last one.
 */
@Command(name = "health",
    description = "Checks the server's health (or one service's) with ferry.health.v1; exits 0 only when SERVING.")
final class HealthCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The server.")
  String target;

  @Parameters(index = "1", arity = "0..1", paramLabel = "SERVICE", defaultValue = "",
      description = "A service's full name (default: the whole server).")
  String service;

  @Option(names = {"-w", "--watch"}, description = "Print the status, then each change, until the server "
      + "ends the watch (it shuts down); exit as for the last status. No deadline unless --deadline is given.")
  boolean watch;

  @Mixin
  ConnectionOptions connection;

  @Override
  public Integer call() throws Exception {
    Target t = Target.parse(target);
    try (FerryChannel channel = connection.open(t, 1)) {
      if (watch) {
        return watch(channel);
      }
      ServingStatus status = CallCommand.await(channel.call(HealthService.CHECK,
          HealthCheckRequest.newBuilder().setService(service).build(), connection.callOptions())).getStatus();
      spec.commandLine().getOut().println(status);
      return status == ServingStatus.SERVING ? 0 : FerryCli.FAILURE;
    }
  }

  private int watch(FerryChannel channel) {
    boolean deadlineGiven = spec.commandLine().getParseResult().hasMatchedOption("--deadline");
    CallOptions options = connection.callOptions(deadlineGiven);
    PrintWriter out = spec.commandLine().getOut();
    ServingStatus last = ServingStatus.UNKNOWN;
    try (StreamReader<HealthCheckResponse> changes = channel.serverStream(HealthService.WATCH,
        HealthCheckRequest.newBuilder().setService(service).build(), options)) {
      while (changes.hasNext()) { // a failure (a lost connection, UNIMPLEMENTED) throws: 64 + its code
        last = changes.next().getStatus();
        out.println(last);
        out.flush();
      }
    }
    return last == ServingStatus.SERVING ? 0 : FerryCli.FAILURE;
  }
}
