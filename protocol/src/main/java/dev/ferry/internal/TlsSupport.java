package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

import dev.ferry.TlsProvider;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLException;

/**
 * TLS helpers shared by the server and the client: provider choice, version checks, and readable
 * descriptions of handshake failures. Internal: not part of Ferry's API.
 */
public final class TlsSupport {
  private static final Set<String> PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");

  private TlsSupport() {}

  /** The Netty provider for {@code provider}; fails if OpenSSL is asked for and not available. */
  public static SslProvider sslProvider(TlsProvider provider) {
    switch (requireNonNull(provider, "provider")) {
      case JDK:
        return SslProvider.JDK;
      case OPENSSL:
        if (!OpenSsl.isAvailable()) {
          throw new IllegalStateException("provider: OPENSSL is not available (add "
              + "io.netty:netty-tcnative-boringssl-static for this platform): " + OpenSsl.unavailabilityCause());
        }
        return SslProvider.OPENSSL;
      default:
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }
  }

  /** Checks a list of TLS versions: 1.3 and 1.2 only, at least one, no repeats. */
  public static List<String> checkProtocols(String... protocols) {
    requireNonNull(protocols, "protocols");
    Set<String> seen = new LinkedHashSet<>();
    for (String p : protocols) {
      if (!PROTOCOLS.contains(p)) {
        throw new IllegalArgumentException("protocols: " + p + " (expected: TLSv1.3 or TLSv1.2)");
      }
      seen.add(p);
    }
    if (seen.isEmpty()) {
      throw new IllegalArgumentException("protocols: empty (expected: TLSv1.3 and/or TLSv1.2)");
    }
    return List.copyOf(seen);
  }

  /**
   * The peer answered a TLS connection with the plaintext Ferry preface: TLS is on here and off there.
   * Raised by {@link PlaintextPeerDetector}.
   */
  public static final class PlaintextPeerException extends SSLException {
    private static final long serialVersionUID = 1L;

    PlaintextPeerException(String message) {
      super(message);
    }
  }

  /** The TLS exception inside {@code t} (unwrapping a decoder exception), or null if it is not one. */
  public static SSLException tlsFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SSLException) {
        return (SSLException) c;
      }
      if (!(c instanceof DecoderException)) {
        return null;
      }
    }
    return null;
  }

  /**
   * A one-line description of a failed TLS handshake: says when the peer is not speaking TLS at all
   * (a plaintext Ferry peer, or something else), else the TLS implementation's own message.
   */
  public static String describe(SSLException e) {
    return describe(e, false);
  }

  /**
   * As {@link #describe(SSLException)}, but names a failure on {@code channel} after its TLS handshake
   * completed as a TLS error rather than a failed handshake (a corrupted or forged record, say).
   */
  public static String describe(SSLException e, io.netty.channel.Channel channel) {
    io.netty.handler.ssl.SslHandler ssl = channel.pipeline().get(io.netty.handler.ssl.SslHandler.class);
    return describe(e, ssl != null && ssl.handshakeFuture().isSuccess());
  }

  private static String describe(SSLException e, boolean afterHandshake) {
    if (e instanceof NotSslRecordException) {
      // Not its message: Netty's holds a hex dump of everything the peer sent (headers, tokens...).
      return "the peer is not speaking TLS (its first bytes are not a TLS record)";
    }
    if (e instanceof PlaintextPeerException) {
      return e.getMessage();
    }
    StringBuilder sb = new StringBuilder(afterHandshake ? "TLS error: " : "TLS handshake failed: ")
        .append(e.getMessage());
    // The root cause often says it best (an expired certificate, an unknown CA, a name mismatch).
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root != e && root.getMessage() != null && !String.valueOf(e.getMessage()).contains(root.getMessage())) {
      // The class often says what the message does not (CertificateExpiredException: "NotAfter: ...").
      sb.append(" (").append(root.getClass().getSimpleName()).append(": ").append(root.getMessage()).append(')');
    }
    return sb.toString();
  }
}
