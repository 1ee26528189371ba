package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.BackoffOptions;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ChannelListener;
import dev.ferry.client.ChannelState;
import dev.ferry.client.ChannelStats;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.HeartbeatOptions;
import dev.ferry.client.PoolOptions;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerListener;
import dev.ferry.testing.FaultProxy;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ServerListener} and {@link ChannelListener} over real sockets: every event fires for what it
 * says, once, with the method, status and sizes of the call, and in the order the health and metrics
 * modules rely on.
 */
class ListenerTest {
  private static final BackoffOptions FAST_BACKOFF =
      BackoffOptions.of(Duration.ofMillis(20), 2, Duration.ofMillis(200), 0.2);
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();
  /** A BytesValue with 5 bytes of data is 7 bytes on the wire: tag, length, data. */
  private static final BytesValue FIVE = BytesValue.of(ByteString.copyFromUtf8("hello"));

  private final TestService service = new TestService();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  private FerryServer server(ServerListener... listeners) throws Exception {
    var builder = FerryServer.builder().host("127.0.0.1").port(0).addService(service.definition());
    for (ServerListener l : listeners) {
      builder.addListener(l);
    }
    FerryServer server = builder.build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  /** Events as text, in the order they came. */
  static final class Events {
    final List<String> list = new CopyOnWriteArrayList<>();

    void add(String event) {
      list.add(event);
    }

    boolean has(String event) {
      return list.contains(event);
    }

    long count(String event) {
      return list.stream().filter(event::equals).count();
    }
  }

  static final class RecordingServerListener implements ServerListener {
    final Events events = new Events();

    @Override
    public void callStarted(MethodDescriptor<?, ?> method) {
      events.add("started " + method.methodName());
    }

    @Override
    public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
        long requestBytes, long responseBytes) {
      assertThat(System.nanoTime() - startNanos).isNotNegative();
      events.add("completed " + method.methodName() + " " + status + " " + requestBytes + "/" + responseBytes);
    }

    @Override
    public void callRefused(MethodDescriptor<?, ?> method, StatusCode status) {
      events.add("refused " + (method == null ? "?" : method.methodName()) + " " + status);
    }

    @Override
    public void connectionOpened() {
      events.add("opened");
    }

    @Override
    public void connectionClosed() {
      events.add("closed");
    }

    @Override
    public void goAwaySent() {
      events.add("goaway sent");
    }

    @Override
    public void goAwayReceived() {
      events.add("goaway received");
    }

    @Override
    public void heartbeatTimedOut() {
      events.add("heartbeat");
    }

    @Override
    public void shutdownStarted() {
      events.add("shutdown");
    }
  }

  static final class RecordingChannelListener implements ChannelListener {
    final Events events = new Events();
    final AtomicReference<ChannelStats> stats = new AtomicReference<>();

    @Override
    public void channelCreated(ChannelStats channel) {
      stats.set(channel);
      events.add("created " + channel.host() + ":" + channel.port());
    }

    @Override
    public void channelTerminated(ChannelStats channel) {
      assertThat(channel).isSameAs(stats.get());
      events.add("terminated");
    }

    @Override
    public void stateChanged(ChannelState from, ChannelState to) {
      events.add(from + "->" + to);
    }

    @Override
    public void callStarted(MethodDescriptor<?, ?> method) {
      events.add("started " + method.methodName());
    }

    @Override
    public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
        long requestBytes, long responseBytes) {
      assertThat(System.nanoTime() - startNanos).isNotNegative();
      events.add("completed " + method.methodName() + " " + status + " " + requestBytes + "/" + responseBytes);
    }

    @Override
    public void callRetried(MethodDescriptor<?, ?> method) {
      events.add("retried " + method.methodName());
    }

    @Override
    public void reconnecting() {
      events.add("reconnecting");
    }

    @Override
    public void goAwayReceived() {
      events.add("goaway received");
    }

    @Override
    public void heartbeatTimedOut() {
      events.add("heartbeat");
    }
  }

  // ---- server ----

  @Test
  void serverHearsEachCallOnceWithItsStatusAndSizes() throws Exception {
    RecordingServerListener listener = new RecordingServerListener();
    FerryServer server = server(listener);
    // One connection: a later call's REQUEST reaches the server after an earlier call's CANCEL.
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).build()).build());

    channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS);
    assertThatThrownBy(() -> channel.blockingCall(TestService.FAIL, StringValue.of("k"), TEN_SECONDS))
        .isInstanceOf(FerryException.class);
    assertThatThrownBy(() -> channel.blockingCall(TestService.MISSING, StringValue.of("k"), TEN_SECONDS))
        .isInstanceOf(FerryException.class);
    MethodDescriptor<StringValue, StringValue> unknownService =
        MethodDescriptor.of("no.Such/Method", StringValue.parser(), StringValue.parser());
    assertThatThrownBy(() -> channel.blockingCall(unknownService, StringValue.of("k"), TEN_SECONDS))
        .isInstanceOf(FerryException.class);
    CompletableFuture<StringValue> hanging = channel.call(TestService.HANG, StringValue.of("h"), TEN_SECONDS);
    assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();
    hanging.cancel(false);
    channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS); // answered after the CANCEL was handled

    assertThat(listener.events.list).containsSubsequence(
        "opened",
        "started Echo", "completed Echo OK 7/7",
        "started Fail", "completed Fail NOT_FOUND 3/0",
        "refused ? UNIMPLEMENTED", // a method the service does not have
        "refused ? UNIMPLEMENTED", // a service the server does not have
        "started Hang", "completed Hang CANCELLED 3/0",
        "started Echo", "completed Echo OK 7/7");
    assertThat(listener.events.count("started Echo")).isEqualTo(2);
    assertThat(listener.events.list).filteredOn(e -> e.startsWith("started") || e.startsWith("refused"))
        .hasSize(6);

    // A call in flight when its connection is lost ends too, as CANCELLED.
    channel.call(TestService.HANG, StringValue.of("h"), TEN_SECONDS);
    assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();
    channel.shutdownNow();
    await().atMost(Duration.ofSeconds(10)).until(() -> listener.events.has("closed"));
    // The connection is reported closed after the calls it ended: a gauge never sees a call outlive it.
    List<String> events = listener.events.list;
    assertThat(events.subList(events.size() - 2, events.size()))
        .containsExactly("completed Hang CANCELLED 3/0", "closed");
    assertThat(listener.events.count("completed Hang CANCELLED 3/0")).isEqualTo(2);
  }

  @Test
  void serverHearsConnectionsGoAwaysBothWaysAndDeadPeers() throws Exception {
    RecordingServerListener listener = new RecordingServerListener();
    FerryServer server = server(listener);

    try (RawPeer peer = new RawPeer(server.port())) {
      peer.handshake();
      pingPong(peer); // the server admitted the connection before it could answer
      assertThat(listener.events.list).containsExactly("opened");
      peer.send(Frame.goAway(UnpooledByteBufAllocator.DEFAULT, 0, ErrorCode.NO_ERROR, "client leaving"));
      pingPong(peer); // handled in order: the GOAWAY before the PING
      assertThat(listener.events.list).containsExactly("opened", "goaway received");
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> listener.events.has("closed"));
    assertThat(listener.events.list).doesNotContain("heartbeat", "goaway sent");
  }

  /** A PING answered: everything sent before it has been handled. */
  private static void pingPong(RawPeer peer) throws Exception {
    peer.send(Frame.ping(UnpooledByteBufAllocator.DEFAULT, 42));
    Frame pong = peer.next();
    try {
      assertThat(pong).isNotNull();
      assertThat(pong.type()).isEqualTo(dev.ferry.internal.FrameType.PONG);
    } finally {
      if (pong != null) {
        pong.release();
      }
    }
  }

  @Test
  void serverHearsAClientDeclaredDeadByTheHeartbeat() throws Exception {
    RecordingServerListener listener = new RecordingServerListener();
    var builder = FerryServer.builder().host("127.0.0.1").port(0).addService(service.definition())
        .heartbeatInterval(Duration.ofMillis(100)).heartbeatTimeout(Duration.ofMillis(300)).addListener(listener);
    FerryServer server = builder.build().start();
    resources.add(server::shutdownNow);

    try (RawPeer peer = new RawPeer(server.port())) {
      peer.handshake(); // and then silence: the server's PINGs go unanswered
      await().atMost(Duration.ofSeconds(10)).until(() -> listener.events.has("closed"));
    }
    assertThat(listener.events.list).containsSubsequence("opened", "heartbeat", "closed");
  }

  @Test
  void shutdownIsHeardOnceBeforeAnyGoAwayIsSent() throws Exception {
    RecordingServerListener listener = new RecordingServerListener();
    FerryServer server = server(listener);
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", server.port()).build());
    channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS);

    server.shutdown(Duration.ofSeconds(5));
    server.shutdownNow();
    assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
    assertThat(listener.events.count("shutdown")).isEqualTo(1);
    assertThat(listener.events.list).containsSubsequence("shutdown", "goaway sent", "closed");
  }

  @Test
  void aListenerThatThrowsChangesNothingForCallsOrOtherListeners() throws Exception {
    ServerListener throwing = new ServerListener() {
      @Override
      public void callStarted(MethodDescriptor<?, ?> method) {
        throw new IllegalStateException("listener bug");
      }

      @Override
      public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
          long requestBytes, long responseBytes) {
        throw new IllegalStateException("listener bug");
      }
    };
    RecordingServerListener recording = new RecordingServerListener();
    FerryServer server = server(throwing, recording);
    ChannelListener throwingClient = new ChannelListener() {
      @Override
      public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos,
          long requestBytes, long responseBytes) {
        throw new IllegalStateException("listener bug");
      }
    };
    RecordingChannelListener recordingClient = new RecordingChannelListener();
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", server.port())
        .addListener(throwingClient).addListener(recordingClient).build());

    for (int i = 0; i < 3; i++) {
      assertThat(channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS)).isEqualTo(FIVE);
    }
    assertThat(recording.events.count("completed Echo OK 7/7")).isEqualTo(3);
    assertThat(recordingClient.events.count("completed Echo OK 7/7")).isEqualTo(3);
  }

  // ---- client ----

  @Test
  void channelHearsItsCallsStateAndLifeAndItsStatsReadTheChannel() throws Exception {
    FerryServer server = server();
    RecordingChannelListener listener = new RecordingChannelListener();
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).addListener(listener).build();
    try {
      ChannelStats stats = listener.stats.get();
      assertThat(stats.host()).isEqualTo("127.0.0.1");
      assertThat(stats.port()).isEqualTo(server.port());
      assertThat(stats.state()).isEqualTo(ChannelState.IDLE);

      channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS);
      assertThatThrownBy(() -> channel.blockingCall(TestService.FAIL, StringValue.of("k"), TEN_SECONDS))
          .isInstanceOf(FerryException.class);
      CompletableFuture<StringValue> hanging = channel.call(TestService.HANG, StringValue.of("h"), TEN_SECONDS);
      assertThat(service.hanging.poll(10, TimeUnit.SECONDS)).isNotNull();
      assertThat(stats.activeCalls()).isEqualTo(1);
      hanging.cancel(false);
      assertThatThrownBy(() -> channel.blockingCall(TestService.HANG, StringValue.of("h"),
          CallOptions.builder().timeout(Duration.ofMillis(50)).build()))
          .isInstanceOf(FerryException.class);

      assertThat(stats.state()).isEqualTo(ChannelState.READY);
      // The first call opened every connection of the (lazy) pool.
      await().atMost(Duration.ofSeconds(10)).until(() -> stats.readyConnections() == PoolOptions.DEFAULT_SIZE);
      assertThat(stats.connectingConnections()).isZero();
      assertThat(stats.drainingConnections()).isZero();
      assertThat(stats.activeCalls()).isZero();
      assertThat(stats.waitingCalls()).isZero();
    } finally {
      channel.close();
    }
    assertThat(listener.events.list).containsSubsequence(
        "created 127.0.0.1:" + server.port(),
        "started Echo", "IDLE->CONNECTING", "CONNECTING->READY", "completed Echo OK 7/7",
        "started Fail", "completed Fail NOT_FOUND 3/0",
        "started Hang", "completed Hang CANCELLED 3/0",
        "started Hang", "completed Hang DEADLINE_EXCEEDED 3/0",
        "READY->SHUTDOWN", "terminated");
    assertThat(listener.events.list).filteredOn(e -> e.startsWith("completed")).hasSize(4);
    assertThat(listener.events.list).doesNotContain("reconnecting", "goaway received", "heartbeat");
  }

  @Test
  void channelHearsGoAwayAndTheReconnectThatReplacesTheConnection() throws Exception {
    var builder = FerryServer.builder().host("127.0.0.1").port(0).addService(service.definition())
        .maxConnectionIdle(Duration.ofMillis(200));
    FerryServer server = builder.build().start();
    resources.add(server::shutdownNow);
    RecordingChannelListener listener = new RecordingChannelListener();
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", server.port())
        .pool(PoolOptions.builder().size(1).build()).addListener(listener).build());

    channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS);
    assertThat(listener.events.list).doesNotContain("reconnecting");
    await().atMost(Duration.ofSeconds(10)).until(() -> listener.events.has("goaway received"));
    channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS);
    assertThat(listener.events.list).containsSubsequence("goaway received", "reconnecting", "completed Echo OK 7/7");
    assertThat(listener.events.count("reconnecting")).isEqualTo(1);
  }

  @Test
  void channelHearsAServerDeclaredDeadByTheHeartbeat() throws Exception {
    var builder = FerryServer.builder().host("127.0.0.1").port(0).addService(service.definition())
        .minClientPingInterval(Duration.ofMillis(50));
    FerryServer server = builder.build().start();
    resources.add(server::shutdownNow);
    FaultProxy proxy = closeLater(FaultProxy.start(server.port()));
    RecordingChannelListener listener = new RecordingChannelListener();
    FerryChannel channel = closeLater(FerryChannel.builder("127.0.0.1", proxy.port())
        .heartbeat(HeartbeatOptions.of(Duration.ofMillis(100), Duration.ofMillis(300)))
        .reconnectBackoff(FAST_BACKOFF)
        .pool(PoolOptions.builder().size(1).build())
        .addListener(listener)
        .build());
    channel.blockingCall(TestService.ECHO, FIVE, TEN_SECONDS);

    proxy.blackHole();
    await().atMost(Duration.ofSeconds(10)).until(() -> listener.events.has("heartbeat"));
    assertThat(listener.events.count("heartbeat")).isEqualTo(1);
  }
}
