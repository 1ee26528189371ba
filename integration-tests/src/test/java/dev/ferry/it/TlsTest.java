package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.TlsProvider;
import dev.ferry.client.BackoffOptions;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ChannelState;
import dev.ferry.client.ClientTls;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.FerryChannelBuilder;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServerTls;
import dev.ferry.server.ServiceDefinition;
import dev.ferry.testing.FaultProxy;
import dev.ferry.testing.TestPki;
import io.netty.handler.ssl.OpenSsl;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * TLS and mutual TLS over loopback, with certificates made at test time: handshakes with both providers,
 * each way a handshake can fail (with the reason on both sides, fast), plaintext/TLS mismatches, the
 * client's identity in the call context, certificate reload, and the pool and heartbeats working over
 * TLS as they do in plaintext.
 */
class TlsTest {
  private static final BackoffOptions FAST_BACKOFF =
      BackoffOptions.of(Duration.ofMillis(20), 2, Duration.ofMillis(200), 0.2);
  private static final MethodDescriptor<StringValue, StringValue> WHO_AM_I =
      MethodDescriptor.of("ferry.test.Tls/WhoAmI", StringValue.parser(), StringValue.parser());
  /** A failure must arrive well before any heartbeat (30 s) or handshake (10 s) timeout would end it. */
  /**
   * How long a failure that comes "at once" may take on a busy machine: well under the calls' 30 s
   * deadlines and the heartbeat timeouts, which a hang would run into instead.
   */
  private static final Duration FAST = Duration.ofSeconds(10);

  @TempDir
  static Path dir;
  private static TestPki.Authority ca;
  private static TestPki.Authority otherCa;

  private final TestService service = new TestService();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @BeforeAll
  static void makeCertificates() {
    ca = TestPki.newAuthority("Ferry Test CA");
    otherCa = TestPki.newAuthority("Some Other CA");
    ca.writePem(dir, "ca");
    otherCa.writePem(dir, "other-ca");
    ca.issue(TestPki.spec("localhost").dns("localhost").ip("127.0.0.1").server()).writePem(dir, "server");
    otherCa.issue(TestPki.spec("localhost").dns("localhost").ip("127.0.0.1").server()).writePem(dir, "server2");
    ca.issue(TestPki.spec("billing").dns("billing.internal").uri("spiffe://ferry.test/billing").client())
        .writePem(dir, "client");
    ca.issue(TestPki.spec("elsewhere").dns("elsewhere.example").server()).writePem(dir, "wrong-name");
    ca.issue(TestPki.spec("localhost").dns("localhost").ip("127.0.0.1").server()
        .validity(Instant.now().minus(Duration.ofDays(10)), Instant.now().minus(Duration.ofDays(1))))
        .writePem(dir, "expired");
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  private static Path crt(String name) {
    return dir.resolve(name + ".crt");
  }

  private static Path key(String name) {
    return dir.resolve(name + ".key");
  }

  private static ServerTls.Builder serverTls(String name) {
    return ServerTls.builder().keyCertChain(crt(name), key(name));
  }

  private static ClientTls.Builder trusting(String caName) {
    return ClientTls.builder().trustRoots(crt(caName));
  }

  private FerryServer server(ServerTls tls, FerryServerBuilder options) throws Exception {
    if (tls != null) {
      options.tls(tls);
    }
    FerryServer server = options.host("127.0.0.1").port(0).addService(service.definition())
        .addService(ServiceDefinition.builder("ferry.test.Tls")
            .unary(WHO_AM_I, (req, ctx) -> StringValue.of(ctx.peerIdentity()
                .map(p -> p.subject() + " " + p.subjectAlternativeNames() + " dns=" + p.dnsNames()
                    + " uris=" + p.uris()).orElse("anonymous")))
            .build())
        .build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  private FerryServer server(ServerTls tls) throws Exception {
    return server(tls, FerryServer.builder());
  }

  private FerryChannel channel(int port, ClientTls tls) {
    FerryChannelBuilder b = FerryChannel.builder("127.0.0.1", port).reconnectBackoff(FAST_BACKOFF);
    if (tls != null) {
      b.tls(tls);
    }
    return closeLater(b.build());
  }

  private static CallOptions within(Duration timeout) {
    return CallOptions.builder().timeout(timeout).build();
  }

  private static String echo(FerryChannel channel, String text) {
    return channel.blockingCall(TestService.ECHO, BytesValue.of(ByteString.copyFromUtf8(text)),
        within(Duration.ofSeconds(10))).getValue().toStringUtf8();
  }

  private static String whoAmI(FerryChannel channel) {
    return channel.blockingCall(WHO_AM_I, StringValue.of(""), within(Duration.ofSeconds(10))).getValue();
  }

  /**
   * Whether the server logged a line with all of {@code parts}: at WARN, or at DEBUG when another TLS
   * failure was logged in full less than a second before (failures are aggregated by kind).
   */
  private static boolean serverLogged(LogCapture log, String... parts) {
    return log.lines().stream().anyMatch(line -> line.contains("[ferry-server-io")
        && (line.contains(" WARN ") || line.contains(" DEBUG ")) && java.util.Arrays.stream(parts).allMatch(line::contains));
  }

  /** Calls once and returns the failure, which must come before the deadline (no hang, no heartbeat timeout). */
  private static FerryException fastFailure(FerryChannel channel) {
    CompletableFuture<BytesValue> call = channel.call(TestService.ECHO, BytesValue.getDefaultInstance(),
        within(Duration.ofSeconds(30)));
    try {
      call.get(FAST.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(FerryException.class);
      return (FerryException) e.getCause();
    } catch (Exception e) {
      throw new AssertionError("call did not fail within " + FAST, e);
    }
    throw new AssertionError("call succeeded");
  }

  private static void assumeProvider(TlsProvider provider) {
    if (provider == TlsProvider.OPENSSL) {
      assumeTrue(OpenSsl.isAvailable(), "OpenSSL (netty-tcnative) not available here");
    }
  }

  @ParameterizedTest
  @EnumSource(value = TlsProvider.class, names = {"JDK", "OPENSSL"})
  void callsOverTlsOnAPooledChannel(TlsProvider provider) throws Exception {
    assumeProvider(provider);
    FerryServer server = server(serverTls("server").provider(provider).build());
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", server.port())
        .tls(trusting("ca").provider(provider).build())
        .pool(PoolOptions.builder().size(2).build()).build());
    byte[] payload = new byte[4096];
    Arrays.fill(payload, (byte) 7);
    List<CompletableFuture<BytesValue>> calls = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      payload[0] = (byte) i;
      calls.add(channel.call(TestService.ECHO, BytesValue.of(ByteString.copyFrom(payload)),
          within(Duration.ofSeconds(20))));
    }
    for (int i = 0; i < 200; i++) {
      byte[] back = calls.get(i).get(20, TimeUnit.SECONDS).getValue().toByteArray();
      assertThat(back).hasSize(4096);
      assertThat(back[0]).isEqualTo((byte) i);
    }
    assertThat(whoAmI(channel)).isEqualTo("anonymous"); // no client certificate asked for
  }

  @ParameterizedTest
  @EnumSource(value = TlsProvider.class, names = {"JDK", "OPENSSL"})
  void mutualTlsPutsTheVerifiedClientIdentityInTheCallContext(TlsProvider provider) throws Exception {
    assumeProvider(provider);
    FerryServer server = server(serverTls("server").provider(provider).trustRoots(crt("ca"))
        .clientAuth(ServerTls.ClientAuth.REQUIRE).build());
    FerryChannel channel = channel(server.port(),
        trusting("ca").provider(provider).keyCertChain(crt("client"), key("client")).build());
    assertThat(whoAmI(channel))
        .isEqualTo("CN=billing [billing.internal, spiffe://ferry.test/billing] dns=[billing.internal]"
            + " uris=[spiffe://ferry.test/billing]");
  }

  @Test
  void optionalClientAuthServesClientsWithAndWithoutCertificates() throws Exception {
    FerryServer server = server(serverTls("server").trustRoots(crt("ca"))
        .clientAuth(ServerTls.ClientAuth.OPTIONAL).build());
    FerryChannel anonymous = channel(server.port(), trusting("ca").build());
    FerryChannel billing = channel(server.port(), trusting("ca").keyCertChain(crt("client"), key("client")).build());
    assertThat(whoAmI(anonymous)).isEqualTo("anonymous");
    assertThat(whoAmI(billing)).startsWith("CN=billing");
  }

  @ParameterizedTest
  @EnumSource(value = TlsProvider.class, names = {"JDK", "OPENSSL"})
  void serverCertificateFromAnUntrustedCaFailsFastOnBothSides(TlsProvider provider) throws Exception {
    assumeProvider(provider);
    try (LogCapture log = new LogCapture()) {
      FerryServer server = server(serverTls("server").provider(provider).build());
      FerryException e = fastFailure(channel(server.port(), trusting("other-ca").provider(provider).build()));
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).contains("127.0.0.1:" + server.port()).contains("TLS handshake failed");
      // The server logs it (WARN, or DEBUG within a second of another); the client tells its caller instead.
      await().atMost(FAST).until(() -> serverLogged(log, "Closing connection with 127.0.0.1:", "TLS handshake failed"));
    }
  }

  @ParameterizedTest
  @EnumSource(value = TlsProvider.class, names = {"JDK", "OPENSSL"})
  void expiredServerCertificateFailsFast(TlsProvider provider) throws Exception {
    assumeProvider(provider);
    FerryServer server = server(serverTls("expired").provider(provider).build());
    FerryException e = fastFailure(channel(server.port(), trusting("ca").provider(provider).build()));
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("TLS handshake failed").contains("CertificateExpiredException");
  }

  @ParameterizedTest
  @EnumSource(value = TlsProvider.class, names = {"JDK", "OPENSSL"})
  void serverCertificateForAnotherNameFailsHostnameVerification(TlsProvider provider) throws Exception {
    assumeProvider(provider);
    FerryServer server = server(serverTls("wrong-name").provider(provider).build());
    FerryException e = fastFailure(channel(server.port(), trusting("ca").provider(provider).build()));
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("TLS handshake failed")
        .contains("No subject alternative names matching IP address 127.0.0.1");

    // The same certificate passes when the client is told which name to expect...
    assertThat(echo(channel(server.port(), trusting("ca").provider(provider).serverName("elsewhere.example").build()),
        "named")).isEqualTo("named");
    // ...or when verification is turned off (the CA still has to be trusted).
    assertThat(echo(channel(server.port(), trusting("ca").provider(provider).hostnameVerification(false).build()),
        "unchecked")).isEqualTo("unchecked");
  }

  @ParameterizedTest
  @EnumSource(value = TlsProvider.class, names = {"JDK", "OPENSSL"})
  void missingClientCertificateIsRefusedWhenRequired(TlsProvider provider) throws Exception {
    assumeProvider(provider);
    try (LogCapture log = new LogCapture()) {
      FerryServer server = server(serverTls("server").provider(provider).trustRoots(crt("ca"))
          .clientAuth(ServerTls.ClientAuth.REQUIRE).build());
      FerryException e = fastFailure(channel(server.port(), trusting("ca").provider(provider).build()));
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).contains("127.0.0.1:" + server.port()).containsIgnoringCase("certificate");
      await().atMost(FAST).until(() -> serverLogged(log, "Closing connection with 127.0.0.1:", "TLS handshake failed"));
    }
  }

  @Test
  void plaintextClientToTlsServerIsToldTheServerRequiresTls() throws Exception {
    try (LogCapture log = new LogCapture()) {
      FerryServer server = server(serverTls("server").build());
      FerryException e = fastFailure(channel(server.port(), null));
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).contains("REFUSED").contains("this server requires TLS");
      await().atMost(FAST).until(() -> log.text().contains("this server requires TLS; the client connected in plaintext"));
    }
  }

  @Test
  void tlsClientToPlaintextServerIsToldTheServerAnsweredInPlaintext() throws Exception {
    try (LogCapture log = new LogCapture()) {
      FerryServer server = server(null);
      FerryException e = fastFailure(channel(server.port(), trusting("ca").build()));
      assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(e.description()).contains("answered in plaintext Ferry, not TLS");
      await().atMost(FAST).until(() -> log.text().contains("look like a TLS handshake"));
    }
  }

  @Test
  void tls12IsRefusedByDefaultAndAllowedByOption() throws Exception {
    FerryServer server = server(serverTls("server").protocols("TLSv1.2").build());
    assertThat(fastFailure(channel(server.port(), trusting("ca").build())).description())
        .contains("TLS handshake failed");
    assertThat(echo(channel(server.port(), trusting("ca").protocols("TLSv1.3", "TLSv1.2").build()), "1.2"))
        .isEqualTo("1.2");
  }

  @Test
  void reloadedCertificateIsUsedByNewConnectionsWhileOpenOnesKeepWorking() throws Exception {
    FerryServer server = server(serverTls("server").build());
    FerryChannel trustsFirstCa = channel(server.port(), trusting("ca").build());
    assertThat(echo(trustsFirstCa, "before")).isEqualTo("before");

    // Rotation: new material, from a CA the first client does not trust.
    server.updateTls(serverTls("server2").build());
    assertThat(echo(trustsFirstCa, "open connection")).isEqualTo("open connection");
    assertThat(echo(channel(server.port(), trusting("other-ca").build()), "new material")).isEqualTo("new material");
    assertThat(fastFailure(channel(server.port(), trusting("ca").build())).description())
        .contains("TLS handshake failed");
  }

  @Test
  void channelTlsCanBeReplacedForNewConnections() throws Exception {
    FerryServer server = server(serverTls("server").build());
    FerryChannel channel = channel(server.port(), trusting("other-ca").build());
    assertThat(fastFailure(channel).description()).contains("TLS handshake failed");
    channel.updateTls(trusting("ca").build());
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> echo(channel, "x").equals("x"));
  }

  @Test
  void updateTlsOnAPlaintextServerOrChannelIsRejected() throws Exception {
    FerryServer server = server(null);
    assertThatThrownBy(() -> server.updateTls(serverTls("server").build()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("without TLS");
    assertThatThrownBy(() -> channel(server.port(), null).updateTls(trusting("ca").build()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("without TLS");
  }

  @Test
  void badMaterialFailsWhenTheOptionsAreBuilt() {
    assertThatThrownBy(() -> ServerTls.builder().build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("keyCertChain");
    assertThatThrownBy(() -> ServerTls.builder().keyCertChain(dir.resolve("nope.crt"), key("server")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nope.crt");
    assertThatThrownBy(() -> ServerTls.builder().keyCertChain(key("server"), crt("server")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid TLS configuration");
    assertThatThrownBy(() -> ServerTls.builder().keyCertChain(crt("server"), key("server"))
        .clientAuth(ServerTls.ClientAuth.REQUIRE).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("trustRoots");
    assertThatThrownBy(() -> ClientTls.builder().protocols("SSLv3"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("protocols: SSLv3 (expected: TLSv1.3 or TLSv1.2)");
  }

  /** Heartbeats detect a black-holed TLS connection exactly as a plaintext one, and the pool recovers. */
  @ParameterizedTest
  @EnumSource(value = TlsProvider.class, names = {"JDK", "OPENSSL"})
  void blackHoledTlsConnectionIsDetectedByHeartbeatsAndReplaced(TlsProvider provider) throws Exception {
    assumeProvider(provider);
    FerryServer server = server(serverTls("server").provider(provider).build(),
        FerryServer.builder().minClientPingInterval(Duration.ofMillis(50)));
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
        .tls(trusting("ca").provider(provider).build())
        // One connection: with two, the second could still be inside its own timeout when the test sends
        // its next call, and that call (sent into the black hole) would rightly fail.
        .pool(PoolOptions.builder().size(1).build())
        .heartbeat(HeartbeatOptions.of(Duration.ofMillis(300), Duration.ofMillis(1500)))
        .reconnectBackoff(FAST_BACKOFF)
        .build());
    assertThat(echo(channel, "warm up")).isEqualTo("warm up");
    CompletableFuture<StringValue> hanging =
        channel.call(TestService.HANG, StringValue.of("x"), within(Duration.ofSeconds(60)));
    assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();

    proxy.blackHole();
    try {
      hanging.get(10, TimeUnit.SECONDS); // the heartbeat gives up long before the call's 60 s deadline
      throw new AssertionError("call succeeded through a black hole");
    } catch (ExecutionException e) {
      FerryException fe = (FerryException) e.getCause();
      assertThat(fe.code()).isEqualTo(StatusCode.UNAVAILABLE);
      assertThat(fe.description()).contains("sent nothing for").contains("heartbeat timeout");
    }
    proxy.pass();
    assertThat(echo(channel, "after")).isEqualTo("after");
  }

  /** The connection limit's refusal reaches a TLS client through TLS, with its reason. */
  @Test
  void connectionLimitRefusalIsReadableOverTls() throws Exception {
    FerryServer server = server(serverTls("server").build(), FerryServer.builder().maxConnections(1));
    FerryChannel first = closeLater(FerryChannel.builder("127.0.0.1", server.port())
        .tls(trusting("ca").build()).pool(PoolOptions.builder().size(1).build()).build());
    assertThat(echo(first, "admitted")).isEqualTo("admitted");
    FerryException e = fastFailure(channel(server.port(), trusting("ca").build()));
    assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
    assertThat(e.description()).contains("REFUSED").contains("maxConnections");
  }

  /** A graceful shutdown over TLS lets calls in flight finish, as in plaintext. */
  @Test
  void gracefulShutdownOverTlsFinishesCallsInFlight() throws Exception {
    FerryServer server = server(serverTls("server").build());
    FerryChannel channel = channel(server.port(), trusting("ca").build());
    List<CompletableFuture<com.google.protobuf.Int64Value>> calls = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      calls.add(channel.call(TestService.SLEEP, com.google.protobuf.Int64Value.of(300), within(Duration.ofSeconds(20))));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> service.sleeping.get() == 10);
    server.shutdown(Duration.ofSeconds(10));
    for (CompletableFuture<com.google.protobuf.Int64Value> call : calls) {
      assertThat(call.get(15, TimeUnit.SECONDS).getValue()).isEqualTo(300);
    }
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  /** The idle-close field failure, over TLS: the server closes idle connections, callers see nothing. */
  @Test
  void serverClosingIdleTlsConnectionsCostsCallersNothing() throws Exception {
    FerryServer server = server(serverTls("server").build(),
        FerryServer.builder().maxConnectionIdle(Duration.ofMillis(500)));
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
        .tls(trusting("ca").build())
        .pool(PoolOptions.builder().size(2).build()).build());
    for (int round = 0; round < 2; round++) {
      List<CompletableFuture<BytesValue>> calls = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        calls.add(channel.call(TestService.ECHO, BytesValue.of(ByteString.copyFromUtf8("r" + round + "c" + i)),
            within(Duration.ofSeconds(10))));
      }
      for (int i = 0; i < 20; i++) {
        assertThat(calls.get(i).get(10, TimeUnit.SECONDS).getValue().toStringUtf8()).isEqualTo("r" + round + "c" + i);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.openConnections() == 0);
      await().atMost(Duration.ofSeconds(5)).until(() -> channel.state() == ChannelState.IDLE);
    }
    assertThat(proxy.acceptedConnections()).isGreaterThanOrEqualTo(3);
  }
}
