package dev.ferry.examples.interceptors;

import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.server.CallContext;
import dev.ferry.server.PeerIdentity;
import dev.ferry.server.ServerInterceptor;
import dev.ferry.server.auth.Identity;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Authenticates callers by their mutual-TLS certificate instead of a token: maps the certificate's DNS
 * name to an {@link Identity}, so that {@code MethodAuthorizer} rules apply to services as they do to
 * token holders.
 */
// [mtls-identity]
public final class MutualTlsIdentity implements ServerInterceptor {
  private final Map<String, Set<String>> rolesByDnsName;

  public MutualTlsIdentity(Map<String, Set<String>> rolesByDnsName) {
    this.rolesByDnsName = Map.copyOf(rolesByDnsName);
  }

  @Override
  public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
      Next<ReqT, RespT> next) {
    PeerIdentity peer = context.peerIdentity().orElseThrow(() ->
        new FerryException(StatusCode.UNAUTHENTICATED, "a client certificate is required"));
    for (String name : peer.dnsNames()) { // DNS names only: an e-mail or URI SAN must not pass for one
      Set<String> roles = rolesByDnsName.get(name);
      if (roles != null) {
        context.set(Identity.KEY, Identity.of(name, roles));
        break;
      }
    }
    return next.proceed(request);
  }
}
// [mtls-identity]
