package dev.ferry;

/** Which TLS implementation a Ferry server or channel uses. */
public enum TlsProvider {
  /**
   * OpenSSL (BoringSSL) through netty-tcnative when it is on the class path and loads on this
   * platform, else the JDK's. The default.
   */
  AUTO,
  /** The JDK's own TLS implementation (JSSE). Always available. */
  JDK,
  /**
   * OpenSSL through netty-tcnative; add {@code io.netty:netty-tcnative-boringssl-static} (with the
   * classifier of your platform) to the class path. Faster than the JDK's, see BENCHMARKS.md.
   * Building the options fails if it is not available.
   */
  OPENSSL
}
