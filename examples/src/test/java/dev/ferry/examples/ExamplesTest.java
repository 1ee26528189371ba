package dev.ferry.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.FerryChannel;
import dev.ferry.examples.demo.Demo;
import dev.ferry.examples.kvstore.GetRequest;
import dev.ferry.examples.kvstore.InMemoryKvStore;
import dev.ferry.examples.kvstore.KvStoreFerryService;
import dev.ferry.examples.kvstore.KvStoreFerryStub;
import dev.ferry.examples.kvstore.ListRequest;
import dev.ferry.examples.kvstore.ListResponse;
import dev.ferry.examples.kvstore.PutRequest;
import dev.ferry.server.FerryServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The examples do what they say: the demo's tour, hello world, and the key-value store's contract. */
class ExamplesTest {
  @Test
  void demoRunsTheWholeTour() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Demo.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out)
        .contains("Get fruit/apple -> \"red\"")
        .contains("page 3: fruit/elderberry")
        .contains("loaded 3 entries in one call")
        .contains("the watch saw: veg/carrot, veg/leek, veg/pea")
        .contains("-> NOT_FOUND: no such key: fruit/zucchini")
        .contains("-> INVALID_ARGUMENT")
        .contains("-> DEADLINE_EXCEEDED")
        .contains("the server cancelled the handler too: true")
        .contains("the Get completes: \"dark red\"")
        .contains("Demo finished");
  }

  @Test
  void observabilityExampleCountsItsCallsByMethodAndStatus() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    dev.ferry.examples.observability.ObservabilityExample.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .contains("rpc.server.call.duration{rpc.method=Get,rpc.response.status_code=NOT_FOUND,"
            + "rpc.service=ferry.examples.kvstore.KvStore} count=1")
        .contains("rpc.server.call.duration{rpc.method=Get,rpc.response.status_code=OK,"
            + "rpc.service=ferry.examples.kvstore.KvStore} count=1")
        .contains("ferry.server.calls.started{rpc.method=Get,rpc.service=ferry.examples.kvstore.KvStore} count=2")
        .contains("rpc.client.call.duration{rpc.method=Put,rpc.response.status_code=OK,"
            + "rpc.service=ferry.examples.kvstore.KvStore,server.address=127.0.0.1,server.port=")
        .contains("ferry.client.calls.started{server.address=127.0.0.1,server.port=");
  }

  @Test
  void secureExampleAuthenticatesAuthorizesRefusesPlaintextReloadsAndCleansUp(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path workDir) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    dev.ferry.examples.secure.SecureKvStoreExample.run(new PrintStream(bytes, true, StandardCharsets.UTF_8), workDir);
    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .contains("reader-token -> caller \"reporting\" with roles [reader]")
        .contains("writer-token -> caller \"billing\" with roles [reader, writer]")
        .contains("client certificates: require")
        .contains("reader got invoice/42 = paid")
        .contains("reader's Put -> PERMISSION_DENIED: caller reporting may not call ferry.examples.kvstore.KvStore/Put")
        .contains("plaintext client (expected to fail) -> UNAVAILABLE")
        .contains("this server requires TLS")
        .contains("certificate reloaded: a client expecting the name kv.internal connects and reads invoice/42 = paid")
        .contains("Secure example finished (its certificates and keys deleted)");
    try (java.util.stream.Stream<java.nio.file.Path> left = java.nio.file.Files.list(workDir)) {
      assertThat(left).as("what the example made in " + workDir).isEmpty();
    }
  }

  @Test
  void serverTlsFromAPkcs12KeyStoreServesMutualTls(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    dev.ferry.testing.TestPki.Authority ca = dev.ferry.testing.TestPki.newAuthority("CA");
    dev.ferry.testing.TestPki.Issued server = ca.issue(dev.ferry.testing.TestPki.spec("localhost").dns("localhost").server());
    ca.issue(dev.ferry.testing.TestPki.spec("billing").dns("billing.internal").client()).writePem(dir, "client");
    ca.writePem(dir, "ca");
    char[] password = "changeit".toCharArray();
    java.security.KeyStore p12 = java.security.KeyStore.getInstance("PKCS12");
    p12.load(null, null);
    p12.setKeyEntry("server", server.key(), password, server.chain());
    try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(dir.resolve("server.p12"))) {
      p12.store(out, password);
    }

    dev.ferry.server.ServerTls tls = dev.ferry.examples.secure.KeyStoreTls.serverTls(dir.resolve("server.p12"), password,
        dir.resolve("ca.crt"));

    try (FerryServer running = FerryServer.builder().host("127.0.0.1").tls(tls)
            .addService(KvStoreFerryService.bind(new InMemoryKvStore())).build().start();
        FerryChannel channel = FerryChannel.builder("localhost", running.port())
            .tls(dev.ferry.client.ClientTls.builder().trustRoots(dir.resolve("ca.crt"))
                .keyCertChain(dir.resolve("client.crt"), dir.resolve("client.key")).build())
            .build()) {
      KvStoreFerryStub.create(channel).put(PutRequest.newBuilder().setKey("k").build());
    }
  }

  @Test
  void callTimerAndMutualTlsIdentityWorkTogether(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    dev.ferry.testing.TestPki.Authority ca = dev.ferry.testing.TestPki.newAuthority("CA");
    ca.issue(dev.ferry.testing.TestPki.spec("localhost").dns("localhost").server()).writePem(dir, "server");
    ca.issue(dev.ferry.testing.TestPki.spec("billing").dns("billing.internal").client()).writePem(dir, "billing");
    ca.issue(dev.ferry.testing.TestPki.spec("intruder").dns("intruder.internal").client()).writePem(dir, "intruder");
    dev.ferry.examples.interceptors.CallTimer timer = new dev.ferry.examples.interceptors.CallTimer();
    try (FerryServer server = FerryServer.builder().host("127.0.0.1")
            .tls(dev.ferry.server.ServerTls.builder().keyCertChain(dir.resolve("server.crt"), dir.resolve("server.key"))
                .trustRoots(ca.certificate()).clientAuth(dev.ferry.server.ServerTls.ClientAuth.REQUIRE).build())
            .intercept(timer,
                new dev.ferry.examples.interceptors.MutualTlsIdentity(
                    java.util.Map.of("billing.internal", java.util.Set.of("writer"))),
                dev.ferry.server.auth.MethodAuthorizer.builder()
                    .allow(dev.ferry.examples.kvstore.KvStoreFerry.PUT, "writer").build())
            .addService(KvStoreFerryService.bind(new InMemoryKvStore())).build().start()) {
      for (String who : List.of("billing", "intruder")) {
        try (FerryChannel channel = FerryChannel.builder("localhost", server.port())
            .tls(dev.ferry.client.ClientTls.builder().trustRoots(ca.certificate())
                .keyCertChain(dir.resolve(who + ".crt"), dir.resolve(who + ".key")).build())
            .build()) {
          KvStoreFerryStub stub = KvStoreFerryStub.create(channel);
          PutRequest put = PutRequest.newBuilder().setKey("k").setValue(ByteString.copyFromUtf8(who)).build();
          if (who.equals("billing")) {
            stub.put(put);
          } else {
            assertThatThrownBy(() -> stub.put(put)).isInstanceOf(FerryException.class)
                .extracting(e -> ((FerryException) e).code()).isEqualTo(StatusCode.UNAUTHENTICATED);
          }
        }
      }
      String put = dev.ferry.examples.kvstore.KvStoreFerry.PUT.fullName();
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
          .until(() -> timer.calls(put + " UNAUTHENTICATED") == 1);
      assertThat(timer.calls(put + " OK")).isEqualTo(1);
    }
  }

  @Test
  void handWrittenServiceWorks() throws Exception {
    PrintStream original = System.out;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      dev.ferry.examples.manual.ManualServiceExample.main(new String[0]);
    } finally {
      System.setOut(original);
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualToIgnoringNewLines("Hello, Ada");
  }

  @Test
  void kvStorePagesThroughEverythingOnceAndRejectsBadInput() throws Exception {
    try (FerryServer server = FerryServer.builder().host("127.0.0.1")
            .addService(KvStoreFerryService.bind(new InMemoryKvStore())).build().start();
        FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).build()) {
      KvStoreFerryStub kv = KvStoreFerryStub.create(channel);
      for (int i = 0; i < 25; i++) {
        kv.put(PutRequest.newBuilder().setKey(String.format("k/%02d", i)).setValue(ByteString.copyFromUtf8("v" + i)).build());
      }
      kv.put(PutRequest.newBuilder().setKey("other").build());
      List<String> seen = new ArrayList<>();
      String token = "";
      do {
        ListResponse page = kv.list(ListRequest.newBuilder().setPrefix("k/").setPageSize(7).setPageToken(token).build());
        assertThat(page.getEntriesCount()).isLessThanOrEqualTo(7);
        page.getEntriesList().forEach(e -> seen.add(e.getKey()));
        token = page.getNextPageToken();
      } while (!token.isEmpty());
      assertThat(seen).hasSize(25).isSorted().doesNotHaveDuplicates().allMatch(k -> k.startsWith("k/"));

      assertThatThrownBy(() -> kv.get(GetRequest.newBuilder().setKey("missing").build()))
          .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND));
      assertThatThrownBy(() -> kv.list(ListRequest.newBuilder().setPageSize(5000).build()))
          .isInstanceOfSatisfying(FerryException.class,
              e -> assertThat(e.code()).isEqualTo(StatusCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> kv.list(ListRequest.newBuilder().setPageToken("!!!").build()))
          .isInstanceOfSatisfying(FerryException.class,
              e -> assertThat(e.code()).isEqualTo(StatusCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> kv.put(PutRequest.newBuilder().setKey("big")
              .setValue(ByteString.copyFrom(new byte[InMemoryKvStore.MAX_VALUE_SIZE + 1])).build()))
          .isInstanceOfSatisfying(FerryException.class,
              e -> assertThat(e.code()).isEqualTo(StatusCode.INVALID_ARGUMENT));
    }
  }
}
