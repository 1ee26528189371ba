package dev.ferry.examples.secure;

import com.google.protobuf.ByteString;
import dev.ferry.FerryException;
import dev.ferry.client.ClientTls;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.auth.BearerTokenCredentials;
import dev.ferry.examples.kvstore.GetRequest;
import dev.ferry.examples.kvstore.InMemoryKvStore;
import dev.ferry.examples.kvstore.KvStoreFerry;
import dev.ferry.examples.kvstore.KvStoreFerryService;
import dev.ferry.examples.kvstore.KvStoreFerryStub;
import dev.ferry.examples.kvstore.PutRequest;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerTls;
import dev.ferry.server.auth.BearerTokenAuthenticator;
import dev.ferry.server.auth.Identity;
import dev.ferry.server.auth.MethodAuthorizer;
import dev.ferry.testing.TestPki;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The key-value store secured: mutual TLS (the server requires client certificates from its CA), bearer
 * tokens checked by the server, and per-method authorization: a reader may Get and List, a writer may
 * also Put and Delete.
 *
 * <p>Two kinds of identity are at work. The client certificate proves which machine or service
 * connects (here {@code CN=billing}); it is checked during the TLS handshake. The bearer token says
 * who is calling, and the server's {@code TokenVerifier} maps it to an {@link Identity}: a name, used
 * in messages ("caller reporting may not call ..."), and roles, which the authorizer checks.
 *
 * <p>Run it with {@code mvn -B -ntp -q -pl examples -am -DskipTests package exec:exec
 * -Ddemo.main=dev.ferry.examples.secure.SecureKvStoreExample}. It makes throwaway certificates in a
 * temporary directory first and deletes them at the end; in production your PKI issues them (see the
 * README for openssl and keytool) and only the paths change.
 */
public final class SecureKvStoreExample {
  private SecureKvStoreExample() {}

  /** Who holds which token. In production: your identity service, a JWT check, a database. */
  private static final Map<String, Identity> TOKENS = Map.of(
      "reader-token", Identity.of("reporting", "reader"),
      "writer-token", Identity.of("billing", "reader", "writer"));

  public static void main(String[] args) throws Exception {
    run(System.out, Path.of(System.getProperty("java.io.tmpdir")));
  }

  /**
   * Runs the example, printing what happens to {@code out}. The throwaway certificates and keys are
   * made in a new directory under {@code workDir}, which is deleted at the end.
   */
  public static void run(PrintStream out, Path workDir) throws Exception {
    Path certs = Files.createTempDirectory(workDir, "ferry-demo-certs");
    try {
      demonstrate(out, certs);
    } finally {
      deleteDirectory(certs); // private keys included: nothing is left behind
    }
    out.println("Secure example finished (its certificates and keys deleted)");
  }

  private static void demonstrate(PrintStream out, Path certs) throws Exception {
    TestPki.Authority ca = makeDemoCertificates(certs);
    out.println("Identities: the client certificate says which service connects (CN=billing); the token says"
        + " who calls:");
    new TreeMap<>(TOKENS).forEach((token, identity) -> out.println("  " + token + " -> caller \""
        + identity.name() + "\" with roles " + new TreeSet<>(identity.roles())));

    // [secure-server]
    ServerTls serverTls = ServerTls.builder()
        .keyCertChain(certs.resolve("server.crt"), certs.resolve("server.key"))
        .trustRoots(certs.resolve("ca.crt"))            // the CA that issues client certificates
        .clientAuth(ServerTls.ClientAuth.REQUIRE)       // mutual TLS
        .build();
    FerryServer server = FerryServer.builder()
        .host("127.0.0.1")
        .port(0)
        .tls(serverTls)
        .intercept(
            // First authenticate: the token's identity goes into the call context...
            BearerTokenAuthenticator.create(token -> Optional.ofNullable(TOKENS.get(token))),
            // ...then authorize by method; methods without a rule are denied.
            MethodAuthorizer.builder()
                .allow(KvStoreFerry.GET, "reader")
                .allow(KvStoreFerry.LIST, "reader")
                .allow(KvStoreFerry.PUT, "writer")
                .allow(KvStoreFerry.DELETE, "writer")
                .build())
        .addService(KvStoreFerryService.bind(new InMemoryKvStore()))
        .build()
        .start();
    // [secure-server]
    out.println("secure kvstore on 127.0.0.1:" + server.port() + " (" + serverTls + ")");
    try {
      // [secure-client]
      ClientTls clientTls = ClientTls.builder()
          .trustRoots(certs.resolve("ca.crt"))                                    // verifies the server
          .keyCertChain(certs.resolve("client.crt"), certs.resolve("client.key")) // proves who we are
          .build();
      try (FerryChannel writer = FerryChannel.builder("localhost", server.port())
              .tls(clientTls)
              .intercept(BearerTokenCredentials.of("writer-token"))
              .build();
          FerryChannel reader = FerryChannel.builder("localhost", server.port())
              .tls(clientTls)
              .intercept(BearerTokenCredentials.of("reader-token"))
              .build()) {
        KvStoreFerryStub.create(writer).put(PutRequest.newBuilder()
            .setKey("invoice/42").setValue(ByteString.copyFromUtf8("paid")).build());
        String value = KvStoreFerryStub.create(reader)
            .get(GetRequest.newBuilder().setKey("invoice/42").build()).getValue().toStringUtf8();
        out.println("reader got invoice/42 = " + value);
        try {
          KvStoreFerryStub.create(reader).put(PutRequest.newBuilder().setKey("invoice/42").build());
        } catch (FerryException e) {
          out.println("reader's Put -> " + e.code() + ": " + e.description()); // PERMISSION_DENIED
        }
      }
      // [secure-client]

      // A client with TLS off is refused at once, with a reason. The server logs the refusal (one WARN
      // line, however many connections the client's pool tried in that second); the client does not
      // log it again: its caller has the reason.
      try (FerryChannel plaintext = FerryChannel.builder("localhost", server.port()).build()) {
        KvStoreFerryStub.create(plaintext).get(GetRequest.newBuilder().setKey("invoice/42").build());
      } catch (FerryException e) {
        out.println("plaintext client (expected to fail) -> " + e.code() + ": " + e.description());
      }

      // The server certificate is renewed: the new one also names kv.internal, the name clients are
      // moving to. Written over the old files, as a certificate manager would.
      ca.issue(TestPki.spec("localhost").dns("localhost").dns("kv.internal").ip("127.0.0.1").server())
          .writePem(certs, "server");
      // [secure-reload]
      // The certificate was renewed on disk: read it again. New connections use it; open ones go on.
      server.updateTls(ServerTls.builder()
          .keyCertChain(certs.resolve("server.crt"), certs.resolve("server.key"))
          .trustRoots(certs.resolve("ca.crt"))
          .clientAuth(ServerTls.ClientAuth.REQUIRE)
          .build());
      // [secure-reload]
      // Evidence: a client that accepts only a certificate naming kv.internal connects now; with the
      // old certificate its handshake would have failed ("No subject alternative DNS name matching").
      try (FerryChannel renewed = FerryChannel.builder("localhost", server.port())
          .tls(ClientTls.builder()
              .trustRoots(certs.resolve("ca.crt"))
              .keyCertChain(certs.resolve("client.crt"), certs.resolve("client.key"))
              .serverName("kv.internal")
              .build())
          .intercept(BearerTokenCredentials.of("reader-token"))
          .build()) {
        String value = KvStoreFerryStub.create(renewed)
            .get(GetRequest.newBuilder().setKey("invoice/42").build()).getValue().toStringUtf8();
        out.println("certificate reloaded: a client expecting the name kv.internal connects and reads "
            + "invoice/42 = " + value);
      }
    } finally {
      server.close();
    }
  }

  /** Demo only: a throwaway CA, a server certificate for localhost, a client certificate. */
  private static TestPki.Authority makeDemoCertificates(Path dir) {
    TestPki.Authority ca = TestPki.newAuthority("Ferry Demo CA");
    ca.writePem(dir, "ca");
    ca.issue(TestPki.spec("localhost").dns("localhost").ip("127.0.0.1").server()).writePem(dir, "server");
    ca.issue(TestPki.spec("billing").dns("billing.internal").client()).writePem(dir, "client");
    return ca;
  }

  private static void deleteDirectory(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
