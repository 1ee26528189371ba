package dev.ferry.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code ferry ping HOST:PORT}: times the TCP connect, the TLS handshake, the Ferry handshake (prefaces
 * and SETTINGS) and PING round trips, speaking the protocol directly; makes no call.
 */
@Command(name = "ping", description = "Times the connect, the TLS and Ferry handshakes and PING round trips; makes no call.")
final class PingCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The server.")
  String target;

  @Option(names = {"-c", "--count"}, defaultValue = "1", description = "PINGs to send (default ${DEFAULT-VALUE}).")
  int count;

  @Option(names = {"-i", "--interval"}, paramLabel = "DURATION", converter = Durations.class, defaultValue = "1s",
      description = "Time between PINGs, at least the server's MIN_PING_INTERVAL_MS (default ${DEFAULT-VALUE}).")
  Duration interval;

  @Mixin
  ConnectionOptions connection;

  @Override
  public Integer call() {
    if (count < 1) {
      throw new CliException("--count: " + count + " (expected: >= 1)");
    }
    Target t = Target.parse(target);
    PrintWriter out = spec.commandLine().getOut();
    String peerHost = connection.serverName != null ? connection.serverName : t.host();
    try (WireProbe probe = WireProbe.open(t, connection.connectTimeout,
        connection.usesTls() ? connection.sslContext() : null, peerHost, !connection.noHostnameCheck)) {
      out.println("connected to " + t + " in " + Durations.format(probe.connectNanos));
      if (probe.tlsSession != null) {
        out.println("TLS handshake in " + Durations.format(probe.tlsNanos) + " (" + probe.tlsSession + ")");
      }
      out.println("Ferry handshake in " + Durations.format(probe.handshakeNanos) + "; server settings: "
          + settings(probe.settings));
      // PINGs closer together than the server's minimum interval are what TOO_MANY_PINGS punishes.
      long spacing = Math.max(interval.toNanos(), probe.setting(4, 0) * 1_000_000);
      List<Long> rtts = new ArrayList<>();
      for (int i = 1; i <= count; i++) {
        if (i > 1) {
          LockSupport.parkNanos(spacing);
        }
        long rtt = probe.ping();
        rtts.add(rtt);
        out.println("PING " + i + ": " + Durations.format(rtt));
        out.flush();
      }
      if (count > 1) {
        long min = rtts.stream().mapToLong(Long::longValue).min().orElse(0);
        long max = rtts.stream().mapToLong(Long::longValue).max().orElse(0);
        double avg = rtts.stream().mapToLong(Long::longValue).average().orElse(0);
        out.println("round trip min/avg/max: " + Durations.format(min) + " / " + Durations.format(avg) + " / "
            + Durations.format(max));
      }
      return 0;
    } catch (IOException e) {
      throw new CliException("ping " + t + ": " + e.getMessage(), e);
    }
  }

  private static String settings(Map<Integer, Long> settings) {
    if (settings.isEmpty()) {
      return "all defaults";
    }
    StringBuilder b = new StringBuilder();
    settings.forEach((id, value) -> {
      if (b.length() > 0) {
        b.append(", ");
      }
      b.append(WireProbe.SETTING_NAMES.getOrDefault(id, "setting " + id)).append('=').append(value);
    });
    return b.toString();
  }
}
