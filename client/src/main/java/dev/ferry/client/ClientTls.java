package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.TlsBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.util.Optional;

/**
 * A channel's TLS configuration: which roots it trusts to verify the server, how it checks the
 * server's name, and the client certificate it presents for mutual TLS. Immutable; the files it names
 * were read when it was built.
 *
 * <pre>{@code
 * ClientTls tls = ClientTls.builder()
 *     .trustRoots(Path.of("ca.crt"))                                  // default: the JDK's trust store
 *     .keyCertChain(Path.of("client.crt"), Path.of("client.key"))     // only for mutual TLS
 *     .build();
 * FerryChannel channel = FerryChannel.builder("orders.internal", 7443).tls(tls).build();
 * }</pre>
 *
 * <p>Defaults: TLS 1.3 only, the server's certificate must chain to a trusted root and name the host
 * the channel connects to (hostname verification), no client certificate, OpenSSL when netty-tcnative
 * is on the class path, else the JDK's TLS.
 */
public final class ClientTls {
  private final SslContext context;
  private final String serverName;
  private final String description;

  private ClientTls(SslContext context, String serverName, String description) {
    this.context = context;
    this.serverName = serverName;
    this.description = description;
  }

  /** A builder; with nothing set, it trusts the JDK's roots and verifies the server's name. */
  public static Builder builder() {
    return new Builder();
  }

  SslContext context() {
    return context;
  }

  /** The name to verify and send (SNI) instead of the channel's host, if one was set. */
  Optional<String> serverName() {
    return Optional.ofNullable(serverName);
  }

  @Override
  public String toString() {
    return description;
  }

  /** Builds {@link ClientTls}. Not thread-safe. */
  public static final class Builder extends TlsBuilder<Builder> {
    private boolean verifyHostname = true;
    private String serverName;

    private Builder() {}

    /**
     * Whether the server's certificate must name the host the channel connects to (or
     * {@link #serverName}); default true. Turning it off lets any certificate from a trusted root pass,
     * which is only safe when that root issues certificates to nothing but these servers.
     */
    public Builder hostnameVerification(boolean verify) {
      this.verifyHostname = verify;
      return this;
    }

    /**
     * The name to check the server's certificate against and to send as SNI, instead of the host the
     * channel connects to: for connecting by IP address, or through a tunnel, to a server whose
     * certificate carries a DNS name.
     */
    public Builder serverName(String serverName) {
      requireNonNull(serverName, "serverName");
      if (serverName.isEmpty()) {
        throw new IllegalArgumentException("serverName: \"\" (expected: a host name)");
      }
      this.serverName = serverName;
      return this;
    }

    /**
     * Reads the files and checks the material.
     *
     * @throws IllegalArgumentException if a file is unreadable or the material is invalid
     */
    public ClientTls build() {
      SslContextBuilder b = clientContextBuilder();
      b.endpointIdentificationAlgorithm(verifyHostname ? "HTTPS" : null);
      SslContext context = build(b);
      return new ClientTls(context, serverName, "TLS " + protocolList() + " (" + providerName()
          + (verifyHostname ? "" : ", hostname verification off") + (hasKeyMaterial() ? ", client certificate" : "")
          + ")");
    }
  }
}
