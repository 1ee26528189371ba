package dev.ferry.cli;

import dev.ferry.FerryException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code ferry}: list, describe and call the services of a Ferry server, check its health, ping it and
 * load-test it, from a shell. Runs on the calling thread; each command opens one channel (or socket) and
 * closes it before returning.
 *
 * <p>Exit codes: 0 success; 1 a local failure (bad input, a file or method not found); 2 a usage error;
 * 64 + the status code when a call fails (e.g. 69 for NOT_FOUND, 78 for UNAVAILABLE); {@code health}
 * exits 1 for NOT_SERVING.
 */
@Command(name = "ferry", mixinStandardHelpOptions = true, versionProvider = FerryCli.Version.class,
    description = "Lists, describes, calls, health-checks, pings and load-tests Ferry servers.",
    subcommands = {ListCommand.class, DescribeCommand.class, CallCommand.class, HealthCommand.class,
        PingCommand.class, BenchCommand.class, CommandLine.HelpCommand.class},
    footer = {"", "Exit codes: 0 success, 1 local failure, 2 usage error, 64 + status code when a call fails "
        + "(69 NOT_FOUND, 78 UNAVAILABLE, ...); health: 1 when NOT_SERVING."})
public final class FerryCli implements Runnable {
  /** Exit code of a local failure: bad input, an unreadable file, no such method. */
  static final int FAILURE = 1;
  /** Added to a failed call's status code to make the exit code. */
  static final int STATUS_BASE = 64;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
    PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
    System.exit(run(args, out, err));
  }

  /** Runs the tool with {@code args}, writing to {@code out} and {@code err}; returns the exit code. */
  static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new FerryCli());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((e, command, parseResult) -> {
      int code = report(e, err);
      err.flush();
      return code;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** Prints a command's failure in one or two lines and picks the exit code. */
  static int report(Throwable e, PrintWriter err) {
    if (e instanceof FerryException) {
      FerryException f = (FerryException) e;
      err.println("ERROR: " + f.code() + (f.description().isEmpty() ? "" : ": " + f.description()));
      for (Map.Entry<String, String> t : f.trailers().entries()) {
        err.println("  trailer " + t.getKey() + ": " + t.getValue());
      }
      return STATUS_BASE + f.code().value();
    }
    if (e instanceof CliException) {
      err.println("ferry: " + e.getMessage());
      return FAILURE;
    }
    err.println("ferry: " + e);
    e.printStackTrace(err);
    return FAILURE;
  }

  /** The version from the jar's manifest. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = FerryCli.class.getPackage().getImplementationVersion();
      return new String[] {"ferry " + (v == null ? "(development build)" : v)};
    }
  }
}
