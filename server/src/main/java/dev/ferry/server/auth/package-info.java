/**
 * Built-in authentication and authorization interceptors: {@link dev.ferry.server.auth.BearerTokenAuthenticator}
 * checks a bearer token from the call's metadata and records the caller's {@link dev.ferry.server.auth.Identity};
 * {@link dev.ferry.server.auth.MethodAuthorizer} allows or denies each method by the caller's roles.
 * Install the authenticator first:
 *
 * <pre>{@code
 * FerryServer.builder()
 *     .intercept(BearerTokenAuthenticator.create(tokens::lookup),
 *                MethodAuthorizer.builder().allow(GreeterFerry.SAY_HELLO, "greeter").build())
 * }</pre>
 */
package dev.ferry.server.auth;
