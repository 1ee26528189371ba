package dev.ferry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.local.LocalChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WriteQueueTest {
  private static ByteBuf buf(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
  }

  private static List<String> written(EmbeddedChannel ch) {
    List<String> out = new ArrayList<>();
    for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
      out.add(b.toString(StandardCharsets.US_ASCII));
      b.release();
    }
    return out;
  }

  @Test
  void commandsEnqueuedOnTheEventLoopRunInTheNextDrainNotInline() {
    EmbeddedChannel ch = new EmbeddedChannel();
    WriteQueue queue = new WriteQueue(ch);
    List<String> ran = new ArrayList<>();

    queue.enqueue(() -> {
      ran.add("command");
      ch.write(buf("from-command"));
    });

    assertThat(ran).as("not run inline, even on the event loop").isEmpty();
    assertThat(written(ch)).isEmpty();
    ch.runPendingTasks();
    assertThat(ran).containsExactly("command");
    assertThat(written(ch)).as("written and flushed in the same task").containsExactly("from-command");
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void aCommandThatThrowsDoesNotJamTheQueue() {
    EmbeddedChannel ch = new EmbeddedChannel();
    WriteQueue queue = new WriteQueue(ch);

    queue.enqueue(buf("before"));
    queue.enqueue(() -> {
      throw new IllegalStateException("a bug in a command");
    });
    queue.enqueue(buf("after"));
    ch.runPendingTasks();
    assertThat(written(ch)).containsExactly("before", "after");

    // The queue still schedules drains: it did not stay "scheduled" for good.
    queue.enqueue(buf("later"));
    ch.runPendingTasks();
    assertThat(written(ch)).containsExactly("later");
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void whenTheEventLoopIsGoneEverythingQueuedIsReleasedEvenAfterACommandThatThrows() throws Exception {
    EventLoopGroup group = new DefaultEventLoopGroup(1);
    LocalChannel ch = new LocalChannel();
    group.register(ch).sync();
    group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    WriteQueue queue = new WriteQueue(ch);
    ByteBuf first = buf("first");
    ByteBuf last = buf("last");
    ChannelPromise promise = ch.newPromise();
    List<String> ran = new ArrayList<>();

    // Each enqueue finds the loop gone and discards at once, on this thread.
    queue.enqueue(first, promise);
    queue.enqueue(() -> {
      ran.add("throwing");
      throw new IllegalStateException("a bug in a command");
    });
    queue.enqueue(() -> ran.add("next"));
    queue.enqueue(last);

    assertThat(first.refCnt()).isZero();
    assertThat(promise.isDone()).isTrue();
    assertThat(promise.isSuccess()).isFalse();
    assertThat(ran).containsExactly("throwing", "next");
    assertThat(last.refCnt()).isZero();
  }
}
