package dev.ferry.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.ResolverOptions;
import dev.ferry.discovery.zookeeper.v1.ServerInstance;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.KillSession;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Registration in a real ZooKeeper (in this JVM): the record, session expiry, the shutdown order, zk:// targets. */
class ZooKeeperRegistrationTest {
  private Fleet fleet;
  private CuratorFramework reader;

  @BeforeEach
  void startZooKeeper() throws Exception {
    fleet = new Fleet();
    reader = fleet.curator();
  }

  @AfterEach
  void stop() throws Exception {
    fleet.close();
  }

  @Test
  void aServerRegistersOneEphemeralNodePerServiceWithItsRecord() throws Exception {
    try (ZooKeeperRegistration r = ZooKeeperRegistration.builder(fleet.zk.getConnectString())
        .service("a.Service").service("b.Service").address("127.0.0.1", 7070).weight(3).zone("zone-a").tls(true)
        .register()) {
      assertThat(r.awaitRegistered(Duration.ofSeconds(10))).isTrue();
      assertThat(r.paths()).containsExactly("/ferry/v1/a.Service/127.0.0.1:7070", "/ferry/v1/b.Service/127.0.0.1:7070");
      for (String path : r.paths()) {
        Stat stat = reader.checkExists().forPath(path);
        assertThat(stat.getEphemeralOwner()).as("ephemeral").isNotZero();
        assertThat(ServerInstance.parseFrom(reader.getData().forPath(path))).isEqualTo(ServerInstance.newBuilder()
            .setHost("127.0.0.1").setPort(7070).setWeight(3).setZone("zone-a").setTls(true).build());
      }
      r.deregister();
      assertThat(reader.checkExists().forPath(r.paths().get(0))).isNull();
    }
  }

  @Test
  void badRegistrationsAreRefusedSayingWhatWasExpected() {
    assertThatThrownBy(() -> ZooKeeperRegistration.builder(reader).service("a/b"))
        .hasMessageContaining("service: \"a/b\" (expected: a service name");
    assertThatThrownBy(() -> ZooKeeperRegistration.builder(reader).address("0.0.0.0", 7070))
        .hasMessageContaining("an address clients can connect to");
    assertThatThrownBy(() -> ZooKeeperRegistration.builder(reader).address("127.0.0.1", 7070).register())
        .hasMessageContaining("no service");
    assertThatThrownBy(() -> FerryChannel.builder("zk://" + fleet.zk.getConnectString()).build())
        .hasMessageContaining("expected: zk://host:port[,host:port...]/service");
  }

  /**
   * The Dubbo failure: after a session expiry the old session's node may still exist when the new
   * session registers again; a registration that gives up then is lost for good. Here the client side
   * of the session expires while the server still holds the old node until its timeout.
   */
  @Test
  void afterSessionExpiryTheNodeIsBackInTheNewSession() throws Exception {
    CuratorFramework own = fleet.curator();
    ZooKeeperRegistration r = ZooKeeperRegistration.builder(own).service(Fleet.SERVICE)
        .address("127.0.0.1", 7070).register();
    assertThat(r.awaitRegistered(Duration.ofSeconds(10))).isTrue();
    String path = r.paths().get(0);
    long oldOwner = reader.checkExists().forPath(path).getEphemeralOwner();

    KillSession.kill(own.getZookeeperClient().getZooKeeper());

    await("the node, owned by the new session").atMost(Fleet.SESSION_TIMEOUT.plusSeconds(1))
        .pollInterval(Duration.ofMillis(50)).until(() -> {
          Stat stat = reader.checkExists().forPath(path);
          return stat != null && stat.getEphemeralOwner() != oldOwner
              && stat.getEphemeralOwner() == own.getZookeeperClient().getZooKeeper().getSessionId();
        });
    r.close();
    assertThat(reader.checkExists().forPath(path)).isNull();
  }

  @Test
  void shutdownDeregistersAndClientsStopPickingTheServerBeforeItsGoaway() throws Exception {
    Fleet.Member a = fleet.start(Duration.ofMillis(1_500));
    Fleet.Member b = fleet.start(Duration.ofMillis(1_500));
    FerryChannel channel = FerryChannel.builder(fleet.target())
        .resolverOptions(ResolverOptions.builder().updateDelay(Duration.ofMillis(100)).build()).build();
    try {
      Set<String> seen = new HashSet<>();
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        seen.add(channel.blockingCall(Fleet.WHO, StringValue.of("x")).getValue());
        return seen.size() == 2;
      });
      Load load = new Load(channel, 500, 10_000).start();
      load.awaitStarted(200);
      AtomicReference<String> nodeAtShutdown = new AtomicReference<>();
      AtomicReference<Integer> startedAtShutdown = new AtomicReference<>();
      a.onShutdownStarted = () -> {
        startedAtShutdown.set(load.started());
        try {
          nodeAtShutdown.set(reader.checkExists().forPath(a.registration.paths().get(0)) == null ? "gone" : "there");
        } catch (Exception e) {
          nodeAtShutdown.set(e.toString());
        }
      };
      int deregisteredAt = load.started();
      a.registration.shutdown(a.server, Duration.ofSeconds(5)).get();
      assertThat(a.server.awaitTermination(Duration.ofSeconds(20))).isTrue();
      load.finish();

      assertThat(nodeAtShutdown.get()).isEqualTo("gone");
      int shutdownAt = startedAtShutdown.get();
      assertThat(shutdownAt - deregisteredAt).as("calls during the deregistration delay").isGreaterThan(200);
      // The last 100 calls before the GOAWAY (200 ms at this rate) all went to b: the channel had let a go.
      assertThat(load.answeredBy(a.name, shutdownAt - 100, shutdownAt)).isZero();
      assertThat(load.answeredBy(b.name, shutdownAt - 100, shutdownAt)).isEqualTo(100);
      assertThat(load.errors()).as("errors: %s", load.errorMessages()).isZero();
    } finally {
      channel.close();
    }
  }
}
