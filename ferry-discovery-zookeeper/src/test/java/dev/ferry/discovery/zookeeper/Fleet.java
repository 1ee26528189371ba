package dev.ferry.discovery.zookeeper;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.TestingServer;

/**
 * A fleet for tests: a real ZooKeeper server in this JVM (curator-test's {@link TestingServer}) and Ferry
 * servers on loopback that register in it. Each server answers {@link #WHO} with its name, after an
 * adjustable service time, or fails every call when told to. The service time is a timer, not a
 * handler thread held: a slow server's calls must not wait for its few handler threads, which would
 * make it (and its share of the calls) a matter of its thread pool instead of its latency.
 */
final class Fleet implements AutoCloseable {
  static final String SERVICE = "test.Fleet";
  static final MethodDescriptor<StringValue, StringValue> WHO =
      MethodDescriptor.of(SERVICE + "/Who", StringValue.parser(), StringValue.parser());
  /** The session timeout of the registrations' ZooKeeper sessions. */
  static final Duration SESSION_TIMEOUT = Duration.ofSeconds(4);

  final TestingServer zk;
  final List<Member> members = new ArrayList<>();
  private final List<AutoCloseable> resources = new ArrayList<>();
  /** Completes calls when their service time is over. */
  private final ScheduledExecutorService serviceTimer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "fleet-service-time");
    t.setDaemon(true);
    return t;
  });
  private int next;

  Fleet() throws Exception {
    zk = new TestingServer(-1, true);
  }

  /** A started client of the fleet's ZooKeeper, closed with the fleet. */
  CuratorFramework curator() {
    CuratorFramework c = CuratorFrameworkFactory.builder().connectString(zk.getConnectString())
        .sessionTimeoutMs((int) SESSION_TIMEOUT.toMillis()).connectionTimeoutMs(5_000)
        .retryPolicy(new ExponentialBackoffRetry(100, 20, 1_000)).build();
    c.start();
    resources.add(c);
    return c;
  }

  /** A target for channels to the fleet. */
  String target() {
    return "zk://" + zk.getConnectString() + "/" + SERVICE;
  }

  /** Starts a server on a free port of 127.0.0.1 and registers it (its own ZooKeeper session). */
  Member start(Duration deregistrationDelay) throws Exception {
    Member m = new Member("s" + (++next), serviceTimer);
    m.server = FerryServer.builder().host("127.0.0.1").port(0)
        .addService(ServiceDefinition.builder(SERVICE).unaryAsync(WHO, (request, context) -> m.answer()).build())
        .addListener(new dev.ferry.server.ServerListener() {
          @Override
          public void shutdownStarted() {
            Runnable hook = m.onShutdownStarted;
            if (hook != null) {
              hook.run();
            }
          }
        })
        .build().start();
    m.registration = ZooKeeperRegistration.builder(curator()).service(SERVICE).address("127.0.0.1", m.server.port())
        .deregistrationDelay(deregistrationDelay).register();
    if (!m.registration.awaitRegistered(Duration.ofSeconds(20))) {
      throw new AssertionError(m.name + " did not register");
    }
    members.add(m);
    return m;
  }

  /** The server named {@code name}. */
  Member member(String name) {
    for (Member m : members) {
      if (m.name.equals(name)) {
        return m;
      }
    }
    throw new AssertionError("no member " + name);
  }

  @Override
  public void close() throws Exception {
    for (Member m : members) {
      m.registration.close();
      m.server.shutdownNow();
    }
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
    zk.close();
    serviceTimer.shutdownNow();
  }

  /** One server of the fleet. */
  static final class Member {
    final String name;
    final AtomicInteger calls = new AtomicInteger();
    volatile FerryServer server;
    volatile ZooKeeperRegistration registration;
    /** How long each call takes on the server (its service time). */
    volatile long serviceMicros;
    volatile boolean failing;
    /** Runs when the server's shutdown starts, before any GOAWAY. */
    volatile Runnable onShutdownStarted;

    private final ScheduledExecutorService serviceTimer;

    Member(String name, ScheduledExecutorService serviceTimer) {
      this.name = name;
      this.serviceTimer = serviceTimer;
    }

    private CompletableFuture<StringValue> answer() {
      calls.incrementAndGet();
      if (failing) {
        return CompletableFuture.failedFuture(new FerryException(StatusCode.UNAVAILABLE, name + " is out of order"));
      }
      StringValue reply = StringValue.of(name);
      long micros = serviceMicros;
      if (micros <= 0) {
        return CompletableFuture.completedFuture(reply);
      }
      // The server's work: its service time, not a test's wait.
      CompletableFuture<StringValue> answer = new CompletableFuture<>();
      serviceTimer.schedule(() -> answer.complete(reply), micros, TimeUnit.MICROSECONDS);
      return answer;
    }
  }
}
