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
 *     .build();
 * }</pre>
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

    /** Adds a method whose handler returns its response. */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder unary(
        MethodDescriptor<ReqT, RespT> method, UnaryHandler<ReqT, RespT> handler) {
      return add(new ServerMethod<>(requireNonNull(method, "method"), requireNonNull(handler, "handler"), null));
    }

    /** Adds a method whose handler returns a stage that completes with its response. */
    public <ReqT extends MessageLite, RespT extends MessageLite> Builder unaryAsync(
        MethodDescriptor<ReqT, RespT> method, AsyncUnaryHandler<ReqT, RespT> handler) {
      return add(new ServerMethod<>(requireNonNull(method, "method"), null, requireNonNull(handler, "handler")));
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
