package dev.ferry.server;

import static dev.ferry.server.EmbeddedConnection.CLOSE;
import static dev.ferry.server.EmbeddedConnection.ECHO;
import static dev.ferry.server.EmbeddedConnection.requestFrame;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server-wide memory budget gets back exactly what a connection's requests and responses took:
 * with handlers on the event loop or on an executor, and when the connection closes in the middle of a
 * read (a handler closes it after an earlier response of the same read was answered) or while answered
 * responses still wait in the write queue (they are then written to a closed channel). On an
 * {@link io.netty.channel.embedded.EmbeddedChannel}.
 */
class ResponseMemoryTest {
  private EmbeddedConnection c;

  @AfterEach
  void close() {
    if (c != null) {
      c.close();
    }
  }

  @Test
  void directResponsesOfOneReadGiveTheirMemoryBackOnceWritten() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults().direct());
    c.sendInOneRead(requestFrame(ECHO, 1, 0), requestFrame(ECHO, 3, 0), requestFrame(ECHO, 5, 0));
    assertThat(c.handled).containsExactly(1, 3, 5);
    assertThat(c.written()).extracting(r -> r[0]).containsExactly(1, 3, 5);
    assertThat(c.calls()).isZero();
    assertThat(c.budget.used()).isZero();
    assertThat(c.memory.inboundHeld()).isZero();
  }

  @Test
  void aConnectionClosedInTheMiddleOfAReadGivesBackTheMemoryOfResponsesItNeverSent() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults().direct());
    // 1 is answered before 3's handler closes the connection; 5 is never acted on.
    c.sendInOneRead(requestFrame(ECHO, 1, 0), requestFrame(CLOSE, 3, 0), requestFrame(ECHO, 5, 0));
    c.ch.runPendingTasks();
    assertThat(c.ch.isActive()).isFalse();
    assertThat(c.handled).containsExactly(1);
    assertThat(c.budget.used()).as("every response's memory given back, once").isZero();
    assertThat(c.memory.inboundHeld()).isZero();
  }

  @Test
  void pooledRequestsHoldTheirMemoryUntilParsedAndResponsesUntilWritten() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults());
    c.sendInOneRead(requestFrame(ECHO, 1, 0), requestFrame(ECHO, 3, 0));
    assertThat(c.memory.inboundHeld()).as("requests waiting for the executor hold their memory").isPositive();
    assertThat(c.budget.used()).isPositive();
    c.runHandlers();
    assertThat(c.written()).extracting(r -> r[0]).containsExactly(1, 3);
    assertThat(c.memory.inboundHeld()).isZero();
    assertThat(c.budget.used()).isZero();
  }

  @Test
  void responsesQueuedWhenTheConnectionClosesGiveTheirMemoryBackOnce() {
    c = new EmbeddedConnection(EmbeddedConnection.Options.defaults());
    c.sendInOneRead(requestFrame(ECHO, 1, 0), requestFrame(ECHO, 3, 0));
    for (Runnable r; (r = c.handlerTasks.poll()) != null; ) {
      r.run(); // answered: the responses wait in the write queue for the event loop
    }
    c.closeAsTheEventLoopWould(); // the queued responses are written after, to a closed channel
    c.ch.runPendingTasks();
    assertThat(c.calls()).isZero();
    assertThat(c.written()).isEmpty();
    assertThat(c.budget.used()).isZero();
    assertThat(c.memory.inboundHeld()).isZero();
  }
}
