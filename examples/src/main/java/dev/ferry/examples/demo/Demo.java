package dev.ferry.examples.demo;

import com.google.protobuf.ByteString;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.Response;
import dev.ferry.StreamReader;
import dev.ferry.StreamWriter;
import dev.ferry.client.ClientStreamingCall;
import dev.ferry.examples.kvstore.Change;
import dev.ferry.examples.kvstore.DeleteRequest;
import dev.ferry.examples.kvstore.DeleteResponse;
import dev.ferry.examples.kvstore.Entry;
import dev.ferry.examples.kvstore.GetRequest;
import dev.ferry.examples.kvstore.GetResponse;
import dev.ferry.examples.kvstore.InMemoryKvStore;
import dev.ferry.examples.kvstore.KvStoreFerry;
import dev.ferry.examples.kvstore.KvStoreFerryService;
import dev.ferry.examples.kvstore.KvStoreFerryStub;
import dev.ferry.examples.kvstore.ListRequest;
import dev.ferry.examples.kvstore.ListResponse;
import dev.ferry.examples.kvstore.LoadResponse;
import dev.ferry.examples.kvstore.WatchRequest;
import dev.ferry.examples.kvstore.PutRequest;
import dev.ferry.examples.kvstore.PutResponse;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The tour: starts a key-value store server inside this program, calls it through a generated stub,
 * and prints what happens, including an error, a deadline, a server restart the client rides out,
 * and a graceful shutdown. Run it with the command in README.md.
 */
public final class Demo {
  private final PrintStream out;
  private final InMemoryKvStore store = new InMemoryKvStore();
  private final CountDownLatch slowGetCancelled = new CountDownLatch(1);
  private int step;

  private Demo(PrintStream out) {
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    new Demo(System.out).run();
  }

  /** Runs the tour, printing to {@code out}; throws if anything does not happen as described. */
  public static void run(PrintStream out) throws Exception {
    new Demo(out).run();
  }

  private FerryServer startServer(int port) throws Exception {
    return FerryServer.builder()
        .host("127.0.0.1")
        .port(port)
        .addService(KvStoreFerryService.bind(new SlowGets(store)))
        .build()
        .start();
  }

  private void run() throws Exception {
    out.println("Ferry demo: a key-value store server embedded in this program, and a client calling it.");
    out.println();
    FerryServer server = startServer(0);
    int port = server.port();
    say("Server started on 127.0.0.1:%d with the %s service.", port, KvStoreFerry.SERVICE_NAME);

    try (FerryChannel channel = FerryChannel.builder("127.0.0.1", port).build()) {
      KvStoreFerryStub kv = KvStoreFerryStub.create(channel)
          .withTimeout(Duration.ofSeconds(5))
          .withMetadata(Metadata.of("x-client", "demo"));

      say("Put five fruits, each call carrying request metadata x-client=demo.");
      for (String fruit : List.of("apple", "banana", "cherry", "date", "elderberry")) {
        // exchange() also returns the trailing metadata the server sent with the response.
        Response<PutResponse> put = channel.exchange(KvStoreFerry.PUT, PutRequest.newBuilder()
            .setKey("fruit/" + fruit).setValue(ByteString.copyFromUtf8(colour(fruit))).build(),
            CallOptions.builder().timeout(Duration.ofSeconds(5)).metadata(Metadata.of("x-client", "demo")).build())
            .get(5, TimeUnit.SECONDS);
        detail("put fruit/%-10s -> replaced=%s, trailers: x-store-size=%s, x-written-for=%s", fruit,
            put.message().getReplaced(), put.trailers().get("x-store-size"), put.trailers().get("x-written-for"));
      }

      GetResponse apple = kv.get(GetRequest.newBuilder().setKey("fruit/apple").build());
      say("Get fruit/apple -> \"%s\"", apple.getValue().toStringUtf8());

      say("List fruit/ two at a time:");
      String token = "";
      int page = 0;
      do {
        ListResponse list = kv.list(ListRequest.newBuilder().setPrefix("fruit/").setPageSize(2).setPageToken(token).build());
        detail("page %d: %s", ++page, list.getEntriesList().stream().map(Entry::getKey).collect(Collectors.joining(", ")));
        token = list.getNextPageToken();
      } while (!token.isEmpty());
      expect(page == 3, "three pages");

      say("Watch veg/ (a server stream) while loading three vegetables in one call (a client stream):");
      // [demo-streams]
      kv.put(PutRequest.newBuilder().setKey("veg/beet").setValue(ByteString.copyFromUtf8("red")).build());
      try (StreamReader<Change> watch = kv.watch(WatchRequest.newBuilder().setPrefix("veg/").build())) {
        // The watch starts with what is there: once it is read, the watch sees every later change.
        expect(watch.next().getKey().equals("veg/beet"), "the watch starts with veg/beet");
        ClientStreamingCall<Entry, LoadResponse> load = kv.load();
        for (String veg : List.of("carrot", "leek", "pea")) {
          load.write(Entry.newBuilder().setKey("veg/" + veg).setValue(ByteString.copyFromUtf8("green")).build());
        }
        detail("loaded %d entries in one call", load.awaitResponse().getLoaded());
        List<String> seen = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
          seen.add(watch.next().getKey());
        }
        detail("the watch saw: %s", String.join(", ", seen));
        expect(seen.equals(List.of("veg/carrot", "veg/leek", "veg/pea")), "the loaded keys, in order");
      } // closing the reader cancels the watch
      // [demo-streams]

      say("Get a key that does not exist:");
      expectFailure(() -> kv.get(GetRequest.newBuilder().setKey("fruit/zucchini").build()), "NOT_FOUND");

      say("Put with an empty key:");
      expectFailure(() -> kv.put(PutRequest.newBuilder().setKey("").build()), "INVALID_ARGUMENT");

      say("Get from the slow part of the store (500 ms per read) with a 100 ms deadline:");
      long start = System.nanoTime();
      expectFailure(() -> kv.withTimeout(Duration.ofMillis(100)).get(GetRequest.newBuilder().setKey("slow/report").build()),
          "DEADLINE_EXCEEDED");
      detail("gave up after %d ms; the server cancelled the handler too: %s",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), slowGetCancelled.await(5, TimeUnit.SECONDS));

      say("Restart the server on the same port while the client keeps its channel:");
      server.shutdown(Duration.ofSeconds(5));
      expect(server.awaitTermination(Duration.ofSeconds(10)), "server stopped");
      detail("server stopped");
      CompletableFuture<GetResponse> patient = kv.withWaitForReady(true)
          .getAsync(GetRequest.newBuilder().setKey("fruit/cherry").build());
      detail("a wait-for-ready Get is sent while the server is down (it waits)...");
      server = startServer(port);
      detail("server started again; the Get completes: \"%s\"", patient.get(10, TimeUnit.SECONDS).getValue().toStringUtf8());
      kv.delete(DeleteRequest.newBuilder().setKey("fruit/date").build());
      detail("and the channel is back to normal: delete fruit/date -> ok; channel state %s", channel.state());
    } finally {
      say("Shut down gracefully: GOAWAY to clients, calls in flight finish, then the server closes.");
      server.shutdown(Duration.ofSeconds(5));
      expect(server.awaitTermination(Duration.ofSeconds(10)), "server terminated");
    }
    out.println();
    out.println("Demo finished: every call did what it said.");
  }

  private static String colour(String fruit) {
    switch (fruit) {
      case "apple": return "red";
      case "banana": return "yellow";
      case "cherry": return "dark red";
      case "date": return "brown";
      default: return "purple";
    }
  }

  private void say(String format, Object... args) {
    out.printf("%2d. %s%n", ++step, String.format(format, args));
  }

  private void detail(String format, Object... args) {
    out.printf("      %s%n", String.format(format, args));
  }

  private void expectFailure(Runnable call, String expectedCode) {
    try {
      call.run();
    } catch (FerryException e) {
      detail("-> %s: %s", e.code(), e.description());
      expect(e.code().name().equals(expectedCode), "status " + expectedCode);
      return;
    }
    throw new IllegalStateException("expected " + expectedCode + ", but the call succeeded");
  }

  private static void expect(boolean condition, String what) {
    if (!condition) {
      throw new IllegalStateException("demo went wrong: expected " + what);
    }
  }

  /**
   * The store behind a decorator that makes reads under "slow/" take 500 ms, a stand-in for a slow
   * disk; the handler stops early if the call is cancelled (its deadline passes).
   */
  private final class SlowGets implements KvStoreFerryService {
    private final KvStoreFerryService delegate;

    SlowGets(KvStoreFerryService delegate) {
      this.delegate = delegate;
    }

    @Override
    public GetResponse get(GetRequest request, CallContext context) throws Exception {
      if (request.getKey().startsWith("slow/")) {
        CountDownLatch cancelled = new CountDownLatch(1);
        context.onCancel(cancelled::countDown);
        if (cancelled.await(500, TimeUnit.MILLISECONDS)) {
          slowGetCancelled.countDown();
          throw new FerryException(dev.ferry.StatusCode.CANCELLED, "cancelled");
        }
      }
      return delegate.get(request, context);
    }

    @Override
    public PutResponse put(PutRequest request, CallContext context) throws Exception {
      return delegate.put(request, context);
    }

    @Override
    public DeleteResponse delete(DeleteRequest request, CallContext context) throws Exception {
      return delegate.delete(request, context);
    }

    @Override
    public ListResponse list(ListRequest request, CallContext context) throws Exception {
      return delegate.list(request, context);
    }

    @Override
    public void watch(WatchRequest request, StreamWriter<Change> changes, CallContext context) throws Exception {
      delegate.watch(request, changes, context);
    }

    @Override
    public LoadResponse load(StreamReader<Entry> entries, CallContext context) throws Exception {
      return delegate.load(entries, context);
    }
  }
}
