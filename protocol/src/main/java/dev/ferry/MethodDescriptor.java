package dev.ferry;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;

/**
 * Describes one method: its full name, its {@linkplain Type type} (unary or one of the three
 * streaming kinds) and how to parse its request and response messages. Shared by servers (to route
 * and parse requests) and clients (to name the method and parse responses). Generated code creates
 * these; they can also be written by hand:
 *
 * <pre>{@code
 * MethodDescriptor<HelloRequest, HelloReply> SAY_HELLO = MethodDescriptor.of(
 *     "demo.Greeter/SayHello", HelloRequest.parser(), HelloReply.parser());
 * MethodDescriptor<WatchRequest, Change> WATCH = MethodDescriptor.of(
 *     "demo.Store/Watch", MethodDescriptor.Type.SERVER_STREAMING, WatchRequest.parser(), Change.parser());
 * }</pre>
 *
 * @param <ReqT> the request message type
 * @param <RespT> the response message type
 */
public final class MethodDescriptor<ReqT extends MessageLite, RespT extends MessageLite> {
  /** What a call of the method exchanges: one message or a stream of them, each way. */
  public enum Type {
    /** One request, one response. */
    UNARY(false, false),
    /** A stream of requests, one response. */
    CLIENT_STREAMING(true, false),
    /** One request, a stream of responses. */
    SERVER_STREAMING(false, true),
    /** A stream of requests and a stream of responses, independent of each other. */
    BIDI_STREAMING(true, true);

    private final boolean clientStreams;
    private final boolean serverStreams;

    Type(boolean clientStreams, boolean serverStreams) {
      this.clientStreams = clientStreams;
      this.serverStreams = serverStreams;
    }

    /** Whether the client sends a stream of messages. */
    public boolean clientStreams() {
      return clientStreams;
    }

    /** Whether the server sends a stream of messages. */
    public boolean serverStreams() {
      return serverStreams;
    }
  }

  private final String fullName;
  private final Type type;
  private final String serviceName;
  private final String methodName;
  private final Parser<ReqT> requestParser;
  private final Parser<RespT> responseParser;

  private MethodDescriptor(String fullName, Type type, Parser<ReqT> requestParser, Parser<RespT> responseParser) {
    this.fullName = requireNonNull(fullName, "fullName");
    this.type = requireNonNull(type, "type");
    int slash = fullName.indexOf('/');
    if (slash <= 0 || slash == fullName.length() - 1 || fullName.indexOf('/', slash + 1) >= 0) {
      throw new IllegalArgumentException(
          "fullName: \"" + fullName + "\" (expected: \"package.Service/Method\")");
    }
    this.serviceName = fullName.substring(0, slash);
    this.methodName = fullName.substring(slash + 1);
    this.requestParser = requireNonNull(requestParser, "requestParser");
    this.responseParser = requireNonNull(responseParser, "responseParser");
  }

  /**
   * A descriptor for the unary method {@code fullName} ({@code "package.Service/Method"}).
   */
  public static <ReqT extends MessageLite, RespT extends MessageLite> MethodDescriptor<ReqT, RespT> of(
      String fullName, Parser<ReqT> requestParser, Parser<RespT> responseParser) {
    return new MethodDescriptor<>(fullName, Type.UNARY, requestParser, responseParser);
  }

  /**
   * A descriptor for the method {@code fullName} ({@code "package.Service/Method"}) of type {@code type}.
   */
  public static <ReqT extends MessageLite, RespT extends MessageLite> MethodDescriptor<ReqT, RespT> of(
      String fullName, Type type, Parser<ReqT> requestParser, Parser<RespT> responseParser) {
    return new MethodDescriptor<>(fullName, type, requestParser, responseParser);
  }

  /** Unary, or which side streams. */
  public Type type() {
    return type;
  }

  /**
   * {@code "package.Service/Method"}, as it travels on the wire ({@code "Service/Method"} for a service
   * declared in a {@code .proto} file without a package).
   */
  public String fullName() {
    return fullName;
  }

  /** {@code "package.Service"}. */
  public String serviceName() {
    return serviceName;
  }

  /** {@code "Method"}. */
  public String methodName() {
    return methodName;
  }

  public Parser<ReqT> requestParser() {
    return requestParser;
  }

  public Parser<RespT> responseParser() {
    return responseParser;
  }

  @Override
  public String toString() {
    return fullName;
  }
}
