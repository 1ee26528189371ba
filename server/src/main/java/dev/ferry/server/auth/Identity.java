package dev.ferry.server.auth;

import static java.util.Objects.requireNonNull;

import dev.ferry.server.CallContext;
import java.util.Optional;
import java.util.Set;

/**
 * An authenticated caller: a name and the roles it holds. Authenticators store it in the call
 * context under {@link #KEY}; authorizers and handlers read it with {@link #of(CallContext)}. Immutable.
 */
public final class Identity {
  /** Where an authenticator stores the caller's identity in the {@link CallContext}. */
  public static final CallContext.Key<Identity> KEY = CallContext.Key.named("ferry.identity");

  private final String name;
  private final Set<String> roles;

  private Identity(String name, Set<String> roles) {
    this.name = name;
    this.roles = roles;
  }

  /** A caller named {@code name} holding {@code roles}. */
  public static Identity of(String name, Set<String> roles) {
    requireNonNull(name, "name");
    requireNonNull(roles, "roles");
    return new Identity(name, Set.copyOf(roles));
  }

  /** A caller named {@code name} holding {@code roles}. */
  public static Identity of(String name, String... roles) {
    return of(name, Set.copyOf(java.util.Arrays.asList(requireNonNull(roles, "roles")))); // repeats allowed
  }

  /** The identity an authenticator recorded for the call, if any. */
  public static Optional<Identity> of(CallContext context) {
    return Optional.ofNullable(context.get(KEY));
  }

  public String name() {
    return name;
  }

  public Set<String> roles() {
    return roles;
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Identity && ((Identity) o).name.equals(name) && ((Identity) o).roles.equals(roles);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + roles.hashCode();
  }

  @Override
  public String toString() {
    return name + roles;
  }
}
