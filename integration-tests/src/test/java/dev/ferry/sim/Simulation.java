package dev.ferry.sim;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.BackoffOptions;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.client.SimClients;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServiceDefinition;
import dev.ferry.server.SimServers;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One run of the deterministic simulation: a Ferry client and server (restarted at times), connected
 * through a {@link SimNetwork}, driven by one seeded {@link Random} on one thread, on a fake clock.
 * The schedule starts calls (to methods that answer at once, later, with an error, or never), cancels
 * them, lets time pass, moves bytes in chunks of random size, and injects faults: black holes, resets,
 * corrupted frames, server restarts (graceful and abrupt), refused connections. Then it heals the
 * network, lets every call finish, shuts everything down and checks what the README promises:
 *
 * <ul>
 *   <li>every call completes exactly once, and none hangs once the network is healthy;
 *   <li>no call runs twice on a server, and none reported as not sent or not processed ran at all;
 *   <li>a call with a deadline completes within one step of it;
 *   <li>at the end no call is left in a pending map, waiting queue or in-flight count, and every buffer
 *       was released;
 *   <li>no event-loop task threw (a real event loop would only have logged it).
 * </ul>
 *
 * A run returns its violations (empty when the promises held) and a trace of what happened, which the
 * same seed reproduces exactly.
 */
final class Simulation {
  static final MethodDescriptor<BytesValue, BytesValue> ECHO =
      MethodDescriptor.of("sim.S/Echo", BytesValue.parser(), BytesValue.parser());
  static final MethodDescriptor<BytesValue, BytesValue> SLOW =
      MethodDescriptor.of("sim.S/Slow", BytesValue.parser(), BytesValue.parser());
  static final MethodDescriptor<BytesValue, BytesValue> FAIL =
      MethodDescriptor.of("sim.S/Fail", BytesValue.parser(), BytesValue.parser());
  static final MethodDescriptor<BytesValue, BytesValue> HANG =
      MethodDescriptor.of("sim.S/Hang", BytesValue.parser(), BytesValue.parser());
  private static final String HOST = "kv";
  private static final int PORT = 7070;
  private static final String ADDRESS = HOST + ":" + PORT;
  /** The longest single step of the clock: a deadline may fire this late (and no later). */
  private static final long MAX_STEP_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final long seed;
  private final Random random;
  private final MockTicker ticker = Ticker.newMockTicker();
  private final List<String> trace = new ArrayList<>();
  private final List<String> violations = new ArrayList<>();
  private final SimNetwork network;
  private final EmbeddedChannel home;
  private final SimExecutor handlers;
  private final SimExecutor cancelListeners;
  private final Map<Long, Integer> executions = new HashMap<>();
  private final Map<Long, CallRecord> calls = new LinkedHashMap<>();
  private final List<CompletableFuture<BytesValue>> slowAnswers = new ArrayList<>();
  private final Config config;
  private FerryServer server;
  private FerryChannel channel;
  private long nextCallId = 1;
  private long restartAtNanos = -1;

  Simulation(long seed) {
    this.seed = seed;
    this.random = new Random(seed);
    this.network = new SimNetwork(ticker, random, this::trace);
    this.home = network.newChannel(null, null);
    this.handlers = new SimExecutor("handler");
    this.cancelListeners = new SimExecutor("cancel-listener");
    this.config = new Config(random);
  }

  /** The knobs a seed sets. */
  private static final class Config {
    final int poolSize;
    final int maxCallsPerConnection;
    final boolean directExecutor;
    final Duration heartbeatInterval;
    final Duration heartbeatTimeout;
    final Duration maxConnectionIdle; // null = off
    final Duration maxConnectionAge; // null = off
    final int steps;
    final int faultPercent;

    Config(Random r) {
      poolSize = 1 + r.nextInt(3);
      maxCallsPerConnection = new int[] {1, 2, 4, 1_000}[r.nextInt(4)];
      directExecutor = r.nextBoolean();
      heartbeatInterval = Duration.ofMillis(500 + r.nextInt(2_000));
      heartbeatTimeout = heartbeatInterval.multipliedBy(2 + r.nextInt(3));
      maxConnectionIdle = r.nextInt(4) == 0 ? Duration.ofMillis(300 + r.nextInt(3_000)) : null;
      maxConnectionAge = r.nextInt(4) == 0 ? Duration.ofMillis(500 + r.nextInt(5_000)) : null;
      steps = 100 + r.nextInt(200);
      faultPercent = 2 + r.nextInt(8);
    }

    @Override
    public String toString() {
      return "pool " + poolSize + ", " + maxCallsPerConnection + " calls/connection, "
          + (directExecutor ? "direct" : "executor") + ", heartbeat " + heartbeatInterval.toMillis() + "/"
          + heartbeatTimeout.toMillis() + " ms, idle " + maxConnectionIdle + ", age " + maxConnectionAge + ", "
          + steps + " steps, faults " + faultPercent + "%";
    }
  }

  private boolean shuttingDown; // the channel is being shut down: calls may fail as never sent

  /** Runs the whole schedule and the checks. */
  Result run() {
    trace("seed " + seed + ": " + config);
    try {
      startServer();
      channel = SimClients.builder(HOST, PORT, network.connector(), ticker, random::nextDouble)
          .eventLoopGroup(home.eventLoop())
          .pool(PoolOptions.builder().size(config.poolSize).build())
          .heartbeat(HeartbeatOptions.of(Duration.ofSeconds(1), Duration.ofSeconds(4)))
          .reconnectBackoff(BackoffOptions.of(Duration.ofMillis(50), 2, Duration.ofSeconds(2), 0.2))
          .build();
      for (int step = 0; step < config.steps; step++) {
        step();
      }
      heal();
      drain();
      shutDown();
      checkEnd();
    } catch (Throwable t) {
      violation("the simulation itself failed: " + t);
      trace("exception: " + t);
      for (StackTraceElement e : t.getStackTrace()) {
        trace("  at " + e);
      }
    } finally {
      network.alloc.releaseAll();
    }
    return new Result(seed, violations, trace);
  }

  // ---- the schedule ----

  private void step() {
    int dice = random.nextInt(100);
    if (dice < 35) {
      startCall();
    } else if (dice < 40) {
      cancelACall();
    } else if (dice < 40 + config.faultPercent) {
      fault();
    }
    network.deliver(false);
    runHandlers(random.nextInt(4));
    advance(random.nextInt(10) == 0 ? MAX_STEP_NANOS : random.nextInt((int) TimeUnit.MILLISECONDS.toNanos(20)));
    if (restartAtNanos >= 0 && ticker.nanoTime() >= restartAtNanos) {
      restartAtNanos = -1;
      startServer();
    }
  }

  private void startCall() {
    long id = nextCallId++;
    MethodDescriptor<BytesValue, BytesValue> method = pick(ECHO, ECHO, ECHO, SLOW, FAIL, HANG);
    boolean waitForReady = random.nextInt(3) == 0;
    CallOptions.Builder options = CallOptions.builder().waitForReady(waitForReady);
    long timeoutNanos = 0;
    if (method == HANG || random.nextInt(3) > 0) {
      timeoutNanos = TimeUnit.MILLISECONDS.toNanos(50 + random.nextInt(5_000));
      options.timeout(Duration.ofNanos(timeoutNanos));
    }
    byte[] body = new byte[8 + (random.nextInt(20) == 0 ? random.nextInt(70_000) : random.nextInt(64))];
    ByteBuffer.wrap(body).putLong(id);
    long start = ticker.nanoTime();
    CallRecord record = new CallRecord(id, method, start, timeoutNanos == 0 ? 0 : start + timeoutNanos, waitForReady);
    calls.put(id, record);
    trace("call " + id + " " + method.fullName() + (timeoutNanos > 0 ? " timeout " + timeoutNanos / 1_000_000 + " ms" : ""));
    CompletableFuture<BytesValue> future = channel.call(method, BytesValue.of(ByteString.copyFrom(body)),
        options.build());
    record.future = future;
    future.whenComplete((reply, error) -> record.completed(reply, error));
  }

  private void cancelACall() {
    List<CallRecord> running = new ArrayList<>();
    for (CallRecord c : calls.values()) {
      if (c.completions == 0) {
        running.add(c);
      }
    }
    if (!running.isEmpty()) {
      CallRecord c = running.get(random.nextInt(running.size()));
      trace("cancel " + c.id);
      c.cancelled = true;
      c.future.cancel(false);
    }
  }

  private void fault() {
    List<SimNetwork.Link> links = network.liveLinks();
    int kind = random.nextInt(9);
    SimNetwork.Link link = links.isEmpty() ? null : links.get(random.nextInt(links.size()));
    switch (kind) {
      case 0:
      case 1:
        if (link != null) {
          SimNetwork.Pipe pipe = random.nextBoolean() ? link.up : link.down;
          pipe.blackHole = true;
          trace("black hole " + (pipe == link.up ? link + " up" : link + " down"));
        }
        break;
      case 2:
        if (link != null) {
          link.reset();
        }
        break;
      case 3:
      case 4:
        if (link != null) {
          link.down.corrupt();
        }
        break;
      case 5:
        if (link != null) {
          boolean stall = !link.down.stalled;
          link.down.stalled = stall;
          link.up.stalled = stall;
          trace((stall ? "stall " : "resume ") + link);
        }
        break;
      case 6:
        if (server != null && restartAtNanos < 0) {
          trace("graceful restart");
          FerryServer old = server;
          server = null;
          old.shutdown(Duration.ofMillis(random.nextInt(3_000)));
          restartAtNanos = ticker.nanoTime() + TimeUnit.MILLISECONDS.toNanos(random.nextInt(2_000));
        }
        break;
      case 7:
        if (server != null && restartAtNanos < 0) {
          trace("crash and restart");
          FerryServer old = server;
          server = null;
          old.shutdownNow();
          for (SimNetwork.Link l : network.liveLinks()) {
            l.reset();
          }
          restartAtNanos = ticker.nanoTime() + TimeUnit.MILLISECONDS.toNanos(random.nextInt(3_000));
        }
        break;
      default:
        if (link != null) {
          trace("close " + link + " from the client");
          link.client.close();
        }
        break;
    }
  }

  /** Heals the network: no black holes or stalls any more, and a server listening. */
  private void heal() {
    trace("heal");
    for (SimNetwork.Link l : network.liveLinks()) {
      l.up.blackHole = false;
      l.down.blackHole = false;
      l.up.stalled = false;
      l.down.stalled = false;
    }
    if (server == null) {
      restartAtNanos = -1;
      startServer();
    }
  }

  /**
   * Lets every call finish on the healed network: calls that never answer (HANG without a deadline)
   * are cancelled first; every other one must complete by itself within the time it allows (its
   * deadline, or a few heartbeat timeouts for a call sent on a connection that died unseen).
   */
  private void drain() {
    for (CallRecord c : calls.values()) {
      if (c.completions == 0 && c.method == HANG && c.deadlineNanos == 0) {
        c.cancelled = true;
        c.future.cancel(false);
      }
    }
    long limit = ticker.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (ticker.nanoTime() < limit && !allDone()) {
      network.deliver(true);
      runHandlers(Integer.MAX_VALUE);
      advance(TimeUnit.MILLISECONDS.toNanos(50));
    }
    for (CallRecord c : calls.values()) {
      if (c.completions == 0) {
        violation("call " + c.id + " (" + c.method.fullName() + ") never completed on a healed network");
      }
    }
  }

  private void shutDown() {
    trace("shut down");
    shuttingDown = true;
    channel.shutdownNow();
    if (server != null) {
      server.shutdownNow();
    }
    for (int i = 0; i < 50; i++) {
      network.deliver(true);
      runHandlers(Integer.MAX_VALUE);
      advance(TimeUnit.MILLISECONDS.toNanos(100));
    }
    for (CompletableFuture<BytesValue> f : slowAnswers) {
      f.complete(BytesValue.getDefaultInstance()); // answers nobody waits for any more
    }
    runHandlers(Integer.MAX_VALUE);
    settle();
  }

  private void checkEnd() {
    for (CallRecord c : calls.values()) {
      if (c.completions != 1) {
        violation("call " + c.id + " completed " + c.completions + " times");
      }
    }
    for (Map.Entry<Long, Integer> e : executions.entrySet()) {
      if (e.getValue() > 1) {
        violation("call " + e.getKey() + " ran " + e.getValue() + " times on the server");
      }
    }
    for (String left : SimClients.leftovers(channel)) {
      violation("client still holds: " + left);
    }
    if (!channel.isTerminated()) {
      violation("the channel did not terminate");
    }
    for (SimNetwork.Link l : network.links) {
      l.up.release();
      l.down.release();
    }
    for (EmbeddedChannel ch : network.channels()) {
      for (Object o; (o = ch.readOutbound()) != null; ) {
        io.netty.util.ReferenceCountUtil.release(o); // written after the far end was gone
      }
      if (ch.readInbound() != null) {
        violation("a message reached the end of a pipeline unhandled on " + ch);
      }
    }
    List<io.netty.buffer.ByteBuf> unreleased = network.alloc.unreleased();
    if (!unreleased.isEmpty()) {
      StringBuilder what = new StringBuilder();
      for (io.netty.buffer.ByteBuf b : unreleased.subList(0, Math.min(5, unreleased.size()))) {
        what.append(" [").append(b.capacity()).append(" bytes: ")
            .append(io.netty.buffer.ByteBufUtil.hexDump(b, 0, Math.min(24, b.capacity()))).append(']');
      }
      violation(unreleased.size() + " buffers were never released:" + what);
    }
  }

  // ---- time and tasks ----

  private void advance(long nanos) {
    ticker.advance(nanos, TimeUnit.NANOSECONDS);
    settle();
  }

  /** Runs what is due everywhere until nothing more is. */
  private void settle() {
    for (int i = 0; i < 20; i++) {
      for (Throwable t : network.runTasks()) {
        violation("an event-loop task threw: " + t);
      }
      cancelListeners.runAll();
      network.deliver(false);
      if (!network.anyTasks() && cancelListeners.isEmpty()) {
        return;
      }
    }
  }

  private void runHandlers(int max) {
    for (int i = 0; i < max && !handlers.isEmpty(); i++) {
      handlers.runOne(random);
      settle();
    }
  }

  private boolean allDone() {
    for (CallRecord c : calls.values()) {
      if (c.completions == 0) {
        return false;
      }
    }
    return true;
  }

  // ---- the server ----

  private void startServer() {
    trace("start server");
    FerryServerBuilder b = SimServers.builder("kv", network.listenerFor(ADDRESS), home.eventLoop(), ticker,
        random::nextDouble, cancelListeners)
        .addService(service())
        .maxConcurrentCallsPerConnection(config.maxCallsPerConnection)
        .heartbeatInterval(config.heartbeatInterval)
        .heartbeatTimeout(config.heartbeatTimeout)
        .minClientPingInterval(Duration.ofMillis(200));
    if (config.directExecutor) {
      b.directExecutor();
    } else {
      b.executor(handlers);
    }
    if (config.maxConnectionIdle != null) {
      b.maxConnectionIdle(config.maxConnectionIdle);
    }
    if (config.maxConnectionAge != null) {
      b.maxConnectionAge(config.maxConnectionAge).maxConnectionAgeGrace(Duration.ofSeconds(2));
    }
    try {
      server = b.build().start();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private ServiceDefinition service() {
    return ServiceDefinition.builder("sim.S")
        .unary(ECHO, (request, context) -> executed(request))
        .unaryAsync(SLOW, (request, context) -> {
          BytesValue reply = executed(request);
          CompletableFuture<BytesValue> answer = new CompletableFuture<>();
          slowAnswers.add(answer);
          home.eventLoop().schedule(() -> answer.complete(reply), random.nextInt(3_000), TimeUnit.MILLISECONDS);
          return answer;
        })
        .unary(FAIL, (request, context) -> {
          executed(request);
          throw new FerryException(StatusCode.FAILED_PRECONDITION, "failing on purpose");
        })
        .unaryAsync(HANG, (request, context) -> {
          executed(request);
          CompletableFuture<BytesValue> never = new CompletableFuture<>();
          context.onCancel(() -> never.cancel(false));
          return never;
        })
        .build();
  }

  private BytesValue executed(BytesValue request) {
    long id = request.getValue().asReadOnlyByteBuffer().getLong();
    executions.merge(id, 1, Integer::sum);
    trace("server runs " + id);
    return request;
  }

  // ---- records ----

  /** One call as the simulation follows it. */
  private final class CallRecord {
    final long id;
    final MethodDescriptor<BytesValue, BytesValue> method;
    final long startNanos;
    final long deadlineNanos; // 0 = none
    final boolean waitForReady;
    CompletableFuture<BytesValue> future;
    int completions;
    boolean cancelled;

    CallRecord(long id, MethodDescriptor<BytesValue, BytesValue> method, long startNanos, long deadlineNanos,
        boolean waitForReady) {
      this.id = id;
      this.waitForReady = waitForReady;
      this.method = method;
      this.startNanos = startNanos;
      this.deadlineNanos = deadlineNanos;
    }

    void completed(BytesValue reply, Throwable error) {
      completions++;
      long now = ticker.nanoTime();
      Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      String outcome = e == null ? "OK" : e instanceof FerryException ? ((FerryException) e).code().name()
          : e instanceof CancellationException ? "CANCELLED(local)" : e.toString();
      trace("done " + id + " " + outcome + (e instanceof FerryException ? ": " + e.getMessage() : ""));
      if (completions > 1) {
        violation("call " + id + " completed again: " + outcome);
        return;
      }
      if (waitForReady && !shuttingDown && e instanceof FerryException
          && ((FerryException) e).code() == StatusCode.UNAVAILABLE
          && (e.getMessage().contains("was not sent") || e.getMessage().contains("was not processed"))) {
        violation("wait-for-ready call " + id + " failed although its request was never processed: "
            + e.getMessage());
      }
      if (deadlineNanos != 0 && now - deadlineNanos > MAX_STEP_NANOS) {
        violation("call " + id + " completed " + TimeUnit.NANOSECONDS.toMillis(now - deadlineNanos)
            + " ms after its deadline");
      }
      if (e == null) {
        long echoed = reply.getValue().asReadOnlyByteBuffer().getLong();
        if (echoed != id || method == FAIL || method == HANG) {
          violation("call " + id + " got a wrong answer (" + echoed + ")");
        }
      }
      if (e instanceof FerryException) {
        String message = e.getMessage();
        if ((message.contains("was not sent") || message.contains("was not processed by the server"))
            && executions.getOrDefault(id, 0) > 0) {
          violation("call " + id + " failed saying it was not sent or not processed, but it ran: " + message);
        }
      }
    }
  }

  /** The handler executor (or the cancellation listeners'): tasks run when, and in the order, the seed says. */
  private final class SimExecutor implements Executor {
    private final String name;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();

    SimExecutor(String name) {
      this.name = name;
    }

    @Override
    public void execute(Runnable task) {
      tasks.add(task);
    }

    boolean isEmpty() {
      return tasks.isEmpty();
    }

    /** Runs one task: the oldest, or now and then a later one (threads overtake each other). */
    void runOne(Random r) {
      Runnable task;
      if (tasks.size() > 1 && r.nextInt(4) == 0) {
        List<Runnable> list = new ArrayList<>(tasks);
        task = list.remove(r.nextInt(list.size()));
        tasks.clear();
        tasks.addAll(list);
      } else {
        task = tasks.poll();
      }
      runSafely(task);
    }

    void runAll() {
      for (Runnable task; (task = tasks.poll()) != null; ) {
        runSafely(task);
      }
    }

    private void runSafely(Runnable task) {
      try {
        task.run();
      } catch (Throwable t) {
        violation("a " + name + " task threw: " + t);
      }
    }
  }

  @SafeVarargs
  private <T> T pick(T... choices) {
    return choices[random.nextInt(choices.length)];
  }

  private void trace(String what) {
    trace.add(TimeUnit.NANOSECONDS.toMillis(ticker.nanoTime()) + " ms: " + what);
  }

  private void violation(String what) {
    violations.add(what);
    trace("VIOLATION: " + what);
  }

  /** What a run found. */
  record Result(long seed, List<String> violations, List<String> trace) {
    boolean ok() {
      return violations.isEmpty();
    }
  }
}
