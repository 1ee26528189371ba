package dev.ferry.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerListener;
import dev.ferry.services.health.v1.HealthCheckRequest;
import dev.ferry.services.health.v1.HealthCheckResponse.ServingStatus;
import dev.ferry.services.health.v1.HealthListRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The health service over the wire: statuses, NOT_FOUND, and NOT_SERVING before a shutdown's GOAWAY. */
class HealthServiceTest {
  private static final String KV = "ferry.examples.kvstore.KvStore";
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  private final HealthService health = HealthService.create();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private FerryServer server(ServerListener... more) throws Exception {
    var builder = FerryServer.builder().host("127.0.0.1").port(0).addService(health.service())
        .addListener(health.shutdownListener());
    for (ServerListener l : more) {
      builder.addListener(l);
    }
    FerryServer server = builder.build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  private FerryChannel channel(FerryServer server, ChannelListener... listeners) {
    var builder = FerryChannel.builder("127.0.0.1", server.port());
    for (ChannelListener l : listeners) {
      builder.addListener(l);
    }
    FerryChannel channel = builder.build();
    resources.add(channel);
    return channel;
  }

  private static ServingStatus check(FerryChannel channel, String service) {
    return channel.blockingCall(HealthService.CHECK, HealthCheckRequest.newBuilder().setService(service).build(),
        TEN_SECONDS).getStatus();
  }

  @Test
  void answersTheStatusesTheApplicationSets() throws Exception {
    FerryChannel channel = channel(server());
    assertThat(check(channel, "")).isEqualTo(ServingStatus.SERVING);
    assertThatThrownBy(() -> check(channel, KV))
        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND))
        .hasMessageContaining("no health status for service \"" + KV + "\"");

    health.setStatus(KV, ServingStatus.NOT_SERVING);
    assertThat(check(channel, KV)).isEqualTo(ServingStatus.NOT_SERVING);
    health.setStatus(KV, ServingStatus.SERVING);
    assertThat(check(channel, KV)).isEqualTo(ServingStatus.SERVING);
    health.setStatus("other.Service", ServingStatus.NOT_SERVING);
    Map<String, ServingStatus> all = new java.util.TreeMap<>();
    channel.blockingCall(HealthService.LIST, HealthListRequest.getDefaultInstance(), TEN_SECONDS).getStatusesMap()
        .forEach((name, response) -> all.put(name, response.getStatus()));
    assertThat(all).containsExactly(Map.entry("", ServingStatus.SERVING), Map.entry(KV, ServingStatus.SERVING),
        Map.entry("other.Service", ServingStatus.NOT_SERVING));

    health.clearStatus(KV);
    assertThatThrownBy(() -> check(channel, KV)).isInstanceOf(FerryException.class);
    assertThatThrownBy(() -> health.setStatus(KV, ServingStatus.UNKNOWN))
        .hasMessage("status: UNKNOWN (expected: SERVING or NOT_SERVING)");
  }

  /**
   * A health check that reaches the server after its shutdown started, but before it sent GOAWAY, is
   * answered NOT_SERVING, and the answer reaches the client before the GOAWAY does. The check is made
   * from a listener added after the health service's, on the thread that called shutdown: the server
   * sends no GOAWAY until its listeners have returned, so this is exactly that window.
   */
  @Test
  void answersNotServingBeforeTheGoAway() throws Exception {
    AtomicInteger goAwaysSeen = new AtomicInteger();
    ChannelListener countGoAways = new ChannelListener() {
      @Override
      public void goAwayReceived() {
        goAwaysSeen.incrementAndGet();
      }
    };
    AtomicReference<FerryChannel> probe = new AtomicReference<>();
    AtomicReference<ServingStatus> answerDuringShutdown = new AtomicReference<>();
    AtomicInteger goAwaysBeforeTheAnswer = new AtomicInteger(-1);
    ServerListener probeAtShutdown = new ServerListener() {
      @Override
      public void shutdownStarted() {
        answerDuringShutdown.set(check(probe.get(), ""));
        goAwaysBeforeTheAnswer.set(goAwaysSeen.get());
      }
    };
    FerryServer server = server(probeAtShutdown);
    probe.set(channel(server, countGoAways));
    assertThat(check(probe.get(), "")).isEqualTo(ServingStatus.SERVING);

    server.shutdown(Duration.ofSeconds(5));

    assertThat(answerDuringShutdown.get()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(goAwaysBeforeTheAnswer.get()).as("GOAWAYs the client had seen when the answer came").isZero();
    await().atMost(Duration.ofSeconds(10)).until(() -> goAwaysSeen.get() >= 1); // the GOAWAY does come, after
    assertThat(health.status("")).isEqualTo(ServingStatus.NOT_SERVING);
  }

  @Test
  void afterShutdownEverythingStaysNotServing() {
    health.setStatus(KV, ServingStatus.SERVING);
    health.enterShutdown();
    health.setStatus(KV, ServingStatus.SERVING);
    health.setStatus("late.Service", ServingStatus.SERVING);
    assertThat(health.status("")).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health.status(KV)).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health.status("late.Service")).isNull();
  }
}
