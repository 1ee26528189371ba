package dev.ferry.client;

import static dev.ferry.client.ClientTests.BLOB;
import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.failure;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.BytesValue;
import com.google.protobuf.ByteString;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.internal.Settings;
import dev.ferry.internal.wire.RequestHeader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Calls against a scripted server: matching by id, deadlines, cancellation, statuses, sizes. */
class FerryChannelCallsTest extends FakeServerTestBase {
  @Test
  void simpleCallCarriesMethodMetadataAndNoTimeout() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    Metadata md = Metadata.builder().add("x-request-id", "42").add("tenant", "acme").add("tenant", "ü").build();

    StringValue reply = value(ch.call(ECHO, s("hi"), CallOptions.builder().metadata(md).build()));

    assertThat(reply.getValue()).isEqualTo("echo:hi");
    FakeServer.FakeRequest r = server.nextRequest();
    assertThat(r.id()).isEqualTo(1);
    assertThat(r.method()).isEqualTo("test.Echo/Say");
    assertThat(r.timeoutMicros()).as("no deadline").isZero();
    assertThat(r.metadata()).isEqualTo(md);
  }

  @Test
  void exchangeReturnsTrailers() throws Exception {
    server = FakeServer.start();
    server.autoRespond(r -> r.respond(s("ok"), Metadata.of("x-cost", "7")));
    FerryChannel ch = channel(server.client());

    Response<StringValue> response = value(ch.exchange(ECHO, s("a"), CallOptions.DEFAULT));

    assertThat(response.message().getValue()).isEqualTo("ok");
    assertThat(response.trailers().get("x-cost")).isEqualTo("7");
  }

  @Test
  void thousandConcurrentCallsAnsweredInShuffledOrderEachGetTheirOwnResponse() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    int n = 1000;
    List<CompletableFuture<StringValue>> futures = new ArrayList<>(n);
    ExecutorService callers = Executors.newFixedThreadPool(8);
    try {
      List<CompletableFuture<CompletableFuture<StringValue>>> started = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        String body = "req-" + i;
        started.add(CompletableFuture.supplyAsync(() -> ch.call(ECHO, s(body)), callers));
      }
      for (CompletableFuture<CompletableFuture<StringValue>> f : started) {
        futures.add(f.get(10, TimeUnit.SECONDS));
      }
    } finally {
      callers.shutdown();
    }

    List<FakeServer.FakeRequest> requests = server.nextRequests(n);
    List<Integer> ids = requests.stream().map(FakeServer.FakeRequest::id).toList();
    assertThat(ids).as("ids are strictly increasing from 1 on the wire").isSorted().doesNotHaveDuplicates();
    assertThat(ids.get(0)).isEqualTo(1);
    assertThat(ids.get(n - 1)).isEqualTo(n);
    Collections.shuffle(requests, new Random(7));
    for (FakeServer.FakeRequest r : requests) {
      r.respond(s("resp:" + r.string()));
    }

    for (int i = 0; i < n; i++) {
      assertThat(value(futures.get(i)).getValue()).isEqualTo("resp:req-" + i);
    }
    assertThat(ch.droppedResponses()).isZero();
    assertThat(ch.currentConnection().pendingCount()).isZero();
    assertThat(server.connections).hasSize(1);
  }

  @Test
  void responsesInReverseOrder() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    List<CompletableFuture<StringValue>> futures = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      futures.add(ch.call(ECHO, s("r" + i)));
    }
    List<FakeServer.FakeRequest> requests = new ArrayList<>(server.nextRequests(5));
    // Answered from the last call made to the first. (Calls made while the connection is still coming up
    // may reach the server in another order; the order they were made in is what this test is about.)
    requests.sort(Comparator.comparing(FakeServer.FakeRequest::string).reversed());
    CompletableFuture<?> last = futures.get(futures.size() - 1);
    for (FakeServer.FakeRequest r : requests) {
      r.respond(s(r.string() + "!"));
      if (r.string().equals("r4")) {
        // Completion follows response order, not call order.
        assertThat(value(last)).isNotNull();
        assertThat(futures.get(0)).isNotDone();
      }
    }
    for (int i = 0; i < 5; i++) {
      assertThat(value(futures.get(i)).getValue()).isEqualTo("r" + i + "!");
    }
  }

  /**
   * The test's channel with its connection up (one call answered), so that the deadlines the tests set
   * cover only their calls: connecting on a busy machine could otherwise use them up before sending.
   */
  private FerryChannel connectedChannel(FerryChannelBuilder builder) throws Exception {
    FerryChannel ch = channel(builder);
    CompletableFuture<StringValue> first = ch.call(ECHO, s("connect"),
        CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(10)));
    server.nextRequest().respond(s("connected"));
    value(first);
    return ch;
  }

  @Test
  void aDeadlineBeyondTheProtocolsMaximumIsSentAsTheMaximum() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    // About 146 years away, the furthest CallOptions allows: PROTOCOL.md section 9.3 caps what is sent.
    CompletableFuture<StringValue> f = ch.call(ECHO, s("patient"),
        CallOptions.DEFAULT.withTimeout(Duration.ofDays(365L * 1_000)));
    FakeServer.FakeRequest r = server.nextRequest();
    assertThat(r.timeoutMicros()).isEqualTo(dev.ferry.internal.RequestHead.MAX_TIMEOUT_MICROS);
    r.respond(s("done"));
    assertThat(value(f).getValue()).isEqualTo("done");
  }

  @Test
  void aCallWhoseDeadlinePassesWhileItWaitsForAConnectionCompletesOnTheChannelsEventLoop() throws Exception {
    server = FakeServer.start(Settings.builder().maxConcurrentCalls(1).build());
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> inFlight = ch.call(ECHO, s("holds the only slot"));
    server.nextRequest();
    java.util.concurrent.atomic.AtomicReference<String> completedOn = new java.util.concurrent.atomic.AtomicReference<>();
    CountDownLatch completed = new CountDownLatch(1);

    CompletableFuture<StringValue> waiting = ch.call(ECHO, s("waits"), CallOptions.DEFAULT.withTimeout(Duration.ofMillis(300)));
    waiting.whenComplete((v, t) -> {
      completedOn.set(Thread.currentThread().getName());
      completed.countDown();
    });

    // Not get(): a thread returning from get() may run the dependent stages itself.
    assertThat(completed.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(failure(waiting).code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
    assertThat(completedOn.get()).as("never the deadline timer that every channel shares")
        .doesNotStartWith("ferry-deadlines").startsWith("ferry-client");
    inFlight.cancel(false);
  }

  @Test
  void expiredDeadlineFailsLocallyWithoutSending() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    value(ch.call(ECHO, s("warm-up")));

    FerryException e = failure(ch.call(ECHO, s("late"),
        CallOptions.builder().deadline(System.nanoTime() - 1_000_000).build()));

    assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
    assertThat(e.description()).contains("was not sent");
    assertThat(value(ch.call(ECHO, s("next"))).getValue()).isEqualTo("echo:next");
    assertThat(server.nextRequests(2)).extracting(FakeServer.FakeRequest::string).containsExactly("warm-up", "next");
    assertThat(server.requests).isEmpty();
  }

  @Test
  void cancelSendsCancelAndForgetsTheCall() throws Exception {
    server = FakeServer.start();
    FerryChannel ch = channel(server.client());
    CompletableFuture<StringValue> f = ch.call(ECHO, s("forever"));
    FakeServer.FakeRequest r = server.nextRequest();

    assertThat(f.cancel(true)).isTrue();

    assertThat(f).isCancelled();
    assertThat(server.nextCancel()).isEqualTo(r.id());
    assertThat(ch.currentConnection().pendingCount()).isZero();
    assertThat(f.completeExceptionally(new RuntimeException())).as("completes once").isFalse();
    assertThat(f.complete(s("x"))).isFalse();
    assertThat(f).isCancelled();
  }

  @Test
  void errorStatusCarriesUnicodeMessageAndTrailers() throws Exception {
    server = FakeServer.start();
    String message = "ключ не найден ✓ — 鍵が見つかりません 🔑";
    Metadata trailers = Metadata.builder().add("x-key", "ä/ß").add("retry-after", "5").build();
    server.autoRespond(r -> r.fail(StatusCode.NOT_FOUND, message, trailers));
    FerryChannel ch = channel(server.client());

    FerryException e = failure(ch.call(ECHO, s("k")));

    assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND);
    assertThat(e.description()).isEqualTo(message);
    assertThat(e.trailers()).isEqualTo(trailers);
    assertThat(e.getMessage()).isEqualTo("NOT_FOUND: " + message);
  }

  @Test
  void unknownStatusNumberIsReadAsUnknown() throws Exception {
    server = FakeServer.start();
    server.autoRespond(r -> r.fail(StatusCode.UNKNOWN, "odd", Metadata.EMPTY));
    FerryChannel ch = channel(server.client());
    assertThat(failure(ch.call(ECHO, s("x"))).code()).isEqualTo(StatusCode.UNKNOWN);
  }

  @Test
  void unparsableResponseFailsInternal() throws Exception {
    server = FakeServer.start();
    // Field 1, length 5, but only 1 byte follows.
    server.autoRespond(r -> r.respondRaw(new byte[] {0x0A, 0x05, 'a'}));
    FerryChannel ch = channel(server.client());

    FerryException e = failure(ch.call(ECHO, s("x")));

    assertThat(e.code()).isEqualTo(StatusCode.INTERNAL);
    assertThat(e.description()).contains("could not parse response").contains("test.Echo/Say");
    server.autoEcho();
    assertThat(value(ch.call(ECHO, s("y"))).getValue()).as("the connection stays usable").isEqualTo("echo:y");
  }

  @Test
  void oversizeRequestIsRejectedWithoutBeingSent() throws Exception {
    server = FakeServer.start(Settings.builder().maxFrameSize(Settings.MIN_MAX_FRAME_SIZE).build());
    server.autoRespond(r -> r.respond(BytesValue.of(ByteString.copyFromUtf8("ok"))));
    FerryChannel ch = channel(server.client());
    BytesValue big = BytesValue.of(ByteString.copyFrom(new byte[20_000]));
    long expectedSize = 16 + RequestHeader.newBuilder().setMethod(BLOB.fullName()).build().getSerializedSize()
        + big.getSerializedSize();

    FerryException e = failure(ch.call(BLOB, big));

    assertThat(e.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED);
    assertThat(e.description()).contains(expectedSize + " bytes").contains("16384 bytes").contains("was not sent");
    BytesValue fits = BytesValue.of(ByteString.copyFrom(new byte[16_000]));
    assertThat(value(ch.call(BLOB, fits)).getValue().toStringUtf8()).isEqualTo("ok");
    FakeServer.FakeRequest r = server.nextRequest();
    assertThat(r.id()).as("the rejected call used no id").isEqualTo(1);
    assertThat(r.body()).hasSize(fits.getSerializedSize());
    assertThat(server.frames()).containsExactly("REQUEST 1");
  }

  @Test
  void callsFromManyThreadsGetIncreasingIds() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    FerryChannel ch = channel(server.client());
    int threads = 8;
    int perThread = 200;
    CountDownLatch go = new CountDownLatch(1);
    List<CompletableFuture<Void>> done = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(CompletableFuture.runAsync(() -> {
          try {
            go.await();
            List<CompletableFuture<StringValue>> mine = new ArrayList<>();
            for (int i = 0; i < perThread; i++) {
              mine.add(ch.call(ECHO, s(thread + "/" + i)));
            }
            for (int i = 0; i < perThread; i++) {
              assertThat(mine.get(i).get(10, TimeUnit.SECONDS).getValue()).isEqualTo("echo:" + thread + "/" + i);
            }
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        }, pool));
      }
      go.countDown();
      CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    } finally {
      pool.shutdown();
    }
    List<Integer> ids = server.nextRequests(threads * perThread).stream().map(FakeServer.FakeRequest::id).toList();
    assertThat(ids).isSorted().doesNotHaveDuplicates().hasSize(threads * perThread);
    assertThat(ch.activeCalls()).isZero();
  }
}
