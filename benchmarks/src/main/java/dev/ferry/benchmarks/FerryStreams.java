package dev.ferry.benchmarks;

import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StreamReader;
import dev.ferry.StreamWriter;
import dev.ferry.benchmarks.proto.Payload;
import dev.ferry.client.BidiStreamingCall;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.FerryChannelBuilder;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Ferry's streams for S8: a FerryServer and a FerryChannel with one connection, in one of two API
 * styles ({@link Style}). Besides the streams it answers the unary echo of the other scenarios, opens
 * stalled streams beside it, and measures how long a cancel takes to reach a handler.
 *
 * <p>Threads: {@link #open} and the S8 helpers run on the load thread; the Flow signals on the
 * connections' event loops; the blocking style's loops on threads of their own.
 */
final class FerryStreams implements StreamSystem, BenchSystem {
  static final MethodDescriptor<Payload, Payload> FLOOD = MethodDescriptor.of("ferry.bench.Streams/Flood",
      MethodDescriptor.Type.SERVER_STREAMING, Payload.parser(), Payload.parser());
  static final MethodDescriptor<Payload, Payload> ECHO_STREAM = MethodDescriptor.of("ferry.bench.Streams/Echo",
      MethodDescriptor.Type.BIDI_STREAMING, Payload.parser(), Payload.parser());
  /** A server stream whose handler reports when it hears of its cancellation ({@link #cancelSample}). */
  static final MethodDescriptor<Payload, Payload> PROBE = MethodDescriptor.of("ferry.bench.Streams/Probe",
      MethodDescriptor.Type.SERVER_STREAMING, Payload.parser(), Payload.parser());

  /** Which of Ferry's streaming APIs both sides use. */
  enum Style {
    /**
     * {@code java.util.concurrent.Flow}: the server's handler returns a publisher that emits when asked
     * (the server stream) or returns the request publisher itself (the echo: each request is written back
     * as it is read, and read only while the response has credit); the client subscribes with unbounded
     * demand and counts on the event loop. The server runs handlers directly on the event loop (they
     * only return a publisher).
     */
    FLOW,
    /**
     * {@code StreamWriter.write} loops on handler threads (an executor of unbounded threads, as README
     * advises for long streams: the default pool's 8 threads would hold 8 streams at most) and
     * {@code StreamReader} loops on the client, one thread per stream and direction.
     */
    BLOCKING
  }

  private final Style style;
  private final FerryServer server;
  private final FerryChannel channel;
  private final ExecutorService handlers; // null with the Flow style (direct executor)
  /** Messages the server's publishers emitted (FLOOD, Flow style): how far the stalled streams got. */
  private final LongAdder emitted;
  private final Probe probe;

  private FerryStreams(Style style, FerryServer server, FerryChannel channel, ExecutorService handlers,
      LongAdder emitted, Probe probe) {
    this.style = style;
    this.server = server;
    this.channel = channel;
    this.handlers = handlers;
    this.emitted = emitted;
    this.probe = probe;
  }

  /** @param streamWindow both sides' stream window in bytes; 0 = Ferry's default (1 MiB) */
  static FerryStreams start(Style style, int streamWindow) throws Exception {
    LongAdder emitted = new LongAdder();
    Probe probe = new Probe();
    ServiceDefinition echo = ServiceDefinition.builder("ferry.bench.Bench")
        .unary(FerrySystem.ECHO, (req, ctx) -> req).build();
    ServiceDefinition.Builder streams = ServiceDefinition.builder("ferry.bench.Streams");
    if (style == Style.FLOW) {
      streams.serverStreamingAsync(FLOOD, (req, ctx) -> new Repeat(req, emitted))
          .bidiStreamingAsync(ECHO_STREAM, (requests, ctx) -> requests);
    } else {
      streams.serverStreaming(FLOOD, (req, responses, ctx) -> {
        for (;;) {
          responses.write(req); // throws once the client cancelled
        }
      }).bidiStreaming(ECHO_STREAM, (requests, responses, ctx) -> {
        while (requests.hasNext()) {
          responses.write(requests.next());
        }
      });
    }
    streams.serverStreamingAsync(PROBE, (req, ctx) -> {
      ctx.onCancel(probe::listenerRan);
      return new Repeat(req, null, probe::subscriptionCancelled);
    });
    ExecutorService handlers = style == Style.BLOCKING ? Executors.newCachedThreadPool() : null;
    FerryServerBuilder sb = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(echo)
        .addService(streams.build())
        .maxConcurrentCallsPerConnection(100_000)
        .heartbeatInterval(Duration.ZERO);
    if (handlers != null) {
      sb.executor(handlers);
    } else {
      sb.directExecutor();
    }
    if (streamWindow > 0) {
      sb.streamWindow(streamWindow);
    }
    FerryServer server = sb.build().start();
    FerryChannelBuilder cb = FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).eager(true).maxPendingCalls(1_000_000).build())
        .heartbeat(HeartbeatOptions.DISABLED);
    if (streamWindow > 0) {
      cb.streamWindow(streamWindow);
    }
    FerryChannel channel = cb.build();
    for (int i = 0; i < 4; i++) {
      channel.blockingCall(FerrySystem.ECHO, Payload.getDefaultInstance(), CallOptions.DEFAULT);
    }
    return new FerryStreams(style, server, channel, handlers, emitted, probe);
  }

  @Override
  public String name() {
    return style == Style.FLOW ? StreamSystem.Kind.FERRY.label : StreamSystem.Kind.FERRY_BLOCKING.label;
  }

  @Override
  public void call(Payload request, Callback done) {
    channel.call(FerrySystem.ECHO, request, CallOptions.DEFAULT).whenComplete((response, error) -> done.done(error));
  }

  @Override
  public Streams open(Mode mode, int streams, Payload message, Counters counters) throws Exception {
    return style == Style.FLOW ? openFlow(mode, streams, message, counters, true)
        : openBlocking(mode, streams, message, counters);
  }

  private Streams openFlow(Mode mode, int streams, Payload message, Counters counters, boolean read) {
    List<Counting> subscribers = new ArrayList<>();
    Repeat requests = new Repeat(message, null);
    for (int i = 0; i < streams; i++) {
      Counting s = new Counting(counters, read);
      subscribers.add(s);
      Flow.Publisher<Payload> responses = mode == Mode.SERVER_STREAM
          ? channel.serverStreamPublisher(FLOOD, message, CallOptions.DEFAULT)
          : channel.bidiStream(ECHO_STREAM, requests, CallOptions.DEFAULT);
      responses.subscribe(s);
    }
    return () -> {
      for (Counting s : subscribers) {
        s.stop();
      }
    };
  }

  private Streams openBlocking(Mode mode, int streams, Payload message, Counters counters) {
    List<Thread> threads = new ArrayList<>();
    List<AutoCloseable> calls = new ArrayList<>();
    AtomicInteger stopped = new AtomicInteger();
    for (int i = 0; i < streams; i++) {
      StreamReader<Payload> reader;
      if (mode == Mode.SERVER_STREAM) {
        reader = channel.serverStream(FLOOD, message, CallOptions.DEFAULT);
        calls.add(reader);
      } else {
        BidiStreamingCall<Payload, Payload> call = channel.bidiStream(ECHO_STREAM, CallOptions.DEFAULT);
        calls.add(call);
        reader = call.responses();
        StreamWriter<Payload> writer = call.requests();
        threads.add(thread("ferry-bench-writer", () -> {
          try {
            for (;;) {
              writer.write(message);
            }
          } catch (FerryException e) {
            if (stopped.get() == 0) {
              counters.errors.increment();
            }
          }
        }));
      }
      StreamReader<Payload> r = reader;
      threads.add(thread("ferry-bench-reader", () -> {
        try {
          while (r.hasNext()) {
            r.next();
            counters.messages.increment();
          }
        } catch (FerryException e) {
          if (stopped.get() == 0) {
            counters.errors.increment();
          }
        }
      }));
    }
    return () -> {
      stopped.set(1);
      for (AutoCloseable c : calls) {
        c.close();
      }
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(10));
        if (t.isAlive()) {
          throw new IllegalStateException(t.getName() + " still running 10 s after its stream was cancelled");
        }
      }
    };
  }

  private static Thread thread(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  // ---- S8's stalled streams ----

  /**
   * Opens {@code streams} server streams of {@code message} whose client never reads (Flow style: a
   * subscriber that requests nothing), and waits (up to {@code timeout}) until the server has filled
   * every stream's window and stopped: the streams are stalled. Returns their handle.
   *
   * @throws IllegalStateException if they are not all stalled in time
   */
  Streams openStalled(int streams, Payload message, int window, Duration timeout) throws InterruptedException {
    if (style != Style.FLOW) {
      throw new IllegalStateException("stalled streams use the Flow style");
    }
    long before = emitted.sum();
    Streams opened = openFlow(Mode.SERVER_STREAM, streams, message, new Counters(), false);
    // A sender sends while its credit is above 0: ceil(window / cost) messages per stream.
    long cost = 16 + message.getSerializedSize();
    long expected = streams * ((window + cost - 1) / cost);
    long deadline = System.nanoTime() + timeout.toNanos();
    long last = -1;
    while (System.nanoTime() < deadline) {
      long now = emitted.sum() - before;
      if (now >= expected && now == last) {
        // Emitted is not yet delivered: a unary answer comes after every frame queued before it, and
        // nothing more was emitted meanwhile, so the windows are full at the client and nothing flows.
        channel.blockingCall(FerrySystem.ECHO, Payload.getDefaultInstance(), CallOptions.DEFAULT);
        if (emitted.sum() - before == now) {
          return opened;
        }
      }
      last = now;
      Thread.sleep(100); // polling a counter in a benchmark's set-up, not a test's synchronisation
    }
    throw new IllegalStateException(streams + " streams not stalled after " + timeout + ": the server emitted "
        + (emitted.sum() - before) + " messages of the " + expected + " their windows hold");
  }

  // ---- S8's cancel latency ----

  /**
   * One sample of cancel latency: opens a PROBE server stream, reads its first message, closes the
   * reader (which cancels the call) and waits for the handler to hear of it. Returns the nanoseconds
   * from the close to the handler's cancellation listener, and to the cancellation of its publisher's
   * subscription (production stops), in that order.
   */
  long[] cancelSample(Payload message) throws InterruptedException {
    probe.reset();
    StreamReader<Payload> reader = channel.serverStream(PROBE, message,
        CallOptions.builder().timeout(Duration.ofSeconds(30)).build());
    try {
      reader.next();
    } catch (RuntimeException e) {
      reader.close();
      throw e;
    }
    long start = System.nanoTime();
    reader.close();
    if (!probe.done.await(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the handler did not hear of the cancel within 10 s");
    }
    return new long[] {probe.listener.get() - start, probe.stopped.get() - start};
  }

  /** The round trip of one unary call of a 1-byte message on the same connection, in nanoseconds. */
  long unaryRoundTrip(Payload oneByte) {
    long start = System.nanoTime();
    channel.blockingCall(FerrySystem.ECHO, oneByte, CallOptions.DEFAULT);
    return System.nanoTime() - start;
  }

  /** What the PROBE handler saw of one cancel. */
  private static final class Probe {
    final AtomicLong listener = new AtomicLong();
    final AtomicLong stopped = new AtomicLong();
    volatile CountDownLatch done = new CountDownLatch(2);

    void reset() {
      listener.set(0);
      stopped.set(0);
      done = new CountDownLatch(2);
    }

    void listenerRan() {
      if (listener.compareAndSet(0, System.nanoTime())) {
        done.countDown();
      }
    }

    void subscriptionCancelled() {
      if (stopped.compareAndSet(0, System.nanoTime())) {
        done.countDown();
      }
    }
  }

  @Override
  public void close() throws Exception {
    channel.close();
    server.shutdownNow();
    server.awaitTermination(Duration.ofSeconds(10));
    if (handlers != null) {
      handlers.shutdownNow();
    }
  }

  /**
   * A publisher of one message, repeated for as long as it is asked: what a handler that produces
   * cheaply looks like. Emits on the thread that requests (Ferry asks for one message at a time, only
   * while the stream has credit), in a drain loop, so that a request made from inside {@code onNext}
   * does not recurse.
   */
  static final class Repeat implements Flow.Publisher<Payload> {
    private final Payload message;
    private final LongAdder emitted; // may be null
    private final Runnable onCancel; // may be null

    Repeat(Payload message, LongAdder emitted) {
      this(message, emitted, null);
    }

    Repeat(Payload message, LongAdder emitted, Runnable onCancel) {
      this.message = message;
      this.emitted = emitted;
      this.onCancel = onCancel;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super Payload> subscriber) {
      Subscription s = new Subscription(subscriber);
      subscriber.onSubscribe(s);
    }

    private final class Subscription implements Flow.Subscription {
      private final Flow.Subscriber<? super Payload> subscriber;
      private final AtomicLong demand = new AtomicLong();
      private final AtomicInteger wip = new AtomicInteger();
      private volatile boolean cancelled;

      Subscription(Flow.Subscriber<? super Payload> subscriber) {
        this.subscriber = subscriber;
      }

      @Override
      public void request(long n) {
        demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
        if (wip.getAndIncrement() != 0) {
          return;
        }
        do {
          while (!cancelled && demand.get() > 0) {
            demand.decrementAndGet();
            if (emitted != null) {
              emitted.increment();
            }
            subscriber.onNext(message);
          }
        } while (wip.decrementAndGet() != 0);
      }

      @Override
      public void cancel() {
        if (!cancelled) {
          cancelled = true;
          if (onCancel != null) {
            onCancel.run();
          }
        }
      }
    }
  }

  /** Counts what a stream delivers; with {@code read} false it never requests (a stalled reader). */
  private static final class Counting implements Flow.Subscriber<Payload> {
    private final Counters counters;
    private final boolean read;
    private volatile Flow.Subscription subscription;
    private volatile boolean stopped;

    Counting(Counters counters, boolean read) {
      this.counters = counters;
      this.read = read;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (stopped) {
        s.cancel();
      } else if (read) {
        s.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(Payload item) {
      counters.messages.increment();
    }

    @Override
    public void onError(Throwable t) {
      if (!stopped) {
        counters.errors.increment();
      }
    }

    @Override
    public void onComplete() {
      if (!stopped) {
        counters.errors.increment(); // the streams run until they are stopped
      }
    }

    void stop() {
      stopped = true;
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }
  }
}
