package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who the client proved to be with its TLS certificate (mutual TLS): the verified certificate's subject
 * and subject alternative names. Immutable. See {@link CallContext#peerIdentity()}.
 */
public final class PeerIdentity {
  // Subject alternative name types (RFC 5280): the kinds the JDK gives as strings.
  private static final int EMAIL = 1;
  private static final int DNS = 2;
  private static final int URI = 6;
  private static final int IP = 7;

  private final List<X509Certificate> chain;
  private final List<String> alternativeNames;
  private final List<String> dnsNames;
  private final List<String> ipAddresses;
  private final List<String> uris;
  private final List<String> emailAddresses;

  private PeerIdentity(List<X509Certificate> chain) {
    this.chain = chain;
    X509Certificate leaf = chain.get(0);
    this.alternativeNames = alternativeNames(leaf, EMAIL, DNS, URI, IP);
    this.dnsNames = alternativeNames(leaf, DNS);
    this.ipAddresses = alternativeNames(leaf, IP);
    this.uris = alternativeNames(leaf, URI);
    this.emailAddresses = alternativeNames(leaf, EMAIL);
  }

  /** The identity in a TLS session's verified peer certificates, or empty if the peer sent none. */
  static Optional<PeerIdentity> of(SSLSession session) {
    Certificate[] certificates;
    try {
      certificates = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
    List<X509Certificate> chain = new ArrayList<>(certificates.length);
    for (Certificate c : certificates) {
      if (c instanceof X509Certificate) {
        chain.add((X509Certificate) c);
      }
    }
    return chain.isEmpty() ? Optional.empty() : Optional.of(new PeerIdentity(List.copyOf(chain)));
  }

  /** The subject's distinguished name, RFC 2253 form, e.g. {@code "CN=billing,O=Example"}. */
  public String subject() {
    return chain.get(0).getSubjectX500Principal().getName();
  }

  /**
   * Every subject alternative name of a kind that is text: DNS names, IP addresses, URIs and e-mail
   * addresses, in certificate order. To decide who a caller is, match on one kind
   * ({@link #dnsNames()}, {@link #uris()}, ...): a name of one kind must not pass for another.
   */
  public List<String> subjectAlternativeNames() {
    return alternativeNames;
  }

  /** The DNS-name subject alternative names, e.g. {@code billing.internal}. */
  public List<String> dnsNames() {
    return dnsNames;
  }

  /** The IP-address subject alternative names, as the JDK writes them ({@code 10.0.0.7}). */
  public List<String> ipAddresses() {
    return ipAddresses;
  }

  /** The URI subject alternative names, e.g. a SPIFFE id {@code spiffe://example.org/billing}. */
  public List<String> uris() {
    return uris;
  }

  /** The e-mail subject alternative names. */
  public List<String> emailAddresses() {
    return emailAddresses;
  }

  /** The client's certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** The chain the client sent, its own certificate first. */
  public List<X509Certificate> chain() {
    return chain;
  }

  private static List<String> alternativeNames(X509Certificate c, int... types) {
    Collection<List<?>> names;
    try {
      names = c.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return List.of();
    }
    if (names == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (List<?> entry : names) {
      int type = (Integer) entry.get(0);
      for (int wanted : types) {
        if (type == wanted && entry.get(1) instanceof String) {
          out.add((String) entry.get(1));
        }
      }
    }
    return List.copyOf(out);
  }

  @Override
  public String toString() {
    return subject() + (alternativeNames.isEmpty() ? "" : " " + alternativeNames);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PeerIdentity && ((PeerIdentity) o).chain.equals(chain);
  }

  @Override
  public int hashCode() {
    return requireNonNull(chain).hashCode();
  }
}
