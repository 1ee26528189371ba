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
        .contains("-> NOT_FOUND: no such key: fruit/zucchini")
        .contains("-> INVALID_ARGUMENT")
        .contains("-> DEADLINE_EXCEEDED")
        .contains("the server cancelled the handler too: true")
        .contains("the Get completes: \"dark red\"")
        .contains("Demo finished");
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
