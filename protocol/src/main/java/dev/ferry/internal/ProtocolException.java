package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.DecoderException;

/**
 * A peer broke the protocol. The connection it arrived on cannot be trusted any more: the receiver
 * logs the reason, sends an ERROR frame with {@link #errorCode()} when {@link #replyWithError()} says
 * so, and closes that connection. Other connections are unaffected.
 *
 * <p>Extends Netty's {@link DecoderException} so that decoders can throw it without being wrapped.
 */
public class ProtocolException extends DecoderException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode errorCode;
  private final boolean replyWithError;

  /** A violation that is answered with an ERROR frame carrying {@code errorCode}. */
  public ProtocolException(ErrorCode errorCode, String message) {
    this(errorCode, message, true);
  }

  protected ProtocolException(ErrorCode errorCode, String message, boolean replyWithError) {
    super(message);
    this.errorCode = requireNonNull(errorCode, "errorCode");
    this.replyWithError = replyWithError;
  }

  /** The code sent to the peer in the ERROR frame. */
  public ErrorCode errorCode() {
    return errorCode;
  }

  /**
   * Whether the peer is sent an ERROR frame before the close. False for a peer that is not Ferry at
   * all (it could not read the frame) and for a connection that is already gone.
   */
  public boolean replyWithError() {
    return replyWithError;
  }

  /** The first bytes from the peer were not Ferry's preface: an HTTP client, a TLS client, noise. */
  public static final class NotFerryPeer extends ProtocolException {
    private static final long serialVersionUID = 1L;

    public NotFerryPeer(String message) {
      super(ErrorCode.PROTOCOL_ERROR, message, false);
    }
  }

  /** The peer sent ERROR instead of SETTINGS: it refused the connection. Not answered. */
  public static final class PeerError extends ProtocolException {
    private static final long serialVersionUID = 1L;

    public PeerError(String message) {
      super(ErrorCode.PROTOCOL_ERROR, message, false);
    }
  }

  /** The connection ended in the middle of a frame or of the preface. */
  public static final class Truncated extends ProtocolException {
    private static final long serialVersionUID = 1L;

    public Truncated(String message) {
      super(ErrorCode.PROTOCOL_ERROR, message, false);
    }
  }

  @Override
  public synchronized Throwable fillInStackTrace() {
    // Thrown for peer behaviour, not for bugs here: the stack trace says nothing useful.
    return this;
  }
}
