package dev.ferry.server.auth;

import static java.util.Objects.requireNonNull;

import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.server.CallContext;
import dev.ferry.server.ServerInterceptor;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * A server interceptor that allows each call or fails it with {@code PERMISSION_DENIED}, by rules on
 * its method and the caller's {@link Identity} (set by an authenticator installed before it). Methods
 * no rule names are denied: access is granted, never assumed. A rule for a method takes precedence over
 * a rule for its service. Immutable and thread-safe.
 *
 * <pre>{@code
 * MethodAuthorizer.builder()
 *     .allow(KvStoreFerry.GET, "reader", "writer")      // callers holding either role
 *     .allow(KvStoreFerry.PUT, "writer")
 *     .allowService("demo.Admin", "admin")              // every method of a service
 *     .allowAuthenticated(KvStoreFerry.LIST)            // any authenticated caller
 *     .allowAnyone(HealthFerry.CHECK)                   // no identity needed (*)
 *     .build();
 * }</pre>
 *
 * <p>A call that needs an identity and has none fails with {@code UNAUTHENTICATED}. (*) With a
 * {@link BearerTokenAuthenticator} in front, a call without a token never gets here unless the
 * authenticator also lets it through: {@code BearerTokenAuthenticator.allowAnonymous(HealthFerry.CHECK)}.
 */
public final class MethodAuthorizer implements ServerInterceptor {
  private final Map<String, Rule> methodRules;
  private final Map<String, Rule> serviceRules;

  private MethodAuthorizer(Builder b) {
    this.methodRules = Map.copyOf(b.methodRules);
    this.serviceRules = Map.copyOf(b.serviceRules);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Who may call: anyone, any authenticated caller, or callers holding one of the roles. */
  private record Rule(boolean anyone, Set<String> roles) {
    static final Rule ANYONE = new Rule(true, Set.of());
    static final Rule AUTHENTICATED = new Rule(false, Set.of());

    boolean permits(Identity identity) {
      if (roles.isEmpty()) {
        return true;
      }
      for (String role : roles) {
        if (identity.hasRole(role)) {
          return true;
        }
      }
      return false;
    }
  }

  @Override
  public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
      Next<ReqT, RespT> next) {
    MethodDescriptor<?, ?> method = context.method();
    Rule rule = methodRules.get(method.fullName());
    if (rule == null) {
      rule = serviceRules.get(method.serviceName());
    }
    if (rule == null) {
      throw new FerryException(StatusCode.PERMISSION_DENIED, "no caller may call " + method.fullName());
    }
    if (!rule.anyone()) {
      Identity identity = context.get(Identity.KEY);
      if (identity == null) {
        throw new FerryException(StatusCode.UNAUTHENTICATED, method.fullName() + " needs an authenticated caller");
      }
      if (!rule.permits(identity)) {
        throw new FerryException(StatusCode.PERMISSION_DENIED,
            "caller " + identity.name() + " may not call " + method.fullName());
      }
    }
    return next.proceed(request);
  }

  /** Builds a {@link MethodAuthorizer}. A later rule for the same method or service replaces the earlier. */
  public static final class Builder {
    private final Map<String, Rule> methodRules = new HashMap<>();
    private final Map<String, Rule> serviceRules = new HashMap<>();

    private Builder() {}

    /** Callers holding at least one of {@code roles} may call {@code method}. */
    public Builder allow(MethodDescriptor<?, ?> method, String... roles) {
      methodRules.put(requireNonNull(method, "method").fullName(), new Rule(false, roles(roles)));
      return this;
    }

    /** Callers holding at least one of {@code roles} may call every method of {@code service} ("pkg.Service"). */
    public Builder allowService(String service, String... roles) {
      serviceRules.put(requireNonNull(service, "service"), new Rule(false, roles(roles)));
      return this;
    }

    /** Any authenticated caller may call {@code method}. */
    public Builder allowAuthenticated(MethodDescriptor<?, ?> method) {
      methodRules.put(requireNonNull(method, "method").fullName(), Rule.AUTHENTICATED);
      return this;
    }

    /** Anyone, authenticated or not, may call {@code method}. */
    public Builder allowAnyone(MethodDescriptor<?, ?> method) {
      methodRules.put(requireNonNull(method, "method").fullName(), Rule.ANYONE);
      return this;
    }

    private static Set<String> roles(String... roles) {
      requireNonNull(roles, "roles");
      if (roles.length == 0) {
        throw new IllegalArgumentException("roles: empty (expected: at least one; or allowAuthenticated)");
      }
      return Set.copyOf(java.util.Arrays.asList(roles)); // repeats allowed
    }

    public MethodAuthorizer build() {
      return new MethodAuthorizer(this);
    }
  }
}
