package dev.ferry.codegen.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.StreamWriter;
import dev.ferry.client.BidiStreamingCall;
import dev.ferry.client.ClientStreamingCall;
import dev.ferry.client.FerryChannel;
import dev.ferry.golden.streams.Number;
import dev.ferry.golden.streams.NumbersFerryService;
import dev.ferry.golden.streams.NumbersFerryStub;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The generated streaming handlers and stub methods, blocking and Flow styles, over a real connection. */
class GeneratedStreamingTest {
  private FerryServer server;
  private FerryChannel channel;

  private NumbersFerryStub start(dev.ferry.server.ServiceDefinition service) throws Exception {
    server = FerryServer.builder().host("127.0.0.1").port(0).addService(service).build().start();
    channel = FerryChannel.builder("127.0.0.1", server.port()).build();
    return NumbersFerryStub.create(channel).withTimeout(Duration.ofSeconds(30));
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.close();
    }
    if (server != null) {
      server.shutdownNow();
      assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    }
  }

  private static Number n(long value) {
    return Number.newBuilder().setValue(value).build();
  }

  /** Blocking style: Count, Sum and Double; Square left to its UNIMPLEMENTED default. */
  static final class Blocking implements NumbersFerryService {
    @Override
    public void count(Number request, StreamWriter<Number> responses, CallContext context) {
      for (long i = 0; i < request.getValue(); i++) {
        responses.write(n(i));
      }
    }

    @Override
    public Number sum(StreamReader<Number> requests, CallContext context) {
      long sum = 0;
      while (requests.hasNext()) {
        sum += requests.next().getValue();
      }
      return n(sum);
    }

    @Override
    public void double_(StreamReader<Number> requests, StreamWriter<Number> responses, CallContext context) {
      while (requests.hasNext()) {
        responses.write(n(2 * requests.next().getValue()));
      }
    }
  }

  @Test
  void blockingHandlersAndStubMethodsOfEveryKind() throws Exception {
    NumbersFerryStub stub = start(NumbersFerryService.bind(new Blocking()));
    List<Long> counted = new ArrayList<>();
    try (StreamReader<Number> numbers = stub.count(n(5))) {
      numbers.forEachRemaining(x -> counted.add(x.getValue()));
    }
    assertThat(counted).containsExactly(0L, 1L, 2L, 3L, 4L);

    ClientStreamingCall<Number, Number> sum = stub.sum();
    for (int i = 1; i <= 4; i++) {
      sum.write(n(i));
    }
    assertThat(sum.awaitResponse().getValue()).isEqualTo(10);

    try (BidiStreamingCall<Number, Number> doubled = stub.double_()) {
      doubled.requests().write(n(21));
      assertThat(doubled.responses().next().getValue()).isEqualTo(42);
      doubled.requests().complete();
      assertThat(doubled.responses().hasNext()).isFalse();
    }

    assertThatThrownBy(() -> stub.square(n(3))).isInstanceOfSatisfying(FerryException.class,
        e -> assertThat(e.code()).isEqualTo(StatusCode.UNIMPLEMENTED));
  }

  /** Flow style: Count as a publisher, Sum as a subscriber; Double left to its UNIMPLEMENTED default. */
  static final class Async implements NumbersFerryService.Async {
    @Override
    public CompletionStage<Number> square(Number request, CallContext context) {
      return CompletableFuture.completedFuture(n(request.getValue() * request.getValue()));
    }

    @Override
    public Flow.Publisher<Number> count(Number request, CallContext context) {
      return subscriber -> {
        SubmissionPublisher<Number> out = new SubmissionPublisher<>();
        out.subscribe(subscriber);
        // Submitted on another thread once subscribed: submit blocks while the subscriber's buffer is full.
        CompletableFuture.runAsync(() -> {
          for (long i = 0; i < request.getValue(); i++) {
            out.submit(n(i));
          }
          out.close();
        });
      };
    }

    @Override
    public CompletionStage<Number> sum(Flow.Publisher<Number> requests, CallContext context) {
      CompletableFuture<Number> result = new CompletableFuture<>();
      requests.subscribe(new Flow.Subscriber<>() {
        private long sum;

        @Override
        public void onSubscribe(Flow.Subscription s) {
          s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(Number item) {
          sum += item.getValue();
        }

        @Override
        public void onError(Throwable t) {
          result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
          result.complete(n(sum));
        }
      });
      return result;
    }
  }

  @Test
  void asyncHandlersAndFlowStubMethods() throws Exception {
    NumbersFerryStub stub = start(NumbersFerryService.bindAsync(new Async()));
    assertThat(stub.square(n(7)).getValue()).isEqualTo(49);

    CompletableFuture<List<Long>> counted = new CompletableFuture<>();
    stub.countAsync(n(100)).subscribe(new Flow.Subscriber<>() {
      private final List<Long> values = new ArrayList<>();

      @Override
      public void onSubscribe(Flow.Subscription s) {
        s.request(Long.MAX_VALUE);
      }

      @Override
      public void onNext(Number item) {
        values.add(item.getValue());
      }

      @Override
      public void onError(Throwable t) {
        counted.completeExceptionally(t);
      }

      @Override
      public void onComplete() {
        counted.complete(values);
      }
    });
    assertThat(counted.get(30, TimeUnit.SECONDS)).hasSize(100).startsWith(0L, 1L).endsWith(99L);

    SubmissionPublisher<Number> numbers = new SubmissionPublisher<>();
    CompletableFuture<Number> sum = stub.sumAsync(numbers);
    for (int i = 1; i <= 10; i++) {
      numbers.submit(n(i));
    }
    numbers.close();
    assertThat(sum.get(30, TimeUnit.SECONDS).getValue()).isEqualTo(55);

    try (BidiStreamingCall<Number, Number> doubled = stub.double_()) {
      assertThatThrownBy(() -> doubled.responses().hasNext()).isInstanceOfSatisfying(FerryException.class,
          e -> assertThat(e.code()).isEqualTo(StatusCode.UNIMPLEMENTED));
    }
  }
}
