package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.client.BidiStreamingCall;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientStreamingCall;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.PoolOptions;
import dev.ferry.client.ClientInterceptor;
import dev.ferry.server.CallContext;
import dev.ferry.server.ServerInterceptor;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerListener;
import dev.ferry.MethodDescriptor;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The three streaming kinds end to end over loopback TCP, blocking and Flow styles. */
class StreamingRpcTest {
  private final BlockingQueue<StatusCode> completions = new LinkedBlockingQueue<>();
  private StreamService service;
  private FerryServer server;
  private FerryChannel channel;

  @BeforeEach
  void start() throws Exception {
    service = new StreamService();
    server = FerryServer.builder().host("127.0.0.1").port(0).addService(service.definition())
        .addListener(new ServerListener() {
          @Override
          public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
              long requestBytes, long responseBytes) {
            completions.add(status);
          }
        })
        .build().start();
    channel = FerryChannel.builder("127.0.0.1", server.port()).build();
    // Connected before the test starts: a deadline test measures the call, not the connect.
    try (StreamReader<Int32Value> warmUp = channel.serverStream(StreamService.COUNT, Int32Value.of(1),
        timeout(Duration.ofSeconds(60)))) {
      assertThat(readAll(warmUp)).hasSize(1);
    }
    assertThat(completions.poll(10, TimeUnit.SECONDS)).isEqualTo(StatusCode.OK);
  }

  @AfterEach
  void stop() throws Exception {
    service.release.countDown();
    channel.close();
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }

  private static CallOptions timeout(Duration d) {
    return CallOptions.builder().timeout(d).build();
  }

  private static <T> List<T> readAll(StreamReader<T> reader) {
    List<T> all = new ArrayList<>();
    reader.forEachRemaining(all::add);
    return all;
  }

  @Test
  void aServerStreamDeliversEveryMessageInOrderThenEnds() {
    try (StreamReader<Int32Value> numbers = channel.serverStream(StreamService.COUNT, Int32Value.of(1000),
        timeout(Duration.ofSeconds(30)))) {
      List<Int32Value> all = readAll(numbers);
      assertThat(all).hasSize(1000);
      for (int i = 0; i < all.size(); i++) {
        assertThat(all.get(i).getValue()).isEqualTo(i);
      }
      assertThat(numbers.hasNext()).isFalse();
    }
  }

  @Test
  void anErrorAfterNMessagesDeliversThoseNThenTheStatus() {
    StreamReader<Int32Value> numbers = channel.serverStream(StreamService.FAIL_AFTER, Int32Value.of(5),
        timeout(Duration.ofSeconds(30)));
    List<Integer> got = new ArrayList<>();
    assertThatThrownBy(() -> {
      while (numbers.hasNext()) {
        got.add(numbers.next().getValue());
      }
    }).isInstanceOfSatisfying(FerryException.class, e -> {
      assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND);
      assertThat(e.description()).isEqualTo("no more after 5");
    });
    assertThat(got).containsExactly(0, 1, 2, 3, 4);
  }

  @Test
  void aClientStreamIsSummed() {
    ClientStreamingCall<Int32Value, Int64Value> sum = channel.clientStream(StreamService.SUM,
        timeout(Duration.ofSeconds(30)));
    for (int i = 1; i <= 100; i++) {
      sum.write(Int32Value.of(i));
    }
    assertThat(sum.awaitResponse().getValue()).isEqualTo(5050);
  }

  @Test
  void anEmptyClientStreamIsAnswered() {
    ClientStreamingCall<Int32Value, Int64Value> sum = channel.clientStream(StreamService.SUM,
        timeout(Duration.ofSeconds(30)));
    assertThat(sum.awaitResponse().getValue()).isZero();
  }

  @Test
  void aBidiStreamEchoes() {
    try (BidiStreamingCall<BytesValue, BytesValue> echo = channel.bidiStream(StreamService.ECHO,
        timeout(Duration.ofSeconds(30)))) {
      StreamService.echoBack(echo, 50);
    }
  }

  @Test
  void flowPublishersWorkBothWays() throws Exception {
    Flow.Publisher<Int32Value> numbers = channel.serverStreamPublisher(StreamService.COUNT_ASYNC, Int32Value.of(300),
        timeout(Duration.ofSeconds(30)));
    CompletableFuture<List<Integer>> got = collect(numbers, 7);
    assertThat(got.get(30, TimeUnit.SECONDS)).hasSize(300).startsWith(0, 1, 2).endsWith(299);

    SubmissionPublisher<Int32Value> requests = new SubmissionPublisher<>();
    CompletableFuture<Int64Value> sum = channel.clientStream(StreamService.SUM_ASYNC, requests,
        timeout(Duration.ofSeconds(30)));
    for (int i = 1; i <= 10; i++) {
      requests.submit(Int32Value.of(i));
    }
    requests.close();
    assertThat(sum.get(30, TimeUnit.SECONDS).getValue()).isEqualTo(55);

    SubmissionPublisher<BytesValue> words = new SubmissionPublisher<>();
    CompletableFuture<List<Integer>> echoed = collect(
        subscriber -> channel.bidiStream(StreamService.ECHO_ASYNC, words, timeout(Duration.ofSeconds(30)))
            .subscribe(new Flow.Subscriber<BytesValue>() {
              @Override
              public void onSubscribe(Flow.Subscription s) {
                subscriber.onSubscribe(s);
              }

              @Override
              public void onNext(BytesValue item) {
                subscriber.onNext(Int32Value.of(item.getValue().size()));
              }

              @Override
              public void onError(Throwable t) {
                subscriber.onError(t);
              }

              @Override
              public void onComplete() {
                subscriber.onComplete();
              }
            }), 3);
    await().atMost(Duration.ofSeconds(10)).until(() -> words.getNumberOfSubscribers() == 1);
    for (int i = 0; i < 20; i++) {
      words.submit(BytesValue.of(ByteString.copyFrom(new byte[i])));
    }
    words.close();
    assertThat(echoed.get(30, TimeUnit.SECONDS)).hasSize(20).startsWith(0, 1, 2).endsWith(19);
  }

  /** Subscribes to {@code publisher}, requesting {@code batch} at a time, and collects the values. */
  private static CompletableFuture<List<Integer>> collect(Flow.Publisher<Int32Value> publisher, int batch) {
    CompletableFuture<List<Integer>> done = new CompletableFuture<>();
    publisher.subscribe(new Flow.Subscriber<>() {
      private final List<Integer> values = new ArrayList<>();
      private Flow.Subscription subscription;
      private int left;

      @Override
      public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        left = batch;
        s.request(batch);
      }

      @Override
      public void onNext(Int32Value item) {
        values.add(item.getValue());
        if (--left == 0) {
          left = batch;
          subscription.request(batch);
        }
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onComplete() {
        done.complete(values);
      }
    });
    return done;
  }

  @Test
  void closingTheReaderCancelsTheCallAndTheHandlerStops() throws Exception {
    StreamReader<BytesValue> flood = channel.serverStream(StreamService.FLOOD, Int32Value.of(100),
        timeout(Duration.ofSeconds(60)));
    assertThat(flood.next().getValue().size()).isEqualTo(100);
    CallContext ctx = service.contexts.poll(10, TimeUnit.SECONDS);
    flood.close();
    Throwable end = service.handlerEnds.poll(10, TimeUnit.SECONDS);
    assertThat(end).isInstanceOf(FerryException.class);
    assertThat(ctx.isCancelled()).isTrue();
    // The handler's write threw, which ended its loop: production stopped.
    assertThatThrownBy(flood::hasNext).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.CANCELLED));
  }

  @Test
  void theDeadlineCoversTheWholeStreamOnBothSides() throws Exception {
    StreamReader<Int32Value> quiet = channel.serverStream(StreamService.QUIET, Int32Value.of(0),
        timeout(Duration.ofMillis(300)));
    assertThatThrownBy(quiet::hasNext).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED));
    assertServerEnded();
  }

  @Test
  void theIdleTimeoutEndsAStreamWithoutMessagesOnBothSides() throws Exception {
    StreamReader<Int32Value> quiet = channel.serverStream(StreamService.QUIET, Int32Value.of(0),
        CallOptions.builder().idleTimeout(Duration.ofMillis(300)).build());
    assertThatThrownBy(quiet::hasNext).isInstanceOfSatisfying(FerryException.class, e -> {
      assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
      assertThat(e.description()).contains("idle");
    });
    assertServerEnded();
  }

  /**
   * The server ended the quiet call too: by its own timer (DEADLINE_EXCEEDED) or the client's CANCEL,
   * whichever came first; a handler that had started was cancelled.
   */
  private void assertServerEnded() throws Exception {
    StatusCode ended = completions.poll(10, TimeUnit.SECONDS);
    assertThat(ended).isIn(StatusCode.DEADLINE_EXCEEDED, StatusCode.CANCELLED);
    if (!service.contexts.isEmpty()) {
      assertThat(service.handlerEnds.poll(10, TimeUnit.SECONDS)).as("the handler was cancelled").isNotNull();
    }
  }

  @Test
  void aSlowReaderHoldsTheServerToTheWindowPlusOneMessage() {
    int size = 64 * 1024;
    int cost = 16 + BytesValue.of(ByteString.copyFrom(new byte[size])).getSerializedSize();
    int window = 1024 * 1024; // the channel's default stream window
    try (StreamReader<BytesValue> flood = channel.serverStream(StreamService.FLOOD, Int32Value.of(size),
        timeout(Duration.ofSeconds(60)))) {
      // Ten windows' worth, read one message at a time: the handler can never be more than the window
      // (and the one message that may overshoot it) ahead of what was read.
      for (int read = 0; read < 160; read++) {
        assertThat(service.produced.get()).as("produced with %d read", read)
            .isLessThanOrEqualTo(read + (window + cost - 1) / cost + 1);
        assertThat(flood.next().getValue().size()).isEqualTo(size);
      }
    }
  }

  @Test
  void stalledStreamsDoNotStallUnaryCallsOnTheirConnection() throws Exception {
    try (FerryChannel one = FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).build()).build()) {
      BytesValue chunk = BytesValue.of(ByteString.copyFrom(new byte[64 * 1024]));
      // A client stream whose handler reads nothing: its window fills, and the client can send no more.
      ClientStreamingCall<BytesValue, Int64Value> sink = one.clientStream(StreamService.SLOW_SINK,
          timeout(Duration.ofSeconds(60)));
      // The server's window is 1 MiB and each chunk costs 16 + 65,540 bytes: the 16th takes the credit
      // below 0. (trySend would also say no while the connection's write buffer is full.)
      for (int i = 0; i < 16; i++) {
        sink.write(chunk); // waits while the call is not on the wire, or its connection is busy
      }
      // A server stream nobody reads: the server fills the client's window, then its handler waits.
      StreamReader<BytesValue> flood = one.serverStream(StreamService.FLOOD, Int32Value.of(64 * 1024),
          timeout(Duration.ofSeconds(60)));
      await().atMost(Duration.ofSeconds(30)).until(() -> service.produced.get() >= 16);
      for (int i = 0; i < 50; i++) {
        assertThat(one.call(StreamService.SQUARE, Int32Value.of(i), timeout(Duration.ofSeconds(10)))
            .get(10, TimeUnit.SECONDS).getValue()).isEqualTo(i * i);
      }
      assertThat(sink.isWritable()).as("the upload is still stalled").isFalse();
      assertThat(service.produced.get()).as("the download is still stalled").isLessThanOrEqualTo(17);
      flood.close();
      sink.cancel();
    }
  }
  @Test
  void aThousandStalledStreamsOnOneConnectionLeaveUnaryCallsWorking() throws Exception {
    try (FerryChannel one = FerryChannel.builder("127.0.0.1", server.port()).streamWindow(1024)
        .pool(PoolOptions.builder().size(1).build()).build()) {
      List<StreamReader<Int32Value>> stalled = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        // Flow-style handlers hold no thread while stalled; each stream's publisher is pulled only as
        // far as its 1 KiB window allows, and nobody reads past the first message.
        stalled.add(one.serverStream(StreamService.COUNT_ASYNC, Int32Value.of(1_000_000),
            timeout(Duration.ofSeconds(60))));
      }
      for (StreamReader<Int32Value> r : stalled) {
        assertThat(r.next().getValue()).isZero();
      }
      for (int i = 0; i < 50; i++) {
        assertThat(one.call(StreamService.SQUARE, Int32Value.of(i), timeout(Duration.ofSeconds(10)))
            .get(10, TimeUnit.SECONDS).getValue()).isEqualTo(i * i);
      }
      for (StreamReader<Int32Value> r : stalled) {
        r.close();
      }
    }
  }

  @Test
  void interceptorsOnBothSidesSeeStreamingCalls() throws Exception {
    List<String> serverSaw = new java.util.concurrent.CopyOnWriteArrayList<>();
    FerryServer intercepted = FerryServer.builder().host("127.0.0.1").port(0).addService(service.definition())
        .intercept(new ServerInterceptor() {
          @Override
          public <ReqT, RespT> java.util.concurrent.CompletionStage<RespT> interceptCall(ReqT request,
              CallContext context, Next<ReqT, RespT> next) throws Exception {
            serverSaw.add(context.method().fullName() + " " + context.metadata().get("x-tag"));
            return next.proceed(request);
          }
        })
        .build().start();
    List<String> clientSaw = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (FerryChannel tagged = FerryChannel.builder("127.0.0.1", intercepted.port())
        .intercept(new ClientInterceptor() {
          @Override
          public <ReqT extends com.google.protobuf.MessageLite, RespT extends com.google.protobuf.MessageLite>
              CompletableFuture<dev.ferry.client.Response<RespT>> interceptCall(MethodDescriptor<ReqT, RespT> method,
              ReqT request, CallOptions options, Next<ReqT, RespT> next) {
            clientSaw.add(method.fullName());
            return next.proceed(request, options.toBuilder()
                .metadata(dev.ferry.Metadata.of("x-tag", "streamed")).build())
                .whenComplete((r, e) -> clientSaw.add("done " + (e == null ? "OK" : e.getClass().getSimpleName())));
          }
        }).build()) {
      try (StreamReader<Int32Value> numbers = tagged.serverStream(StreamService.COUNT, Int32Value.of(3),
          timeout(Duration.ofSeconds(30)))) {
        assertThat(readAll(numbers)).hasSize(3);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> clientSaw.size() == 2);
      assertThat(clientSaw).containsExactly(StreamService.COUNT.fullName(), "done OK");
      assertThat(serverSaw).containsExactly(StreamService.COUNT.fullName() + " streamed");
    } finally {
      intercepted.shutdownNow();
      assertThat(intercepted.awaitTermination(Duration.ofSeconds(10))).isTrue();
    }
  }
  @Test
  void aGracefulShutdownLetsAStreamInFlightRunToItsEnd() throws Exception {
    // 100,000 messages of about 20 bytes: two windows, so the server must keep getting credit
    // from the reader after its shutdown began.
    try (StreamReader<Int32Value> numbers = channel.serverStream(StreamService.COUNT, Int32Value.of(100_000),
        timeout(Duration.ofSeconds(60)))) {
      assertThat(numbers.next().getValue()).isZero();
      server.shutdown(Duration.ofSeconds(60));
      int expected = 1;
      while (numbers.hasNext()) {
        assertThat(numbers.next().getValue()).isEqualTo(expected++);
      }
      assertThat(expected).isEqualTo(100_000);
    }
    assertThat(server.awaitTermination(Duration.ofSeconds(30))).isTrue();
  }

  @Test
  void aGracefulShutdownCancelsAStreamStillOpenWhenItsGraceEnds() throws Exception {
    StreamReader<Int32Value> quiet = channel.serverStream(StreamService.QUIET, Int32Value.of(0),
        timeout(Duration.ofSeconds(60)));
    CallContext ctx = service.contexts.poll(10, TimeUnit.SECONDS);
    assertThat(ctx).as("the handler runs").isNotNull();
    server.shutdown(Duration.ofMillis(300));
    assertThat(server.awaitTermination(Duration.ofSeconds(30))).isTrue();
    assertThat(service.handlerEnds.poll(10, TimeUnit.SECONDS)).as("the handler was cancelled").isNotNull();
    assertThat(ctx.isCancelled()).isTrue();
    assertThatThrownBy(quiet::hasNext).isInstanceOf(FerryException.class);
    quiet.close();
  }
}
