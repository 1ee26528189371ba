package dev.ferry.benchmarks;

import dev.ferry.testing.TestPki;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Throwaway certificates for the TLS rows, made once per run in a temporary directory. */
final class BenchCertificates {
  private static final Path DIR = make();

  private BenchCertificates() {}

  private static Path make() {
    try {
      Path dir = Files.createTempDirectory("ferry-bench-certs");
      dir.toFile().deleteOnExit();
      TestPki.Authority ca = TestPki.newAuthority("Ferry Bench CA");
      ca.writePem(dir, "ca");
      ca.issue(TestPki.spec("localhost").dns("localhost").ip("127.0.0.1").server()).writePem(dir, "server");
      for (String f : new String[] {"ca.crt", "server.crt", "server.key"}) {
        dir.resolve(f).toFile().deleteOnExit();
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path ca() {
    return DIR.resolve("ca.crt");
  }

  static Path serverChain() {
    return DIR.resolve("server.crt");
  }

  static Path serverKey() {
    return DIR.resolve("server.key");
  }
}
