package dev.ferry.examples.cluster;

import com.google.protobuf.ByteString;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.ResolverOptions;
import dev.ferry.discovery.zookeeper.ZooKeeperRegistration;
import dev.ferry.examples.kvstore.InMemoryKvStore;
import dev.ferry.examples.kvstore.KvStoreFerry;
import dev.ferry.examples.kvstore.KvStoreFerryService;
import dev.ferry.examples.kvstore.KvStoreFerryStub;
import dev.ferry.examples.kvstore.PutRequest;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.test.TestingServer;

/**
 * Many servers behind one channel: three kvstore servers register in ZooKeeper (a real ZooKeeper
 * server, embedded in this JVM with Curator's {@code TestingServer}); a client calls them through one
 * channel built from a {@code zk://} target while the servers are restarted one after the other, each on
 * a new port. It prints the calls each server answered and the errors the client saw: none.
 *
 * <pre>
 *   mvn -B -ntp -q -pl examples/cluster -am -DskipTests package exec:exec
 * </pre>
 */
public final class ClusterExample {
  private ClusterExample() {}

  /** One kvstore server and its registration. */
  private static final class Node {
    final String name;
    final FerryServer server;
    final ZooKeeperRegistration registration;

    Node(String name, FerryServer server, ZooKeeperRegistration registration) {
      this.name = name;
      this.server = server;
      this.registration = registration;
    }
  }

  private static final Map<String, AtomicInteger> callsByServer = new ConcurrentHashMap<>();

  /** Starts a kvstore server on a free port of 127.0.0.1 and registers it. */
  private static Node start(String name, String zooKeeper, Duration deregistrationDelay) throws Exception {
    AtomicInteger calls = callsByServer.computeIfAbsent(name, k -> new AtomicInteger());
    FerryServer server = FerryServer.builder()
        .host("127.0.0.1")
        .port(0)
        .addService(KvStoreFerryService.bind(new InMemoryKvStore()))
        .addListener(new ServerListener() {
          @Override
          public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
              long requestBytes, long responseBytes) {
            calls.incrementAndGet();
          }
        })
        .build()
        .start();
    // [cluster-register]
    ZooKeeperRegistration registration = ZooKeeperRegistration.builder(zooKeeper)
        .service(KvStoreFerry.SERVICE_NAME)          // /ferry/v1/ferry.examples.kvstore.KvStore/127.0.0.1:port
        .address("127.0.0.1", server.port())         // where clients connect
        .deregistrationDelay(deregistrationDelay)    // 2 s by default: clients stop picking it before GOAWAY
        .register();
    // [cluster-register]
    registration.awaitRegistered(Duration.ofSeconds(10));
    return new Node(name, server, registration);
  }

  /** Runs the example with the default deregistration delay (2 s). */
  public static void run(PrintStream out) throws Exception {
    run(out, ZooKeeperRegistration.DEFAULT_DEREGISTRATION_DELAY);
  }

  /** Runs the example; the test shortens the deregistration delay, the wait in each server's shutdown. */
  public static void run(PrintStream out, Duration deregistrationDelay) throws Exception {
    callsByServer.clear();
    try (TestingServer zooKeeper = new TestingServer(-1, true)) {
      String zk = zooKeeper.getConnectString();
      out.println("ZooKeeper (embedded) at " + zk);
      List<Node> nodes = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        Node n = start("server-" + i, zk, deregistrationDelay);
        nodes.add(n);
        out.println(n.name + " listening on 127.0.0.1:" + n.server.port() + ", registered");
      }

      // [cluster-channel]
      FerryChannel channel = FerryChannel.builder("zk://" + zk + "/" + KvStoreFerry.SERVICE_NAME)
          // Registry changes are gathered for a while (1 s by default) before the channel acts on them:
          // well within the servers' deregistration delay.
          .resolverOptions(ResolverOptions.builder().updateDelay(deregistrationDelay.dividedBy(4)).build())
          .build();
      KvStoreFerryStub kv = KvStoreFerryStub.create(channel).withTimeout(Duration.ofSeconds(5));
      // [cluster-channel]

      AtomicLong ok = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      Semaphore window = new Semaphore(16);
      Thread client = new Thread(() -> {
        for (int i = 0; !Thread.currentThread().isInterrupted(); i++) {
          try {
            window.acquire();
          } catch (InterruptedException e) {
            return;
          }
          kv.putAsync(PutRequest.newBuilder().setKey("key-" + (i % 1000)).setValue(ByteString.copyFromUtf8("v" + i))
              .build()).whenComplete((r, t) -> {
                (t == null ? ok : errors).incrementAndGet();
                window.release();
              });
        }
      }, "client");
      client.setDaemon(true);
      client.start();
      waitForCalls(ok, 2_000);
      out.println("client calling through " + "zk://.../" + KvStoreFerry.SERVICE_NAME + " (16 calls in flight)");

      // The rolling restart: each server in turn deregisters, waits, shuts down gracefully, and a new one
      // starts on a new port and registers.
      for (int i = 0; i < nodes.size(); i++) {
        Node old = nodes.get(i);
        // [cluster-shutdown]
        old.registration.shutdown(old.server, Duration.ofSeconds(10)).join(); // deregister, wait 2 s, GOAWAY
        old.server.awaitTermination(Duration.ofSeconds(15));
        old.registration.close();
        // [cluster-shutdown]
        Node fresh = start(old.name + "'", zk, deregistrationDelay);
        nodes.set(i, fresh);
        out.println("restarted " + old.name + " (127.0.0.1:" + old.server.port() + ") as " + fresh.name
            + " on 127.0.0.1:" + fresh.server.port());
        waitForCalls(callsByServer.get(fresh.name), 200);
      }
      long before = ok.get();
      waitForCalls(ok, before + 2_000);

      client.interrupt();
      client.join(5_000);
      if (!window.tryAcquire(16, 10, TimeUnit.SECONDS)) {
        out.println("calls still running after 10 s");
      }
      channel.close();
      List<java.util.concurrent.CompletableFuture<Void>> stopping = new ArrayList<>();
      for (Node n : nodes) {
        stopping.add(n.registration.shutdown(n.server, Duration.ofSeconds(5)));
      }
      for (int i = 0; i < nodes.size(); i++) {
        stopping.get(i).join();
        nodes.get(i).server.awaitTermination(Duration.ofSeconds(10));
        nodes.get(i).registration.close();
      }

      out.println("calls answered, by server:");
      for (Map.Entry<String, AtomicInteger> e : new TreeMap<>(callsByServer).entrySet()) {
        out.printf("  %-10s %,8d%n", e.getKey(), e.getValue().get());
      }
      out.printf("calls: %,d succeeded, %,d failed%n", ok.get(), errors.get());
      out.println("Cluster example finished");
    }
  }

  /** Waits (up to 30 s) until {@code counter} reaches {@code n}. */
  private static void waitForCalls(Number counter, long n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (counter.longValue() < n && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(10);
    }
  }

  public static void main(String[] args) throws Exception {
    run(System.out);
  }
}
