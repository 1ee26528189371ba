package dev.ferry.server;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.MessageLite;
import dev.ferry.MethodDescriptor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A service: its name and a handler for each of its methods. Immutable once built. Generated code
 * builds these; by hand:
 *
 * <pre>{@code
 * ServiceDefinition greeter = ServiceDefinition.builder("demo.Greeter")
 *     .unary(SAY_HELLO, (request, ctx) -> HelloReply.newBuilder().setText("hi " + request.getName()).build())
 *     .serverStreaming(COUNT, (request, responses, ctx) -> {
 *       for (int i = 0; i < request.getN(); i++) {
 *         responses.write(Number.newBuilder().setValue(i).build());
 *       }
 *     })
 *     .build();
 * }</pre>
 *
 * <p>Each method is added with the builder method of its {@linkplain MethodDescriptor.Type type}: a
 * blocking handler (run on the handler executor) or an asynchronous one (a {@code CompletionStage}, or
 * a {@link java.util.concurrent.Flow.Publisher} for streams).
 */
public final class ServiceDefinition {
  private final String name;
  private final Map<String, ServerMethod<?, ?>> methods;

  private ServiceDefinition(Builder b) {
    this.name = b.name;
    this.methods = Map.copyOf(b.methods);
  }

  /** A builder for the service {@code name} ({@code "package.Service"}). */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** {@code "package.Service"}. */
  public String name() {
    return name;
  }

  /** The handled methods, keyed by method name (without the service). */
  Map<String, ServerMethod<?, ?>> methods() {
    return methods;
  }

  @Override
  public String toString() {
    return name + methods.keySet();
  }

  /** Builds a {@link ServiceDefinition}. */
  public static final class Builder {
    private final String name;
    private final Map<String, ServerMethod<?, ?>> methods = new LinkedHashMap<>();

    private Builder(String name) {
      this.name = requireNonNull(name, "name");
      if (name.isEmpty() || name.indexOf('/') >= 0) {
        throw new IllegalArgumentException("name: \"" + name + "\" (expected: \"package.Service\")");
      }
    }

    /** Adds a unary method whose handler returns its response. */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder unary(
        MethodDescriptor<ReqT, RespT> method, UnaryHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.UNARY);
      return add(new ServerMethod<>(method, requireNonNull(handler, "handler"), null));
    }

    /** Adds a unary method whose handler returns a stage that completes with its response. */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder unaryAsync(
        MethodDescriptor<ReqT, RespT> method, AsyncUnaryHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.UNARY);
      return add(new ServerMethod<>(method, null, requireNonNull(handler, "handler")));
    }

    /**
     * Adds a server-streaming method whose handler writes its responses, blocking for flow control. It
     * runs on the server's {@linkplain dev.ferry.server.FerryServerBuilder#blockingStreamExecutor
     * blocking-stream executor}, a thread for the stream's life.
     */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder serverStreaming(
        MethodDescriptor<ReqT, RespT> method, ServerStreamingHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.SERVER_STREAMING);
      return add(new ServerMethod<>(method, null, StreamHandlers.serverStreaming(requireNonNull(handler, "handler")),
          true));
    }

    /** Adds a server-streaming method whose handler returns a publisher of its responses. */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder serverStreamingAsync(
        MethodDescriptor<ReqT, RespT> method, AsyncServerStreamingHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.SERVER_STREAMING);
      return add(new ServerMethod<>(method, null,
          StreamHandlers.serverStreamingAsync(requireNonNull(handler, "handler"))));
    }

    /**
     * Adds a client-streaming method whose handler reads its requests, blocking, and returns the
     * response. It runs on the server's {@linkplain dev.ferry.server.FerryServerBuilder#blockingStreamExecutor
     * blocking-stream executor}.
     */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder clientStreaming(
        MethodDescriptor<ReqT, RespT> method, ClientStreamingHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.CLIENT_STREAMING);
      return add(new ServerMethod<>(method, null, StreamHandlers.clientStreaming(requireNonNull(handler, "handler")),
          true));
    }

    /** Adds a client-streaming method whose handler subscribes to its requests and returns a stage of the response. */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder clientStreamingAsync(
        MethodDescriptor<ReqT, RespT> method, AsyncClientStreamingHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.CLIENT_STREAMING);
      return add(new ServerMethod<>(method, null,
          StreamHandlers.clientStreamingAsync(requireNonNull(handler, "handler"))));
    }

    /**
     * Adds a bidirectional-streaming method whose handler reads and writes, blocking for flow control.
     * It runs on the server's {@linkplain dev.ferry.server.FerryServerBuilder#blockingStreamExecutor
     * blocking-stream executor}.
     */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder bidiStreaming(
        MethodDescriptor<ReqT, RespT> method, BidiStreamingHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.BIDI_STREAMING);
      return add(new ServerMethod<>(method, null, StreamHandlers.bidiStreaming(requireNonNull(handler, "handler")),
          true));
    }

    /** Adds a bidirectional-streaming method whose handler maps a publisher of requests to one of responses. */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder bidiStreamingAsync(
        MethodDescriptor<ReqT, RespT> method, AsyncBidiStreamingHandler<ReqT, RespT> handler) {
      checkType(method, MethodDescriptor.Type.BIDI_STREAMING);
      return add(new ServerMethod<>(method, null,
          StreamHandlers.bidiStreamingAsync(requireNonNull(handler, "handler"))));
    }

    private static void checkType(MethodDescriptor<?, ?> method, MethodDescriptor.Type type) {
      requireNonNull(method, "method");
      if (method.type() != type) {
        throw new IllegalArgumentException("method: " + method + " is " + method.type() + " (expected: " + type
            + "; add it with the builder method of its type)");
      }
    }

    private Builder add(ServerMethod<?, ?> m) {
      MethodDescriptor<?, ?> method = m.descriptor;
      if (!method.serviceName().equals(name)) {
        throw new IllegalArgumentException(
            "method: " + method + " (expected: a method of service " + name + ")");
      }
      if (methods.putIfAbsent(method.methodName(), m) != null) {
        throw new IllegalArgumentException("method: " + method + " added twice");
      }
      return this;
    }

    public ServiceDefinition build() {
      return new ServiceDefinition(this);
    }
  }
}
