package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.ferry.MethodDescriptor;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInternals;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One channel, several real servers on several loopback addresses (127.0.0.1, .2, .3), found through
 * {@code static://} and {@code dns://} targets.
 */
class ManyServersTest {
  private static final MethodDescriptor<StringValue, StringValue> WHO =
      MethodDescriptor.of("test.Many/Who", StringValue.parser(), StringValue.parser());
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  private final List<FerryServer> servers = new ArrayList<>();
  private final List<AtomicInteger> handled = new ArrayList<>();
  private final List<FerryChannel> channels = new ArrayList<>();

  @AfterEach
  void closeAll() {
    channels.forEach(FerryChannel::close);
    servers.forEach(FerryServer::shutdownNow);
  }

  private FerryServer server(String host, int port) throws Exception {
    return server(host, port, 0);
  }

  /** A server that takes {@code serviceMicros} per call (its work; 0: none). */
  private FerryServer server(String host, int port, long serviceMicros) throws Exception {
    AtomicInteger count = new AtomicInteger();
    FerryServer server = FerryServer.builder().host(host).port(port)
        .addService(ServiceDefinition.builder("test.Many").unary(WHO, (request, context) -> {
          count.incrementAndGet();
          if (serviceMicros > 0) {
            TimeUnit.MICROSECONDS.sleep(serviceMicros);
          }
          return StringValue.of(host);
        }).build())
        .build().start();
    servers.add(server);
    handled.add(count);
    return server;
  }

  /** {@code n} calls with at most {@code window} in flight; returns how many failed. */
  private static int run(FerryChannel channel, int n, int window) throws InterruptedException {
    Semaphore room = new Semaphore(window);
    AtomicInteger failed = new AtomicInteger();
    for (int i = 0; i < n; i++) {
      room.acquire();
      channel.call(WHO, StringValue.of("x"), TEN_SECONDS).whenComplete((v, t) -> {
        if (t != null) {
          failed.incrementAndGet();
        }
        room.release();
      });
    }
    if (!room.tryAcquire(window, 30, TimeUnit.SECONDS)) {
      throw new AssertionError("calls still running");
    }
    return failed.get();
  }

  @Test
  void threeEqualServersEachGetTheirShareWithinTenPercentOverThirtyThousandCalls() throws Exception {
    // Equal servers: each call takes them 1 ms of work (as a real handler would), so that what sets their
    // latency is the same work, not which of them the busy machine's scheduler favours for a moment.
    FerryServer a = server("127.0.0.1", 0, 1_000);
    FerryServer b = server("127.0.0.2", 0, 1_000);
    FerryServer c = server("127.0.0.3", 0, 1_000);
    FerryChannel channel = FerryChannel.builder("static://127.0.0.1:" + a.port() + ",127.0.0.2:" + b.port()
        + ",127.0.0.3:" + c.port()).build();
    channels.add(channel);
    assertThat(run(channel, 3_000, 32)).as("warm-up").isZero();
    handled.forEach(count -> count.set(0));
    assertThat(run(channel, 30_000, 32)).isZero();
    // A fair share is 10,000 each; power of two choices on equal servers stays within 10% of it (the
    // random draws alone vary by about 100 calls; the rest is load, which evens out).
    for (AtomicInteger count : handled) {
      assertThat(count.get()).as("calls handled by each server: %s", handled).isBetween(9_000, 11_000);
    }
  }

  @Test
  void aDnsTargetCallsEveryAddressOfItsName() throws Exception {
    FerryServer first = server("127.0.0.1", 0);
    server("127.0.0.2", first.port());
    server("127.0.0.3", first.port());
    FerryChannel channel = ClientInternals.dnsLookup(FerryChannel.builder("dns:///fleet.test:" + first.port()),
        Map.of("fleet.test", List.of("127.0.0.1", "127.0.0.2", "127.0.0.3"))).build();
    channels.add(channel);
    assertThat(run(channel, 3_000, 16)).isZero();
    for (AtomicInteger count : handled) {
      assertThat(count.get()).as("calls handled by each server: %s", handled).isPositive();
    }
  }
}
