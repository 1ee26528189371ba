package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import dev.ferry.TlsBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

/**
 * A server's TLS configuration: its certificate and key, and whether (and against which roots) it
 * verifies client certificates. Immutable; the files it names were read when it was built.
 *
 * <pre>{@code
 * ServerTls tls = ServerTls.builder()
 *     .keyCertChain(Path.of("server.crt"), Path.of("server.key"))
 *     .trustRoots(Path.of("clients-ca.crt"))          // for mutual TLS
 *     .clientAuth(ServerTls.ClientAuth.REQUIRE)
 *     .build();
 * FerryServer server = FerryServer.builder().tls(tls)...build().start();
 * ...
 * server.updateTls(ServerTls.builder()...build());    // rotated certificate: new connections use it
 * }</pre>
 *
 * <p>Defaults: TLS 1.3 only, the provider's default cipher suites, no client certificates asked for,
 * OpenSSL when netty-tcnative is on the class path, else the JDK's TLS.
 */
public final class ServerTls {
  /** Whether the server asks clients for a certificate. */
  public enum ClientAuth {
    /** Do not ask (the default). */
    NONE,
    /** Ask, and verify one if sent; clients without one are served too. */
    OPTIONAL,
    /** Require a certificate that chains to the trust roots; other clients fail the handshake. */
    REQUIRE
  }

  private final SslContext context;
  private final String description;

  private ServerTls(SslContext context, String description) {
    this.context = context;
    this.description = description;
  }

  /** A builder; {@link Builder#keyCertChain} (or {@link Builder#keyManager}) is required. */
  public static Builder builder() {
    return new Builder();
  }

  SslContext context() {
    return context;
  }

  @Override
  public String toString() {
    return description;
  }

  /** Builds {@link ServerTls}. Not thread-safe. */
  public static final class Builder extends TlsBuilder<Builder> {
    private ClientAuth clientAuth = ClientAuth.NONE;

    private Builder() {}

    /**
     * Whether to ask clients for certificates; default {@link ClientAuth#NONE}. Other values need
     * {@link #trustRoots} (or a trust manager): the CA whose certificates identify clients.
     */
    public Builder clientAuth(ClientAuth clientAuth) {
      this.clientAuth = requireNonNull(clientAuth, "clientAuth");
      return this;
    }

    /**
     * Reads the files and checks the material.
     *
     * @throws IllegalStateException if no certificate and key were given, or if client certificates are
     *     asked for without trust roots (the JDK's default roots would accept any publicly issued
     *     certificate as a client)
     * @throws IllegalArgumentException if a file is unreadable or the material is invalid
     */
    public ServerTls build() {
      if (clientAuth != ClientAuth.NONE && !hasTrustMaterial()) {
        throw new IllegalStateException("clientAuth: " + clientAuth
            + " (expected: trustRoots(...) or trustManager(...) naming the CA of client certificates)");
      }
      SslContextBuilder b = serverContextBuilder();
      b.clientAuth(io.netty.handler.ssl.ClientAuth.valueOf(clientAuth.name()));
      SslContext context = build(b);
      return new ServerTls(context, "TLS " + protocolList() + " (" + providerName() + ", client certificates: "
          + clientAuth.name().toLowerCase(java.util.Locale.ROOT) + ")");
    }
  }
}
