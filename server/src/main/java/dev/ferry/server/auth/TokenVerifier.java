package dev.ferry.server.auth;

import java.util.Optional;

/**
 * Checks a bearer token, for {@link BearerTokenAuthenticator}. Runs on the server's handler executor
 * (so it may block, for example to ask an identity service) and must be thread-safe.
 */
@FunctionalInterface
public interface TokenVerifier {
  /**
   * The caller the token belongs to, or empty if the token is not valid (unknown, expired, revoked):
   * the call then fails with {@code UNAUTHENTICATED}. Throw a {@link dev.ferry.FerryException} to fail
   * the call with another status (say {@code UNAVAILABLE} when the identity service is down); any other
   * exception fails it with {@code INTERNAL}.
   */
  Optional<Identity> verify(String token) throws Exception;
}
