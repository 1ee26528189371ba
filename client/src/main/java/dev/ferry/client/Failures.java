package dev.ferry.client;

import dev.ferry.internal.TlsSupport;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.ConnectException;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * How the client words a failure for the caller who gets it: a throwable's message in plain words
 * (no system call names, error numbers or doubled addresses), TLS failures explained, and the
 * exception that carries why a connection could not be used. Stateless.
 */
final class Failures {
  private Failures() {}


  /** As {@link #describe(Throwable)}; a TLS failure says whether the TLS handshake had completed. */
  static String describe(Throwable t, Channel channel) {
    SSLException tls = TlsSupport.tlsFailure(t);
    return tls != null ? TlsSupport.describe(tls, channel) : describe(t);
  }

  /**
   * A throwable's message, or its class name when it has none; TLS failures are explained, and network
   * errors are said in plain words (see {@link #plainNetworkMessage}).
   */
  static String describe(Throwable t) {
    if (t == null) {
      return "unknown cause";
    }
    SSLException tls = TlsSupport.tlsFailure(t);
    if (tls != null) {
      return TlsSupport.describe(tls);
    }
    if (t instanceof IOException) {
      return plainNetworkMessage((IOException) t);
    }
    String message = t.getMessage();
    return message == null || message.isEmpty() ? t.getClass().getSimpleName() : message;
  }

  /** Netty's native transport: "recvAddress(..) failed with error(-104): ". */
  private static final Pattern NATIVE_CALL = Pattern.compile("^\\w+\\(\\.\\.\\) failed with error\\(-?\\d+\\): ");

  /**
   * An I/O error's message as a person would say it: {@code "connection refused"}, not Netty's
   * {@code "finishConnect(..) failed with error(-111): Connection refused: localhost/127.0.0.1:7070"}.
   * The system call and error number go, and so does the address Netty appends to a failed connect
   * (every message that uses this one names the server already).
   */
  static String plainNetworkMessage(IOException e) {
    Throwable t = e;
    // Netty's annotated ConnectException wraps the original, whose message lacks the address.
    if (e instanceof ConnectException && e.getCause() instanceof ConnectException
        && e.getCause().getMessage() != null) {
      t = e.getCause();
    }
    String message = t.getMessage();
    if (message == null || message.isEmpty()) {
      return e.getClass().getSimpleName();
    }
    message = NATIVE_CALL.matcher(message).replaceFirst("");
    if (t instanceof ConnectException && message.contains(": ")) {
      // NIO's connect failures come annotated without a wrapped original: "Connection refused: /127.0.0.1:7070".
      String rest = message.substring(message.lastIndexOf(": ") + 2);
      if (rest.startsWith("/") || rest.contains("/") && rest.matches(".*:\\d+$")) {
        message = message.substring(0, message.lastIndexOf(": "));
      }
    }
    // "Connection reset by peer" reads as the middle of our sentences: "... failed: connection reset by peer".
    if (message.length() > 1 && Character.isUpperCase(message.charAt(0)) && Character.isLowerCase(message.charAt(1))) {
      message = Character.toLowerCase(message.charAt(0)) + message.substring(1);
    }
    return message;
  }

  /**
   * Why a connection could not be used for calls (connect, handshake or early close failure): its
   * message is ready to be shown to callers, its cause is the underlying exception, if any.
   */
  static final class ConnectFailure extends Exception {
    private static final long serialVersionUID = 1L;

    ConnectFailure(String message, Throwable cause) {
      super(message, cause, false, false);
    }
  }
}
