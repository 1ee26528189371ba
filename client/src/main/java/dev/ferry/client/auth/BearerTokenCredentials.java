package dev.ferry.client.auth;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInterceptor;
import dev.ferry.client.Response;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A client interceptor that sends a bearer token with every call, as the metadata
 * {@code authorization: Bearer <token>} that {@code dev.ferry.server.auth.BearerTokenAuthenticator}
 * checks. The token comes from a supplier called once per call, so a refreshed token is used as soon as
 * the supplier returns it; keep the supplier fast (cache the token, refresh it in the background). An
 * {@code authorization} entry already in the call's metadata is replaced.
 *
 * <pre>{@code
 * FerryChannel channel = FerryChannel.builder("orders.internal", 7443)
 *     .tls(tls)
 *     .intercept(BearerTokenCredentials.of(tokenCache::current))
 *     .build();
 * }</pre>
 *
 * <p>Use it over TLS only: in plaintext anyone on the path can read and replay the token.
 */
public final class BearerTokenCredentials implements ClientInterceptor {
  private static final String AUTHORIZATION = "authorization";

  private final Supplier<String> tokens;

  private BearerTokenCredentials(Supplier<String> tokens) {
    this.tokens = tokens;
  }

  /** Sends the token {@code tokens} returns at each call. */
  public static BearerTokenCredentials of(Supplier<String> tokens) {
    return new BearerTokenCredentials(requireNonNull(tokens, "tokens"));
  }

  /** Sends {@code token} with every call. */
  public static BearerTokenCredentials of(String token) {
    requireNonNull(token, "token");
    return of(() -> token);
  }

  @Override
  public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> interceptCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, Next<ReqT, RespT> next) {
    String token;
    try {
      token = tokens.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(new FerryException(StatusCode.UNAUTHENTICATED,
          "could not get a token for " + method.fullName() + ": " + e.getMessage(), e));
    }
    if (token == null || token.isEmpty()) {
      return CompletableFuture.failedFuture(new FerryException(StatusCode.UNAUTHENTICATED,
          "no token to send with " + method.fullName()));
    }
    // Replaces any authorization entry already there: one set of credentials per call.
    dev.ferry.Metadata.Builder metadata = dev.ferry.Metadata.builder();
    for (java.util.Map.Entry<String, String> e : options.metadata().entries()) {
      if (!e.getKey().equals(AUTHORIZATION)) {
        metadata.add(e.getKey(), e.getValue());
      }
    }
    metadata.add(AUTHORIZATION, "Bearer " + token);
    return next.proceed(request, options.toBuilder().metadata(metadata.build()).build());
  }
}
