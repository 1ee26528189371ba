package dev.ferry.cli;

import dev.ferry.Metadata;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientTls;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.PoolOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** How to reach the server and what to send with each call: TLS, metadata, deadline. A picocli mixin. */
final class ConnectionOptions {
  @Option(names = "--tls", description = "Connect with TLS (implied by --cacert and --cert).")
  boolean tls;

  @Option(names = "--cacert", paramLabel = "FILE",
      description = "PEM certificates of the CAs the server's certificate must chain to (default: the JDK's trust store).")
  Path caCert;

  @Option(names = "--cert", paramLabel = "FILE", description = "PEM client certificate chain, for mutual TLS (with --key).")
  Path cert;

  @Option(names = "--key", paramLabel = "FILE", description = "PEM private key of --cert.")
  Path key;

  @Option(names = "--servername", paramLabel = "NAME",
      description = "The name the server's certificate must carry (default: the target's host).")
  String serverName;

  @Option(names = "--no-hostname-check",
      description = "Accept a server certificate issued for another name (it must still chain to a trusted CA).")
  boolean noHostnameCheck;

  @Option(names = {"-H", "--header"}, paramLabel = "KEY=VALUE",
      description = "Metadata sent with each call; repeat for more. Keys are lowercased.")
  List<String> headers = new ArrayList<>();

  @Option(names = "--deadline", paramLabel = "DURATION", converter = Durations.class, defaultValue = "10s",
      description = "Time each call may take (e.g. 500ms, 10s; default ${DEFAULT-VALUE}).")
  Duration deadline;

  @Option(names = "--connect-timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "5s",
      description = "Time the TCP connect may take (default ${DEFAULT-VALUE}).")
  Duration connectTimeout;

  boolean usesTls() {
    return tls || caCert != null || cert != null || key != null || serverName != null || noHostnameCheck;
  }

  /** A channel to {@code target} with {@code connections} connections. */
  FerryChannel open(Target target, int connections) {
    var builder = FerryChannel.builder(target.host(), target.port())
        .connectTimeout(connectTimeout)
        .pool(PoolOptions.builder().size(connections).build());
    if (usesTls()) {
      builder.tls(clientTls());
    }
    return builder.build();
  }

  private ClientTls clientTls() {
    var tlsBuilder = ClientTls.builder();
    if (caCert != null) {
      tlsBuilder.trustRoots(readable(caCert, "--cacert"));
    }
    if ((cert == null) != (key == null)) {
      throw new CliException("--cert and --key go together (expected: both, for mutual TLS, or neither)");
    }
    if (cert != null) {
      tlsBuilder.keyCertChain(readable(cert, "--cert"), readable(key, "--key"));
    }
    if (serverName != null) {
      tlsBuilder.serverName(serverName);
    }
    if (noHostnameCheck) {
      tlsBuilder.hostnameVerification(false);
    }
    try {
      return tlsBuilder.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new CliException("TLS: " + e.getMessage(), e);
    }
  }

  /**
   * A JDK SSL context for a raw socket ({@code ferry ping}), from the same options: trust {@code --cacert}
   * (or the JDK's store), present {@code --cert}/{@code --key}.
   */
  javax.net.ssl.SSLContext sslContext() {
    if ((cert == null) != (key == null)) {
      throw new CliException("--cert and --key go together (expected: both, for mutual TLS, or neither)");
    }
    try {
      var builder = io.netty.handler.ssl.SslContextBuilder.forClient()
          .sslProvider(io.netty.handler.ssl.SslProvider.JDK);
      if (caCert != null) {
        builder.trustManager(readable(caCert, "--cacert").toFile());
      }
      if (cert != null) {
        builder.keyManager(readable(cert, "--cert").toFile(), readable(key, "--key").toFile());
      }
      return ((io.netty.handler.ssl.JdkSslContext) builder.build()).context();
    } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
      throw new CliException("TLS: " + e.getMessage(), e);
    }
  }

  static Path readable(Path file, String option) {
    if (!Files.isReadable(file)) {
      throw new CliException(option + ": cannot read " + file);
    }
    return file;
  }

  /** The deadline and the {@code -H} metadata. */
  CallOptions callOptions() {
    return callOptions(true);
  }

  /** The {@code -H} metadata, and the deadline if {@code withDeadline}. */
  CallOptions callOptions(boolean withDeadline) {
    Metadata.Builder metadata = Metadata.builder();
    for (String h : headers) {
      int eq = h.indexOf('=');
      if (eq <= 0) {
        throw new CliException("-H: \"" + h + "\" (expected: key=value)");
      }
      try {
        metadata.add(h.substring(0, eq).trim().toLowerCase(Locale.ROOT), h.substring(eq + 1));
      } catch (IllegalArgumentException e) {
        throw new CliException("-H: " + e.getMessage(), e);
      }
    }
    CallOptions.Builder options = CallOptions.builder().metadata(metadata.build());
    return (withDeadline ? options.timeout(deadline) : options).build();
  }
}
