package dev.ferry.testing;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Throwaway certificate authorities and certificates for TLS tests, made in memory at test time so
 * that no private key is ever committed. Keys are EC P-256, signatures ECDSA with SHA-256.
 *
 * <pre>{@code
 * TestPki.Authority ca = TestPki.newAuthority("Test CA");
 * TestPki.Issued server = ca.issue(TestPki.spec("localhost").dns("localhost").ip("127.0.0.1").server());
 * Path dir = ...;
 * server.writePem(dir, "server");   // server.crt (chain: leaf then CA) and server.key (PKCS#8)
 * ca.writePem(dir, "ca");           // ca.crt
 * }</pre>
 */
public final class TestPki {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  private TestPki() {}

  /** A new self-signed CA named {@code CN=commonName}, valid from an hour ago for a day. */
  public static Authority newAuthority(String commonName) {
    KeyPair keys = newKeyPair();
    X500Name name = new X500Name("CN=" + commonName);
    Instant now = Instant.now();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))), name,
          keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      return new Authority(keys, sign(b, keys.getPrivate()));
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("could not make a test CA", e);
    }
  }

  /** The start of a certificate request for {@code CN=commonName}. */
  public static Spec spec(String commonName) {
    return new Spec(commonName);
  }

  /** What to put in an issued certificate. Mutable; one per certificate. */
  public static final class Spec {
    private final String commonName;
    private final List<GeneralName> altNames = new ArrayList<>();
    private final List<KeyPurposeId> purposes = new ArrayList<>();
    private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
    private Instant notAfter = Instant.now().plus(Duration.ofDays(1));

    private Spec(String commonName) {
      this.commonName = requireNonNull(commonName, "commonName");
    }

    /** Adds a DNS subject alternative name. */
    public Spec dns(String name) {
      altNames.add(new GeneralName(GeneralName.dNSName, name));
      return this;
    }

    /** Adds an IP address subject alternative name. */
    public Spec ip(String address) {
      altNames.add(new GeneralName(GeneralName.iPAddress, address));
      return this;
    }

    /** Adds a URI subject alternative name (e.g. a SPIFFE id). */
    public Spec uri(String uri) {
      altNames.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
      return this;
    }

    /** Usable as a TLS server certificate. */
    public Spec server() {
      purposes.add(KeyPurposeId.id_kp_serverAuth);
      return this;
    }

    /** Usable as a TLS client certificate. */
    public Spec client() {
      purposes.add(KeyPurposeId.id_kp_clientAuth);
      return this;
    }

    /** The validity period (for expired or not-yet-valid certificates). */
    public Spec validity(Instant notBefore, Instant notAfter) {
      this.notBefore = requireNonNull(notBefore, "notBefore");
      this.notAfter = requireNonNull(notAfter, "notAfter");
      return this;
    }
  }

  /** A CA: its key and self-signed certificate. Issues leaf certificates. */
  public static final class Authority {
    private final KeyPair keys;
    private final X509Certificate certificate;

    private Authority(KeyPair keys, X509Certificate certificate) {
      this.keys = keys;
      this.certificate = certificate;
    }

    /** The CA certificate (the trust root to give peers). */
    public X509Certificate certificate() {
      return certificate;
    }

    /** A new key pair and a certificate for it, signed by this CA. */
    public Issued issue(Spec spec) {
      KeyPair leafKeys = newKeyPair();
      try {
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, serial(),
            Date.from(spec.notBefore), Date.from(spec.notAfter), new X500Name("CN=" + spec.commonName),
            leafKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        if (!spec.purposes.isEmpty()) {
          b.addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(spec.purposes.toArray(new KeyPurposeId[0])));
        }
        if (!spec.altNames.isEmpty()) {
          b.addExtension(Extension.subjectAlternativeName, false,
              new GeneralNames(spec.altNames.toArray(new GeneralName[0])));
        }
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(leafKeys.getPublic()));
        return new Issued(leafKeys.getPrivate(), sign(b, keys.getPrivate()), certificate);
      } catch (GeneralSecurityException | IOException e) {
        throw new IllegalStateException("could not issue a test certificate", e);
      }
    }

    /** Writes {@code <name>.crt} (PEM) into {@code dir}; returns its path. */
    public Path writePem(Path dir, String name) {
      return write(dir.resolve(name + ".crt"), pem(certificate));
    }
  }

  /** An issued certificate, its private key and the CA that signed it. */
  public static final class Issued {
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final X509Certificate issuer;

    private Issued(PrivateKey key, X509Certificate certificate, X509Certificate issuer) {
      this.key = key;
      this.certificate = certificate;
      this.issuer = issuer;
    }

    public PrivateKey key() {
      return key;
    }

    public X509Certificate certificate() {
      return certificate;
    }

    /** The chain to present: this certificate, then its CA's. */
    public X509Certificate[] chain() {
      return new X509Certificate[] {certificate, issuer};
    }

    /** Writes {@code <name>.crt} (the chain, PEM) and {@code <name>.key} (PKCS#8 PEM) into {@code dir}. */
    public void writePem(Path dir, String name) {
      write(dir.resolve(name + ".crt"), pem((Object[]) chain()));
      write(dir.resolve(name + ".key"), pem(pkcs8(key)));
    }

    /** The path of {@code <name>.crt} in {@code dir}, as written by {@link #writePem}. */
    public static Path certificateFile(Path dir, String name) {
      return dir.resolve(name + ".crt");
    }

    /** The path of {@code <name>.key} in {@code dir}, as written by {@link #writePem}. */
    public static Path keyFile(Path dir, String name) {
      return dir.resolve(name + ".key");
    }
  }

  private static JcaPKCS8Generator pkcs8(PrivateKey key) {
    try {
      return new JcaPKCS8Generator(key, null); // unencrypted
    } catch (org.bouncycastle.util.io.pem.PemGenerationException e) {
      throw new IllegalStateException("could not encode a test key", e);
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no EC key pair generator", e);
    }
  }

  private static BigInteger serial() {
    return BigInteger.valueOf(SERIAL.incrementAndGet());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws GeneralSecurityException {
    try {
      ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").build(signer);
      return new JcaX509CertificateConverter().getCertificate(b.build(s));
    } catch (org.bouncycastle.operator.OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static String pem(Object... objects) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      for (Object o : objects) {
        if (o instanceof JcaPKCS8Generator) {
          w.writeObject((JcaPKCS8Generator) o);
        } else {
          w.writeObject(o);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  private static Path write(Path file, String text) {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
      w.write(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }
}
