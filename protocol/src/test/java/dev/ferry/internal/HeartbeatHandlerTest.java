package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Heartbeat rules on an EmbeddedChannel with a controlled clock. */
class HeartbeatHandlerTest {
  private final List<Object> events = new ArrayList<>();
  private final List<Throwable> errors = new ArrayList<>();

  private EmbeddedChannel channel(HeartbeatHandler heartbeat, Settings remote) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.freezeTime();
    ch.pipeline().addLast(heartbeat, new ChannelInboundHandlerAdapter() {
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        events.add(evt);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        errors.add(cause);
      }
    });
    ch.pipeline().fireUserEventTriggered(new HandshakeCompleted(remote));
    return ch;
  }

  private static List<Frame> written(EmbeddedChannel ch) {
    List<Frame> frames = new ArrayList<>();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      frames.add((Frame) o);
    }
    return frames;
  }

  private static void tick(EmbeddedChannel ch, long millis) {
    ch.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
  }

  @Test
  void quietConnectionPingsOncePerIntervalAndSurvivesWhileThePeerAnswers() {
    HeartbeatHandler hb = new HeartbeatHandler(1_000, 3_000, 0);
    EmbeddedChannel ch = channel(hb, Settings.DEFAULTS);
    for (int second = 1; second <= 10; second++) {
      tick(ch, 1_000);
      List<Frame> out = written(ch);
      assertThat(out).as("second %d", second).singleElement()
          .satisfies(f -> assertThat(f.type()).isEqualTo(FrameType.PING));
      // The peer answers: that read is liveness.
      ch.writeInbound(Frame.pong(UnpooledByteBufAllocator.DEFAULT, out.get(0).pingData()));
      out.forEach(Frame::release);
    }
    assertThat(hb.pingsSent()).isEqualTo(10);
    assertThat(hb.pongsReceived()).isEqualTo(10);
    assertThat(errors).isEmpty();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void busyConnectionSendsNoPings() {
    HeartbeatHandler hb = new HeartbeatHandler(1_000, 3_000, 0);
    EmbeddedChannel ch = channel(hb, Settings.DEFAULTS);
    for (int i = 0; i < 50; i++) {
      tick(ch, 200);
      ch.writeAndFlush(Frame.cancel(i + 1)); // application traffic every 200 ms
      ch.writeInbound(Frame.cancel(i + 1));
      ((Frame) ch.readInbound()).release();
    }
    List<Frame> out = written(ch);
    assertThat(out).hasSize(50).allSatisfy(f -> assertThat(f.type()).isEqualTo(FrameType.CANCEL));
    out.forEach(Frame::release);
    assertThat(hb.pingsSent()).isZero();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void silentPeerIsDeclaredDeadAtTheTimeoutNotBefore() {
    HeartbeatHandler hb = new HeartbeatHandler(1_000, 3_000, 0);
    EmbeddedChannel ch = channel(hb, Settings.DEFAULTS);
    for (int i = 0; i < 29; i++) {
      tick(ch, 100);
    }
    assertThat(errors).isEmpty();
    assertThat(hb.pingsSent()).as("writer-idle PINGs at 1 s and 2 s").isEqualTo(2);
    tick(ch, 200);
    assertThat(errors).singleElement().isInstanceOfSatisfying(HeartbeatTimeoutException.class,
        e -> assertThat(e.silentMillis()).isEqualTo(3_000));
    written(ch).forEach(Frame::release);
    ch.finishAndReleaseAll();
  }

  @Test
  void adoptsThePeersMinimumPingInterval() {
    HeartbeatHandler hb = new HeartbeatHandler(1_000, 30_000, 0);
    EmbeddedChannel ch = channel(hb, Settings.builder().minPingIntervalMillis(5_000).build());
    assertThat(hb.effectiveIntervalMillis()).isEqualTo(5_000);
    tick(ch, 4_900);
    assertThat(written(ch)).isEmpty();
    tick(ch, 200);
    List<Frame> out = written(ch);
    assertThat(out).hasSize(1);
    out.forEach(Frame::release);
    ch.finishAndReleaseAll();
  }

  @Test
  void answersPingWithPongAndFlagsAPeerThatPingsTooOften() {
    HeartbeatHandler hb = new HeartbeatHandler(0, 0, 10_000);
    EmbeddedChannel ch = channel(hb, Settings.DEFAULTS);
    for (int i = 0; i < 4; i++) {
      tick(ch, 1_000);
      ch.writeInbound(Frame.ping(UnpooledByteBufAllocator.DEFAULT, 1000 + i));
    }
    List<Frame> out = written(ch);
    assertThat(out).extracting(Frame::pingData).containsExactly(1000L, 1001L, 1002L, 1003L);
    assertThat(out).allSatisfy(f -> assertThat(f.type()).isEqualTo(FrameType.PONG));
    out.forEach(Frame::release);
    assertThat(events).contains(TooManyPingsEvent.INSTANCE);
    ch.finishAndReleaseAll();
  }

  @Test
  void respectfulPeerIsNotFlagged() {
    HeartbeatHandler hb = new HeartbeatHandler(0, 0, 1_000);
    EmbeddedChannel ch = channel(hb, Settings.DEFAULTS);
    for (int i = 0; i < 10; i++) {
      tick(ch, 1_000);
      ch.writeInbound(Frame.ping(UnpooledByteBufAllocator.DEFAULT, i));
    }
    written(ch).forEach(Frame::release);
    assertThat(events).doesNotContain(TooManyPingsEvent.INSTANCE);
    ch.finishAndReleaseAll();
  }


  @Test
  void timeoutGrowsWithTheAdaptedIntervalAndVanishesWhenNobodyPings() {
    HeartbeatHandler adapted = new HeartbeatHandler(200, 600, 0);
    EmbeddedChannel a = channel(adapted, Settings.builder().minPingIntervalMillis(5_000).build());
    assertThat(adapted.effectiveIntervalMillis()).isEqualTo(5_000);
    assertThat(adapted.effectiveTimeoutMillis()).as("two adapted intervals").isEqualTo(10_000);
    a.finishAndReleaseAll();

    HeartbeatHandler peerPings = new HeartbeatHandler(0, 600, 0);
    EmbeddedChannel b = channel(peerPings, Settings.builder().heartbeatIntervalMillis(100).build());
    assertThat(peerPings.effectiveTimeoutMillis()).as("the peer's PINGs bound the silence").isEqualTo(600);
    b.finishAndReleaseAll();

    HeartbeatHandler nobody = new HeartbeatHandler(0, 600, 0);
    EmbeddedChannel c = channel(nobody, Settings.DEFAULTS);
    assertThat(nobody.effectiveTimeoutMillis()).isZero();
    tick(c, 10_000);
    assertThat(errors).as("an idle connection without heartbeats is not declared dead").isEmpty();
    c.finishAndReleaseAll();
  }
}
