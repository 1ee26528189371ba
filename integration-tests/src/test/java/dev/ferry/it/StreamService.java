package dev.ferry.it;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.server.CallContext;
import dev.ferry.server.ServiceDefinition;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/** A service with one streaming method per behaviour the streaming tests need, on well-known protobuf types. */
final class StreamService {
  static final String NAME = "ferry.test.StreamService";

  /** Server stream: the numbers 0 to n-1. */
  static final MethodDescriptor<Int32Value, Int32Value> COUNT = MethodDescriptor.of(NAME + "/Count",
      MethodDescriptor.Type.SERVER_STREAMING, Int32Value.parser(), Int32Value.parser());
  /** Server stream, as a Flow publisher: the numbers 0 to n-1. */
  static final MethodDescriptor<Int32Value, Int32Value> COUNT_ASYNC = MethodDescriptor.of(NAME + "/CountAsync",
      MethodDescriptor.Type.SERVER_STREAMING, Int32Value.parser(), Int32Value.parser());
  /** Server stream: n messages, then NOT_FOUND. */
  static final MethodDescriptor<Int32Value, Int32Value> FAIL_AFTER = MethodDescriptor.of(NAME + "/FailAfter",
      MethodDescriptor.Type.SERVER_STREAMING, Int32Value.parser(), Int32Value.parser());
  /** Server stream: messages of the requested size, without end; counts what it wrote in {@link #produced}. */
  static final MethodDescriptor<Int32Value, BytesValue> FLOOD = MethodDescriptor.of(NAME + "/Flood",
      MethodDescriptor.Type.SERVER_STREAMING, Int32Value.parser(), BytesValue.parser());
  /** Server stream that sends nothing and waits to be cancelled (its context goes to {@link #contexts}). */
  static final MethodDescriptor<Int32Value, Int32Value> QUIET = MethodDescriptor.of(NAME + "/Quiet",
      MethodDescriptor.Type.SERVER_STREAMING, Int32Value.parser(), Int32Value.parser());
  /** Client stream: the sum of the numbers. */
  static final MethodDescriptor<Int32Value, Int64Value> SUM = MethodDescriptor.of(NAME + "/Sum",
      MethodDescriptor.Type.CLIENT_STREAMING, Int32Value.parser(), Int64Value.parser());
  /** Client stream, as a Flow subscriber: the sum of the numbers. */
  static final MethodDescriptor<Int32Value, Int64Value> SUM_ASYNC = MethodDescriptor.of(NAME + "/SumAsync",
      MethodDescriptor.Type.CLIENT_STREAMING, Int32Value.parser(), Int64Value.parser());
  /** Client stream that reads nothing until {@link #release} is counted down, then sums. */
  static final MethodDescriptor<BytesValue, Int64Value> SLOW_SINK = MethodDescriptor.of(NAME + "/SlowSink",
      MethodDescriptor.Type.CLIENT_STREAMING, BytesValue.parser(), Int64Value.parser());
  /** Client stream, Flow style: never reads its requests and never answers (contexts recorded). */
  static final MethodDescriptor<BytesValue, Int64Value> HOARD = MethodDescriptor.of(NAME + "/Hoard",
      MethodDescriptor.Type.CLIENT_STREAMING, BytesValue.parser(), Int64Value.parser());
  /** Bidi: echoes each message. */
  static final MethodDescriptor<BytesValue, BytesValue> ECHO = MethodDescriptor.of(NAME + "/Echo",
      MethodDescriptor.Type.BIDI_STREAMING, BytesValue.parser(), BytesValue.parser());
  /** Bidi, as Flow publishers: echoes each message. */
  static final MethodDescriptor<BytesValue, BytesValue> ECHO_ASYNC = MethodDescriptor.of(NAME + "/EchoAsync",
      MethodDescriptor.Type.BIDI_STREAMING, BytesValue.parser(), BytesValue.parser());

  /** Unary: the square of the number. */
  static final MethodDescriptor<Int32Value, Int32Value> SQUARE = MethodDescriptor.of(NAME + "/Square",
      Int32Value.parser(), Int32Value.parser());

  final AtomicLong produced = new AtomicLong();
  final BlockingQueue<CallContext> contexts = new LinkedBlockingQueue<>();
  final BlockingQueue<Throwable> handlerEnds = new LinkedBlockingQueue<>();
  final CountDownLatch release = new CountDownLatch(1);

  /** Sends {@code n} messages through an {@link #ECHO} call one at a time, checks each echo, and half-closes. */
  static void echoBack(dev.ferry.client.BidiStreamingCall<BytesValue, BytesValue> echo, int n) {
    for (int i = 0; i < n; i++) {
      BytesValue m = BytesValue.of(ByteString.copyFromUtf8("m" + i));
      echo.requests().write(m);
      org.assertj.core.api.Assertions.assertThat(echo.responses().next()).isEqualTo(m);
    }
    echo.requests().complete();
    org.assertj.core.api.Assertions.assertThat(echo.responses().hasNext()).isFalse();
  }

  ServiceDefinition definition() {
    return ServiceDefinition.builder(NAME)
        .unary(SQUARE, (request, ctx) -> Int32Value.of(request.getValue() * request.getValue()))
        .serverStreaming(COUNT, (request, responses, ctx) -> {
          for (int i = 0; i < request.getValue(); i++) {
            responses.write(Int32Value.of(i));
          }
        })
        .serverStreamingAsync(COUNT_ASYNC, (request, ctx) -> new RangePublisher(request.getValue()))
        .serverStreaming(FAIL_AFTER, (request, responses, ctx) -> {
          for (int i = 0; i < request.getValue(); i++) {
            responses.write(Int32Value.of(i));
          }
          throw new FerryException(StatusCode.NOT_FOUND, "no more after " + request.getValue());
        })
        .serverStreaming(FLOOD, (request, responses, ctx) -> {
          ByteString payload = ByteString.copyFrom(new byte[request.getValue()]);
          contexts.add(ctx);
          try {
            while (true) {
              responses.write(BytesValue.of(payload));
              produced.incrementAndGet();
            }
          } catch (FerryException e) {
            handlerEnds.add(e);
            throw e;
          }
        })
        .serverStreaming(QUIET, (request, responses, ctx) -> {
          CountDownLatch cancelled = new CountDownLatch(1);
          ctx.onCancel(cancelled::countDown);
          contexts.add(ctx);
          cancelled.await();
          handlerEnds.add(new FerryException(StatusCode.CANCELLED, "quiet stream cancelled"));
        })
        .clientStreaming(SUM, (requests, ctx) -> {
          long sum = 0;
          while (requests.hasNext()) {
            sum += requests.next().getValue();
          }
          return Int64Value.of(sum);
        })
        .clientStreamingAsync(SUM_ASYNC, (requests, ctx) -> {
          java.util.concurrent.CompletableFuture<Int64Value> result = new java.util.concurrent.CompletableFuture<>();
          requests.subscribe(new java.util.concurrent.Flow.Subscriber<>() {
            private long sum;

            @Override
            public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
              s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(Int32Value item) {
              sum += item.getValue();
            }

            @Override
            public void onError(Throwable t) {
              result.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
              result.complete(Int64Value.of(sum));
            }
          });
          return result;
        })
        .clientStreamingAsync(HOARD, (requests, ctx) -> {
          contexts.add(ctx);
          return new java.util.concurrent.CompletableFuture<>();
        })
        .clientStreaming(SLOW_SINK, (requests, ctx) -> {
          contexts.add(ctx);
          release.await();
          long bytes = 0;
          while (requests.hasNext()) {
            bytes += requests.next().getValue().size();
          }
          return Int64Value.of(bytes);
        })
        .bidiStreaming(ECHO, (requests, responses, ctx) -> {
          while (requests.hasNext()) {
            responses.write(requests.next());
          }
        })
        .bidiStreamingAsync(ECHO_ASYNC, (requests, ctx) -> subscriber -> requests.subscribe(subscriber))
        .build();
  }
}
