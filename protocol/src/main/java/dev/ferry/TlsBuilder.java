package dev.ferry;

import static java.util.Objects.requireNonNull;

import dev.ferry.internal.TlsSupport;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * What the server's and the client's TLS options share: this side's certificate and key, the roots it
 * trusts to verify the peer, the protocol versions, cipher suites and TLS implementation. The subclasses
 * are {@code dev.ferry.server.ServerTls.Builder} and {@code dev.ferry.client.ClientTls.Builder}.
 *
 * <p>Files are read, and the material checked, when the options are built, so that a bad file fails
 * there and not on the first connection; to reload changed files, build the options again.
 *
 * @param <B> the concrete builder type
 */
public abstract class TlsBuilder<B extends TlsBuilder<B>> {
  /** The protocol versions used unless {@link #protocols} says otherwise: TLS 1.3 only. */
  public static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3");

  private Path certChainFile;
  private Path keyFile;
  private PrivateKey key;
  private X509Certificate[] chain;
  private KeyManagerFactory keyManager;
  private Path trustFile;
  private X509Certificate[] trustRoots;
  private TrustManagerFactory trustManager;
  private List<String> protocols = DEFAULT_PROTOCOLS;
  private List<String> ciphers;
  private TlsProvider provider = TlsProvider.AUTO;

  protected TlsBuilder() {}

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  /**
   * This side's certificate chain (PEM, leaf first) and its private key (PEM, PKCS#8, unencrypted),
   * read from files when the options are built. Replaces any key material set before.
   */
  public B keyCertChain(Path certChainPem, Path privateKeyPem) {
    clearKeyMaterial();
    this.certChainFile = requireNonNull(certChainPem, "certChainPem");
    this.keyFile = requireNonNull(privateKeyPem, "privateKeyPem");
    return self();
  }

  /** This side's private key and certificate chain (leaf first). Replaces any key material set before. */
  public B keyCertChain(PrivateKey key, X509Certificate... chain) {
    requireNonNull(key, "key");
    requireNonNull(chain, "chain");
    if (chain.length == 0) {
      throw new IllegalArgumentException("chain: empty (expected: at least the leaf certificate)");
    }
    clearKeyMaterial();
    this.key = key;
    this.chain = chain.clone();
    return self();
  }

  /** This side's key material from a key manager (a key store, an HSM). Replaces any set before. */
  public B keyManager(KeyManagerFactory keyManager) {
    clearKeyMaterial();
    this.keyManager = requireNonNull(keyManager, "keyManager");
    return self();
  }

  private void clearKeyMaterial() {
    certChainFile = null;
    keyFile = null;
    key = null;
    chain = null;
    keyManager = null;
  }

  /**
   * The certificate authorities (PEM file, one or more certificates) that the peer's certificate must
   * chain to. Default: the JDK's trust store. Replaces any trust set before.
   */
  public B trustRoots(Path caCertificatesPem) {
    clearTrust();
    this.trustFile = requireNonNull(caCertificatesPem, "caCertificatesPem");
    return self();
  }

  /** The certificate authorities the peer's certificate must chain to. Replaces any trust set before. */
  public B trustRoots(X509Certificate... roots) {
    requireNonNull(roots, "roots");
    if (roots.length == 0) {
      throw new IllegalArgumentException("roots: empty (expected: at least one certificate)");
    }
    clearTrust();
    this.trustRoots = roots.clone();
    return self();
  }

  /** Verifies the peer with this trust manager. Replaces any trust set before. */
  public B trustManager(TrustManagerFactory trustManager) {
    clearTrust();
    this.trustManager = requireNonNull(trustManager, "trustManager");
    return self();
  }

  private void clearTrust() {
    trustFile = null;
    trustRoots = null;
    trustManager = null;
  }

  /**
   * The TLS versions to allow: {@code "TLSv1.3"} and/or {@code "TLSv1.2"}. Default
   * {@link #DEFAULT_PROTOCOLS} (1.3 only); pass both to accept peers that only speak 1.2.
   */
  public B protocols(String... protocols) {
    this.protocols = TlsSupport.checkProtocols(protocols);
    return self();
  }

  /** The cipher suites to allow, in order of preference. Default: the provider's secure defaults. */
  public B ciphers(String... ciphers) {
    requireNonNull(ciphers, "ciphers");
    if (ciphers.length == 0) {
      throw new IllegalArgumentException("ciphers: empty (expected: at least one cipher suite)");
    }
    this.ciphers = List.of(ciphers);
    return self();
  }

  /** The TLS implementation; default {@link TlsProvider#AUTO}. */
  public B provider(TlsProvider provider) {
    this.provider = requireNonNull(provider, "provider");
    return self();
  }

  /** Whether key material was given. */
  protected final boolean hasKeyMaterial() {
    return keyFile != null || key != null || keyManager != null;
  }

  /** Whether trust roots or a trust manager were given (else the JDK's default trust store is used). */
  protected final boolean hasTrustMaterial() {
    return trustFile != null || trustRoots != null || trustManager != null;
  }

  /** A Netty server context builder with this key material (which must have been given). */
  protected final SslContextBuilder serverContextBuilder() {
    try {
      return newServerContextBuilder();
    } catch (IllegalArgumentException e) {
      throw invalid(e);
    }
  }

  private SslContextBuilder newServerContextBuilder() {
    if (keyFile != null) {
      checkKeyFilesReadable();
      return SslContextBuilder.forServer(certChainFile.toFile(), keyFile.toFile());
    }
    if (key != null) {
      return SslContextBuilder.forServer(key, chain);
    }
    if (keyManager != null) {
      return SslContextBuilder.forServer(keyManager);
    }
    throw new IllegalStateException("no certificate and key (expected: keyCertChain(...) or keyManager(...))");
  }

  /** A Netty client context builder with this key material, if any. */
  protected final SslContextBuilder clientContextBuilder() {
    try {
      return newClientContextBuilder();
    } catch (IllegalArgumentException e) {
      throw invalid(e);
    }
  }

  private SslContextBuilder newClientContextBuilder() {
    SslContextBuilder b = SslContextBuilder.forClient();
    if (keyFile != null) {
      checkKeyFilesReadable();
      b.keyManager(certChainFile.toFile(), keyFile.toFile());
    } else if (key != null) {
      b.keyManager(key, chain);
    } else if (keyManager != null) {
      b.keyManager(keyManager);
    }
    return b;
  }

  /** Adds trust, versions, ciphers and provider to {@code b}, and builds the context. */
  protected final SslContext build(SslContextBuilder b) {
    if (trustFile != null) {
      checkReadable(trustFile, "caCertificatesPem");
      b.trustManager(trustFile.toFile());
    } else if (trustRoots != null) {
      b.trustManager(trustRoots);
    } else if (trustManager != null) {
      b.trustManager(trustManager);
    }
    b.sslProvider(TlsSupport.sslProvider(provider)).protocols(protocols);
    if (ciphers != null) {
      b.ciphers(ciphers);
    }
    try {
      return b.build();
    } catch (SSLException | RuntimeException e) {
      throw invalid(e);
    }
  }

  private static IllegalArgumentException invalid(Exception e) {
    return new IllegalArgumentException("invalid TLS configuration: " + e.getMessage(), e);
  }

  /** "OpenSSL" or "JDK": the implementation the options use, for descriptions. */
  protected final String providerName() {
    return TlsSupport.sslProvider(provider) == io.netty.handler.ssl.SslProvider.JDK ? "JDK" : "OpenSSL";
  }

  /** The protocol versions, for descriptions. */
  protected final List<String> protocolList() {
    return protocols;
  }

  private void checkKeyFilesReadable() {
    checkReadable(certChainFile, "certChainPem");
    checkReadable(keyFile, "privateKeyPem");
  }

  private static void checkReadable(Path file, String name) {
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException(name + ": " + file + " (expected: a readable PEM file)");
    }
  }
}
