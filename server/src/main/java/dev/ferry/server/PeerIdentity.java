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
  private final List<X509Certificate> chain;
  private final List<String> alternativeNames;

  private PeerIdentity(List<X509Certificate> chain) {
    this.chain = chain;
    this.alternativeNames = alternativeNames(chain.get(0));
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
   * The subject alternative names that are names: DNS names, IP addresses, URIs (such as SPIFFE ids)
   * and e-mail addresses, in certificate order.
   */
  public List<String> subjectAlternativeNames() {
    return alternativeNames;
  }

  /** The client's certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** The chain the client sent, its own certificate first. */
  public List<X509Certificate> chain() {
    return chain;
  }

  private static List<String> alternativeNames(X509Certificate c) {
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
      // 1 e-mail, 2 DNS, 6 URI, 7 IP address: the kinds the JDK gives as strings.
      if ((type == 1 || type == 2 || type == 6 || type == 7) && entry.get(1) instanceof String) {
        out.add((String) entry.get(1));
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
