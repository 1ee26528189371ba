package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.ferry.examples.kvstore.InMemoryKvStore;
import dev.ferry.examples.kvstore.KvStoreFerryService;
import dev.ferry.examples.kvstore.KvStoreServer;
import dev.ferry.examples.kvstore.Kvstore;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerTls;
import dev.ferry.services.HealthService;
import dev.ferry.services.health.v1.HealthCheckResponse.ServingStatus;
import dev.ferry.testing.TestPki;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tool end to end: its main entry point run against the kvstore example server (health checks and
 * reflection on) over loopback, with no local .proto files; and against servers without reflection, with
 * descriptor sets and .proto files instead.
 */
class FerryCliTest {
  private static final String KV = "ferry.examples.kvstore.KvStore";

  private static FerryServer kvstore;
  private static String target;

  /** What one run printed, and its exit code. */
  record Run(int code, String out, String err) {
    List<String> lines() {
      return out.lines().toList();
    }
  }

  static Run ferry(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = FerryCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  @BeforeAll
  static void startKvStore() throws Exception {
    kvstore = KvStoreServer.start(0);
    target = "127.0.0.1:" + kvstore.port();
  }

  @AfterAll
  static void stopKvStore() {
    kvstore.close();
  }

  @Test
  void listShowsTheServicesAndTheirMethods() {
    Run services = ferry("list", target);
    assertThat(services.code()).as(services.err()).isZero();
    assertThat(services.lines()).containsExactly(KV, "ferry.health.v1.Health", "ferry.reflection.v1.ServerReflection");

    Run methods = ferry("list", target, KV);
    assertThat(methods.code()).isZero();
    assertThat(methods.lines()).containsExactly(KV + "/Put", KV + "/Get", KV + "/Delete", KV + "/List", KV + "/Watch",
        KV + "/Load");
  }

  @Test
  void describeShowsDeclarationsAsProtoText() {
    Run service = ferry("describe", target, KV);
    assertThat(service.code()).as(service.err()).isZero();
    assertThat(service.out()).startsWith(KV + " is a service (kvstore.proto):\nservice KvStore {\n")
        .contains("  rpc Get(ferry.examples.kvstore.GetRequest) returns (ferry.examples.kvstore.GetResponse);\n");

    Run method = ferry("describe", target, KV + "/List");
    assertThat(method.out()).contains("rpc List(ferry.examples.kvstore.ListRequest) returns (ferry.examples.kvstore.ListResponse);")
        .contains("message ListRequest {\n  string prefix = 1;\n  int32 page_size = 2;\n  string page_token = 3;\n}")
        .contains("  repeated ferry.examples.kvstore.Entry entries = 1;");

    Run message = ferry("describe", target, "ferry.health.v1.HealthCheckResponse");
    assertThat(message.out()).contains("message HealthCheckResponse {\n  ferry.health.v1.HealthCheckResponse.ServingStatus status = 1;\n"
        + "  enum ServingStatus {\n    UNKNOWN = 0;\n    SERVING = 1;\n    NOT_SERVING = 2;\n    SERVICE_UNKNOWN = 3;\n  }\n}");
    assertThat(ferry("describe", target, "ferry.health.v1.HealthListResponse").out())
        .contains("map<string, ferry.health.v1.HealthCheckResponse> statuses = 1;");

    Run all = ferry("describe", target);
    assertThat(all.out()).contains("service KvStore {", "service Health {", "service ServerReflection {");

    Run unknown = ferry("describe", target, "ferry.examples.kvstore.Nope");
    assertThat(unknown.code()).isEqualTo(FerryCli.FAILURE);
    assertThat(unknown.err()).contains("has no symbol ferry.examples.kvstore.Nope");
  }

  @Test
  void callSendsJsonAndPrintsJson() {
    Run put = ferry("call", target, KV + "/Put", "-d", "{\"key\": \"fruit/apple\", \"value\": \"cmVk\"}",
        "--emit-defaults");
    assertThat(put.code()).as(put.err()).isZero();
    assertThat(put.out()).isEqualTo("{\n  \"replaced\": false\n}\n");

    Run get = ferry("call", target, KV + "/Get", "-d", "{\"key\": \"fruit/apple\"}", "-H", "X-Request-Id=42", "-v");
    assertThat(get.code()).as(get.err()).isZero();
    assertThat(get.out()).isEqualTo("{\n  \"value\": \"cmVk\"\n}\n");
    assertThat(get.err()).startsWith("OK in ");

    Run missing = ferry("call", target, KV + "/Get", "-d", "{\"key\": \"fruit/zucchini\"}");
    assertThat(missing.code()).isEqualTo(FerryCli.STATUS_BASE + 5);
    assertThat(missing.err()).isEqualTo("ERROR: NOT_FOUND: no such key: fruit/zucchini\n");

    Run invalid = ferry("call", target, KV + "/Put", "-d", "{\"key\": \"\"}");
    assertThat(invalid.code()).isEqualTo(FerryCli.STATUS_BASE + 3);
    assertThat(invalid.err()).startsWith("ERROR: INVALID_ARGUMENT: key must be 1 to 256 characters");
  }

  @Test
  void callStreamsRequestsAndResponses() {
    Run load = ferry("call", target, KV + "/Load", "-d",
        "{\"key\": \"veg/a\", \"value\": \"cmVk\"}\n{\"key\": \"veg/b\", \"value\": \"e30=\"}"
            + " {\"key\": \"veg/c {}\", \"value\": \"\"}", "-v");
    assertThat(load.code()).as(load.err()).isZero();
    assertThat(load.out()).isEqualTo("{\n  \"loaded\": \"3\"\n}\n");
    assertThat(load.err()).contains("3 sent, 1 received");

    // Watch never ends by itself: its snapshot, then the deadline given.
    Run watch = ferry("call", target, KV + "/Watch", "-d", "{\"prefix\": \"veg/\"}", "--deadline", "2s");
    assertThat(watch.code()).as(watch.err()).isEqualTo(FerryCli.STATUS_BASE + 4);
    assertThat(watch.out()).isEqualTo("{\n  \"key\": \"veg/a\",\n  \"value\": \"cmVk\"\n}\n"
        + "{\n  \"key\": \"veg/b\",\n  \"value\": \"e30=\"\n}\n{\n  \"key\": \"veg/c {}\"\n}\n");
    assertThat(watch.err()).startsWith("ERROR: DEADLINE_EXCEEDED");

    Run two = ferry("call", target, KV + "/Watch", "-d", "{} {}");
    assertThat(two.code()).isEqualTo(FerryCli.FAILURE);
    assertThat(two.err()).contains("-d: " + KV + ".Watch takes one request, got 2 JSON objects");
  }

  @Test
  void requestObjectsAreCutWhereTheirBracketsCloseOutsideStrings() {
    assertThat(DynamicMethods.splitObjects(" {\"a\": \"}{\\\"\"}\n\t{\"b\": [1, {}]}{} "))
        .containsExactly("{\"a\": \"}{\\\"\"}", "{\"b\": [1, {}]}", "{}");
    assertThat(DynamicMethods.splitObjects("  ")).isEmpty();
    assertThat(DynamicMethods.splitObjects("{\"a\": 1")).containsExactly("{\"a\": 1");
  }

  @Test
  void callRefusesBadInputWithoutCallingAnything() {
    Run badJson = ferry("call", target, KV + "/Put", "-d", "{\"kee\": 1}");
    assertThat(badJson.code()).isEqualTo(FerryCli.FAILURE);
    assertThat(badJson.err()).startsWith("ferry: -d: not a ferry.examples.kvstore.PutRequest in JSON");

    Run noMethod = ferry("call", target, KV + "/Nope");
    assertThat(noMethod.code()).isEqualTo(FerryCli.FAILURE);
    assertThat(noMethod.err()).contains("service " + KV + " has no method Nope (it has [Put, Get, Delete, List, Watch, Load])");

    Run badTarget = ferry("call", "localhost", KV + "/Get");
    assertThat(badTarget.code()).isEqualTo(FerryCli.FAILURE);
    assertThat(badTarget.err()).contains("target: \"localhost\" (expected: host:port");

    Run badHeader = ferry("call", target, KV + "/Get", "-H", "no-equals-sign");
    assertThat(badHeader.code()).isEqualTo(FerryCli.FAILURE);
    assertThat(badHeader.err()).contains("-H: \"no-equals-sign\" (expected: key=value)");

    Run usage = ferry("call", target);
    assertThat(usage.code()).isEqualTo(2);
    assertThat(usage.err()).contains("Missing required parameter: 'METHOD'");
  }

  @Test
  void healthExitsZeroOnlyWhenServing() throws Exception {
    Run server = ferry("health", target);
    assertThat(server.code()).as(server.err()).isZero();
    assertThat(server.out()).isEqualTo("SERVING\n");
    assertThat(ferry("health", target, KV).out()).isEqualTo("SERVING\n");

    Run unknown = ferry("health", target, "no.Such");
    assertThat(unknown.code()).isEqualTo(FerryCli.STATUS_BASE + 5);

    HealthService health = HealthService.create();
    health.setStatus(KV, ServingStatus.NOT_SERVING);
    try (FerryServer down = FerryServer.builder().host("127.0.0.1").port(0).addService(health.service())
        .build().start()) {
      Run notServing = ferry("health", "127.0.0.1:" + down.port(), KV);
      assertThat(notServing.code()).isEqualTo(FerryCli.FAILURE);
      assertThat(notServing.out()).isEqualTo("NOT_SERVING\n");
    }
  }

  /**
   * {@code --watch} prints the status, then each change, until the server ends the watch by shutting
   * down (NOT_SERVING, then the end): it then exits as for the last status. The output is read while the
   * tool runs, so that each change is made only once the previous status was printed.
   */
  @Test
  void healthWatchPrintsEachChangeUntilTheServerShutsDown() throws Exception {
    HealthService health = HealthService.create();
    health.setStatus(KV, ServingStatus.NOT_SERVING);
    FerryServer server = FerryServer.builder().host("127.0.0.1").port(0).addService(health.service())
        .addListener(health.shutdownListener()).build().start();
    try {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      java.util.concurrent.CompletableFuture<Integer> code = java.util.concurrent.CompletableFuture.supplyAsync(
          () -> FerryCli.run(new String[] {"health", "127.0.0.1:" + server.port(), KV, "--watch"},
              new PrintWriter(out, true), new PrintWriter(err, true)));
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
          .until(() -> out.toString().equals("NOT_SERVING\n"));
      health.setStatus(KV, ServingStatus.SERVING);
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> out.toString().equals("NOT_SERVING\nSERVING\n"));
      server.shutdown(java.time.Duration.ofSeconds(30));
      assertThat(code.get(10, java.util.concurrent.TimeUnit.SECONDS)).as(err.toString()).isEqualTo(FerryCli.FAILURE);
      assertThat(out.toString()).isEqualTo("NOT_SERVING\nSERVING\nNOT_SERVING\n");
    } finally {
      server.shutdownNow();
    }
  }

  @Test
  void pingTimesTheHandshakeAndPings() throws Exception {
    Run once = ferry("ping", target);
    assertThat(once.code()).as(once.err()).isZero();
    assertThat(once.lines()).hasSize(3);
    assertThat(once.lines().get(0)).startsWith("connected to " + target + " in ");
    assertThat(once.lines().get(1)).startsWith("Ferry handshake in ")
        .contains("MAX_CONCURRENT_CALLS=10000").contains("MIN_PING_INTERVAL_MS=5000");
    assertThat(once.lines().get(2)).startsWith("PING 1: ").endsWith(" ms");

    // Several PINGs are spaced by the server's minimum interval, so the server never sees too many.
    try (FerryServer pingable = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(HealthService.create().service()).minClientPingInterval(java.time.Duration.ofMillis(20))
        .build().start()) {
      Run three = ferry("ping", "127.0.0.1:" + pingable.port(), "-c", "3", "-i", "1ms");
      assertThat(three.code()).as(three.err()).isZero();
      assertThat(three.lines()).hasSize(6);
      assertThat(three.lines().get(1)).contains("MIN_PING_INTERVAL_MS=20");
      assertThat(three.lines().subList(2, 5)).allSatisfy(l -> assertThat(l).matches("PING [123]: [\\d.]+ ms"));
      assertThat(three.lines().get(5)).startsWith("round trip min/avg/max: ");
    }
  }

  @Test
  void pingAndHealthOverMutualTls(@TempDir Path dir) throws Exception {
    TestPki.Authority ca = TestPki.newAuthority("CA");
    ca.writePem(dir, "ca");
    ca.issue(TestPki.spec("localhost").dns("localhost").server()).writePem(dir, "server");
    ca.issue(TestPki.spec("ops").dns("ops.internal").client()).writePem(dir, "client");
    HealthService health = HealthService.create();
    try (FerryServer secure = FerryServer.builder().host("127.0.0.1").port(0)
        .tls(ServerTls.builder().keyCertChain(dir.resolve("server.crt"), dir.resolve("server.key"))
            .trustRoots(dir.resolve("ca.crt")).clientAuth(ServerTls.ClientAuth.REQUIRE).build())
        .addService(health.service()).build().start()) {
      String to = "localhost:" + secure.port();
      String[] tls = {"--cacert", dir.resolve("ca.crt").toString(), "--cert", dir.resolve("client.crt").toString(),
          "--key", dir.resolve("client.key").toString()};
      Run ping = ferry(concat(new String[] {"ping", to}, tls));
      assertThat(ping.code()).as(ping.err()).isZero();
      assertThat(ping.lines().get(1)).startsWith("TLS handshake in ").contains("(TLSv1.3, ");
      Run healthy = ferry(concat(new String[] {"health", to}, tls));
      assertThat(healthy.code()).as(healthy.err()).isZero();
      assertThat(healthy.out()).isEqualTo("SERVING\n");

      Run plaintext = ferry("health", to, "--deadline", "5s");
      assertThat(plaintext.code()).isEqualTo(FerryCli.STATUS_BASE + 14); // UNAVAILABLE
      assertThat(plaintext.err()).contains("this server requires TLS");
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  @Test
  void benchRunsClosedLoopAndReportsLatenciesAndRate() {
    Run bench = ferry("bench", target, KV + "/Get", "-d", "{\"key\": \"bench\"}", "-c", "4", "-z", "1500ms");
    assertThat(bench.code()).as(bench.err()).isZero();
    assertThat(bench.out()).startsWith("Calling " + KV + "/Get on " + target + " for 1.5 s: 4 in flight")
        .contains("Summary:", "calls/s", "Latency distribution:", "  p50", "  p99.9", "Latency histogram:",
            "Status codes:", "NOT_FOUND");
    assertThat(bench.err()).as("a progress line a second").contains(" s ").contains("calls/s");
    // The summary, the status counts and the histogram all cover every call of the run.
    long calls = number(bench, "^  calls: +([\\d,]+) in .*$");
    assertThat(calls).isPositive();
    assertThat(number(bench, "^  NOT_FOUND +([\\d,]+)$")).isEqualTo(calls);
    assertThat(bench.lines().stream().filter(l -> l.startsWith("  <= "))
        .mapToLong(l -> Long.parseLong(l.replaceAll("^  <= \\S+ ms +([\\d,]+).*$", "$1").replace(",", ""))).sum())
        .isEqualTo(calls);
  }

  /** The number captured by {@code regex} in the first line of the output it matches. */
  private static long number(Run run, String regex) {
    String line = run.lines().stream().filter(l -> l.matches(regex)).findFirst().orElseThrow(
        () -> new AssertionError("no line matching " + regex + " in:\n" + run.out()));
    return Long.parseLong(line.replaceAll(regex, "$1").replace(",", ""));
  }

  @Test
  void benchAtAFixedRateSendsNoMoreThanTheRateAllows() {
    Run bench = ferry("bench", target, KV + "/List", "-r", "50", "-z", "1s", "-c", "8");
    assertThat(bench.code()).as(bench.err()).isZero();
    // At 50 calls/s for 1 s, the calls due are those at 0, 20, ..., 980 ms: never more than 50.
    assertThat(number(bench, "^  calls: +([\\d,]+) in .*$")).isBetween(1L, 50L);
    assertThat(bench.out()).contains("OK");
  }

  @Test
  void withoutReflectionTheDefinitionsComeFromFiles(@TempDir Path dir) throws Exception {
    try (FerryServer plain = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(KvStoreFerryService.bind(new InMemoryKvStore())).build().start()) {
      String to = "127.0.0.1:" + plain.port();
      Run noReflection = ferry("list", to);
      assertThat(noReflection.code()).isEqualTo(FerryCli.FAILURE);
      assertThat(noReflection.err()).contains("does not offer reflection")
          .contains("--proto or --descriptor-set");

      Path set = dir.resolve("kvstore.pb");
      Files.write(set, FileDescriptorSet.newBuilder().addFile(Kvstore.getDescriptor().toProto()).build().toByteArray());
      Run list = ferry("list", to, "--descriptor-set", set.toString());
      assertThat(list.lines()).containsExactly(KV);
      Run put = ferry("call", to, KV + "/Put", "--descriptor-set", set.toString(), "-d", "{\"key\": \"k\"}");
      assertThat(put.code()).as(put.err()).isZero();

      Path protoc = protoc(dir);
      Path proto = Path.of("../examples/src/main/proto/kvstore.proto");
      Run get = ferry("call", to, KV + "/Get", "--proto", proto.toString(), "--protoc", protoc.toString(),
          "-d", "{\"key\": \"k\"}", "--emit-defaults");
      assertThat(get.code()).as(get.err()).isZero();
      assertThat(get.out()).isEqualTo("{\n  \"value\": \"\"\n}\n");
      Run describe = ferry("describe", to, KV, "--proto", proto.toString(), "--protoc", protoc.toString());
      assertThat(describe.out()).contains("service KvStore {");
    }
  }

  /** The protoc the build fetched, copied where it may be run; the test is skipped without one. */
  private static Path protoc(Path dir) throws Exception {
    String fetched = System.getProperty("ferry.test.protoc", "");
    assumeTrue(!fetched.isEmpty() && Files.isRegularFile(Path.of(fetched)), "no protoc at " + fetched);
    Path copy = dir.resolve("protoc");
    Files.copy(Path.of(fetched), copy, StandardCopyOption.REPLACE_EXISTING);
    assertThat(copy.toFile().setExecutable(true)).isTrue();
    return copy;
  }
}
