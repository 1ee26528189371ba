package dev.ferry.it;

import com.google.protobuf.BytesValue;
import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.server.CallContext;
import dev.ferry.server.ServiceDefinition;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A service with one method per behaviour the integration tests need, on well-known protobuf types. */
final class TestService {
  static final String NAME = "ferry.test.TestService";

  static final MethodDescriptor<BytesValue, BytesValue> ECHO =
      MethodDescriptor.of(NAME + "/Echo", BytesValue.parser(), BytesValue.parser());
  /** Replies with a payload of the requested size. */
  static final MethodDescriptor<Int32Value, BytesValue> SIZED =
      MethodDescriptor.of(NAME + "/Sized", Int32Value.parser(), BytesValue.parser());
  /** Sleeps for the requested milliseconds (or until cancelled), then echoes. */
  static final MethodDescriptor<Int64Value, Int64Value> SLEEP =
      MethodDescriptor.of(NAME + "/Sleep", Int64Value.parser(), Int64Value.parser());
  /** Never completes; records its context so tests can watch it get cancelled. */
  static final MethodDescriptor<StringValue, StringValue> HANG =
      MethodDescriptor.of(NAME + "/Hang", StringValue.parser(), StringValue.parser());
  /** Fails with NOT_FOUND, the request as message and a trailer. */
  static final MethodDescriptor<StringValue, StringValue> FAIL =
      MethodDescriptor.of(NAME + "/Fail", StringValue.parser(), StringValue.parser());
  /** Throws an unexpected exception whose message must not reach the client. */
  static final MethodDescriptor<StringValue, StringValue> CRASH =
      MethodDescriptor.of(NAME + "/Crash", StringValue.parser(), StringValue.parser());
  /** Echoes the request metadata "x-in" values and adds trailer "x-out". */
  static final MethodDescriptor<StringValue, StringValue> METADATA =
      MethodDescriptor.of(NAME + "/Metadata", StringValue.parser(), StringValue.parser());
  /** Async: holds calls until {@link #shuffleBatch} have arrived, then answers them in random order. */
  static final MethodDescriptor<Int32Value, Int32Value> SHUFFLE =
      MethodDescriptor.of(NAME + "/Shuffle", Int32Value.parser(), Int32Value.parser());
  /**
   * Replies with a payload of the requested size that every call shares (like a store returning values
   * it holds): large responses that cost the server direct memory, not heap.
   */
  static final MethodDescriptor<Int32Value, BytesValue> SHARED =
      MethodDescriptor.of(NAME + "/Shared", Int32Value.parser(), BytesValue.parser());
  /** Replies with the size of the request's bytes: large requests, small responses. */
  static final MethodDescriptor<BytesValue, Int32Value> LENGTH =
      MethodDescriptor.of(NAME + "/Length", BytesValue.parser(), Int32Value.parser());
  /** A method the server does not implement. */
  static final MethodDescriptor<StringValue, StringValue> MISSING =
      MethodDescriptor.of(NAME + "/Missing", StringValue.parser(), StringValue.parser());

  final AtomicInteger sharedCalls = new AtomicInteger();
  private final java.util.Map<Integer, com.google.protobuf.ByteString> sharedValues =
      new java.util.concurrent.ConcurrentHashMap<>();
  final BlockingQueue<CallContext> hanging = new LinkedBlockingQueue<>();
  final BlockingQueue<String> hangingRequests = new LinkedBlockingQueue<>();
  final CountDownLatch sleepCancelled = new CountDownLatch(1);
  final AtomicInteger sleeping = new AtomicInteger();
  volatile int shuffleBatch = Integer.MAX_VALUE;
  private final List<Object[]> shuffleHeld = new ArrayList<>();

  ServiceDefinition definition() {
    return ServiceDefinition.builder(NAME)
        .unary(ECHO, (req, ctx) -> req)
        .unary(SIZED, (req, ctx) -> BytesValue.of(com.google.protobuf.ByteString.copyFrom(new byte[req.getValue()])))
        .unary(SLEEP, (req, ctx) -> {
          CountDownLatch cancelled = new CountDownLatch(1);
          ctx.onCancel(cancelled::countDown);
          sleeping.incrementAndGet();
          if (cancelled.await(req.getValue(), TimeUnit.MILLISECONDS)) {
            sleepCancelled.countDown();
            throw new FerryException(StatusCode.CANCELLED, "cancelled while sleeping");
          }
          return req;
        })
        .unary(SHARED, (req, ctx) -> {
          sharedCalls.incrementAndGet();
          return BytesValue.of(sharedValues.computeIfAbsent(req.getValue(),
              n -> com.google.protobuf.ByteString.copyFrom(new byte[n])));
        })
        .unary(LENGTH, (req, ctx) -> Int32Value.of(req.getValue().size()))
        .unaryAsync(HANG, (req, ctx) -> {
          hangingRequests.add(req.getValue());
          hanging.add(ctx);
          return new CompletableFuture<>();
        })
        .unary(FAIL, (req, ctx) -> {
          throw new FerryException(StatusCode.NOT_FOUND, req.getValue(), Metadata.of("x-why", "missing"), null);
        })
        .unary(CRASH, (req, ctx) -> {
          throw new IllegalStateException("secret internal detail");
        })
        .unary(METADATA, (req, ctx) -> {
          ctx.addTrailer("x-out", "trailer-" + req.getValue());
          return StringValue.of(String.join(",", ctx.metadata().getAll("x-in")));
        })
        .unaryAsync(SHUFFLE, (req, ctx) -> {
          CompletableFuture<Int32Value> f = new CompletableFuture<>();
          List<Object[]> release = null;
          synchronized (shuffleHeld) {
            shuffleHeld.add(new Object[] {req, f});
            if (shuffleHeld.size() >= shuffleBatch) {
              release = new ArrayList<>(shuffleHeld);
              shuffleHeld.clear();
            }
          }
          if (release != null) {
            Collections.shuffle(release, new Random(42));
            for (Object[] held : release) {
              @SuppressWarnings("unchecked")
              CompletableFuture<Int32Value> pending = (CompletableFuture<Int32Value>) held[1];
              pending.complete(Int32Value.of(((Int32Value) held[0]).getValue() * 2));
            }
          }
          return f;
        })
        .build();
  }
}
