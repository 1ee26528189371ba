package dev.ferry.internal;

import dev.ferry.MethodDescriptor;

/**
 * The connection-level rules of streaming calls (PROTOCOL.md 7.10 to 7.12) that both sides apply: the
 * REQUEST flags of each method type, and whether a STREAM_MESSAGE or WINDOW_UPDATE may arrive at all.
 * Stateless; any thread.
 */
public final class StreamRules {
  private StreamRules() {}

  /** The REQUEST flags a call of {@code type} carries. */
  public static int requestFlags(MethodDescriptor.Type type) {
    return (type.clientStreams() ? Frame.FLAG_CLIENT_STREAM : 0) | (type.serverStreams() ? Frame.FLAG_SERVER_STREAM : 0);
  }

  /** The method type a REQUEST's flags announce. */
  public static MethodDescriptor.Type typeOf(int flags) {
    boolean client = (flags & Frame.FLAG_CLIENT_STREAM) != 0;
    boolean server = (flags & Frame.FLAG_SERVER_STREAM) != 0;
    return client ? (server ? MethodDescriptor.Type.BIDI_STREAMING : MethodDescriptor.Type.CLIENT_STREAMING)
        : server ? MethodDescriptor.Type.SERVER_STREAMING : MethodDescriptor.Type.UNARY;
  }

  /**
   * Why a REQUEST with {@code flags} cannot call {@code method} (the server answers UNIMPLEMENTED), or
   * null if it can. {@code streaming}: whether the connection negotiated streaming (if not, the flags
   * must be read as 0).
   */
  public static String mismatch(MethodDescriptor<?, ?> method, int flags, boolean streaming) {
    MethodDescriptor.Type called = typeOf(flags);
    if (called == method.type()) {
      return null;
    }
    if (!streaming) {
      return method.fullName() + " is a " + name(method.type()) + " method, and this connection does not "
          + "support streaming (the client announced no STREAM_INITIAL_WINDOW)";
    }
    return method.fullName() + " is a " + name(method.type()) + " method, called as a " + name(called) + " one";
  }

  /**
   * Checks a STREAM_MESSAGE or WINDOW_UPDATE that arrived for a call.
   *
   * @param streaming whether the connection negotiated streaming
   * @param inFlight whether a call with the frame's id is in flight here
   * @param streams whether that call is a streaming call
   * @param idUsed whether the frame's id belongs to a call this connection has seen (in flight or over)
   * @return whether the frame goes to the call (true) or is dropped, having crossed the call's end (false)
   * @throws ProtocolException if the frame may not arrive at all
   */
  public static boolean accept(Frame frame, boolean streaming, boolean inFlight, boolean streams, boolean idUsed) {
    FrameType type = frame.type();
    if (!streaming) {
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
          type + " frame on a connection that did not negotiate streaming (STREAM_INITIAL_WINDOW)");
    }
    if (!inFlight) {
      if (!idUsed) {
        throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
            type + " frame for request id " + frame.requestId() + ", which no REQUEST opened");
      }
      return false;
    }
    if (!streams) {
      throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
          type + " frame for request id " + frame.requestId() + ", a unary call");
    }
    return true;
  }

  private static String name(MethodDescriptor.Type type) {
    return type.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
