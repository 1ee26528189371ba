package dev.ferry.server.auth;

import java.util.Optional;

/**
 * Checks a bearer token, for {@link BearerTokenAuthenticator}. Runs where handlers run: on the server's
 * handler executor, where it may block (to ask an identity service, say), or on the event loop with
 * {@code FerryServerBuilder.directExecutor()}, where it must not. Must be thread-safe.
 */
@FunctionalInterface
public interface TokenVerifier {
  /**
   * The caller the token belongs to, or empty if the token is not valid (unknown, expired, revoked):
   * the call then fails with {@code UNAUTHENTICATED}, as it does when this method throws (token
   * libraries throw on malformed tokens). Throw a {@link dev.ferry.FerryException} to fail the call
   * with another status instead, say {@code UNAVAILABLE} when the identity service is down.
   */
  Optional<Identity> verify(String token) throws Exception;
}
