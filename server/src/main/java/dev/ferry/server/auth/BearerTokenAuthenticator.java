package dev.ferry.server.auth;

import static java.util.Objects.requireNonNull;

import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.Addresses;
import dev.ferry.server.CallContext;
import dev.ferry.server.ServerInterceptor;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server interceptor that authenticates each call by the bearer token in its
 * {@code authorization: Bearer <token>} metadata (what {@code dev.ferry.client.auth.BearerTokenCredentials}
 * sends): a valid token's {@link Identity} is stored in the call context under {@link Identity#KEY}; a
 * missing, malformed, repeated or invalid token fails the call with {@code UNAUTHENTICATED} before its
 * handler runs. The reply never says why a token was rejected; the server logs it at DEBUG. Immutable
 * and thread-safe.
 *
 * <p>Send tokens over TLS only: in plaintext anyone on the path can read and replay them.
 */
public final class BearerTokenAuthenticator implements ServerInterceptor {
  /** The metadata key carrying the credentials. */
  public static final String AUTHORIZATION = "authorization";

  private static final Logger log = LoggerFactory.getLogger(BearerTokenAuthenticator.class);
  private static final String SCHEME = "bearer ";

  private final TokenVerifier verifier;
  private final Set<String> anonymousMethods;

  private BearerTokenAuthenticator(TokenVerifier verifier, Set<String> anonymousMethods) {
    this.verifier = verifier;
    this.anonymousMethods = anonymousMethods;
  }

  /** Authenticates every call with {@code verifier}. */
  public static BearerTokenAuthenticator create(TokenVerifier verifier) {
    return new BearerTokenAuthenticator(requireNonNull(verifier, "verifier"), Set.of());
  }

  /**
   * This authenticator, letting calls of {@code methods} through without a token (a login or health
   * method). A token sent with them anyway is still checked.
   */
  public BearerTokenAuthenticator allowAnonymous(MethodDescriptor<?, ?>... methods) {
    requireNonNull(methods, "methods");
    Set<String> names = new HashSet<>(anonymousMethods);
    for (MethodDescriptor<?, ?> m : methods) {
      names.add(requireNonNull(m, "method").fullName());
    }
    return new BearerTokenAuthenticator(verifier, Set.copyOf(names));
  }

  @Override
  public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
      Next<ReqT, RespT> next) throws Exception {
    java.util.List<String> headers = context.metadata().getAll(AUTHORIZATION);
    if (headers.size() > 1) {
      throw new FerryException(StatusCode.UNAUTHENTICATED,
          "ambiguous credentials (" + headers.size() + " \"authorization\" entries; expected one)");
    }
    String header = headers.isEmpty() ? null : headers.get(0);
    if (header == null) {
      if (anonymousMethods.contains(context.method().fullName())) {
        return next.proceed(request);
      }
      throw new FerryException(StatusCode.UNAUTHENTICATED,
          "missing credentials (expected metadata \"authorization: Bearer <token>\")");
    }
    if (header.length() <= SCHEME.length() || !header.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      throw new FerryException(StatusCode.UNAUTHENTICATED,
          "malformed credentials (expected metadata \"authorization: Bearer <token>\")");
    }
    String token = header.substring(SCHEME.length()).trim();
    Optional<Identity> identity;
    try {
      identity = verifier.verify(token);
    } catch (FerryException e) {
      throw e; // the verifier's own status, e.g. UNAVAILABLE when its identity service is down
    } catch (Exception e) {
      // Token libraries throw on malformed or forged tokens: that is the caller's fault, not a bug here.
      log.debug("Token verifier rejected a token for {} from {}: {}", context.method(), Addresses.describe(context.remoteAddress()),
          e.toString());
      identity = Optional.empty();
    }
    if (identity == null || identity.isEmpty()) {
      log.debug("Rejected a bearer token for {} from {}", context.method(), Addresses.describe(context.remoteAddress()));
      throw new FerryException(StatusCode.UNAUTHENTICATED, "invalid bearer token");
    }
    context.set(Identity.KEY, identity.get());
    return next.proceed(request);
  }
}
