package dev.ferry.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.StatusCode;
import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.ProtocolException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server's side of streaming calls on one connection and a fake clock: the idle timeout and the
 * deadline of a stream to the millisecond, credit the client may not exceed, and grants only for what
 * the handler consumed.
 */
class ServerStreamTest {
  private final EmbeddedConnection conn = new EmbeddedConnection(EmbeddedConnection.Options.defaults());

  @AfterEach
  void close() {
    conn.close();
  }

  private static int[] response(int id, StatusCode status) {
    return new int[] {id, status.value()};
  }

  @Test
  void theIdleTimeoutCountsFromTheLastMessageReceived() {
    conn.handshake(1000);
    conn.streamRequest(EmbeddedConnection.SINK, 1, 0, 300_000);
    conn.runHandlers();
    conn.passTime(200, TimeUnit.MILLISECONDS);
    conn.streamMessage(1, 10);
    conn.passTime(299, TimeUnit.MILLISECONDS);
    assertThat(conn.written()).as("299 ms since the last message").isEmpty();
    conn.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(conn.written()).containsExactly(response(1, StatusCode.DEADLINE_EXCEEDED));
    assertThat(conn.contexts.get(0).isCancelled()).isTrue();
  }

  @Test
  void aSilentServerStreamEndsAtItsIdleTimeout() {
    conn.handshake(1000);
    conn.streamRequest(EmbeddedConnection.SILENT, 1, 0, 500_000);
    conn.runHandlers();
    conn.passTime(499, TimeUnit.MILLISECONDS);
    assertThat(conn.written()).isEmpty();
    conn.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(conn.written()).containsExactly(response(1, StatusCode.DEADLINE_EXCEEDED));
  }

  @Test
  void aServerWithoutListenersTimesNoStalls() {
    conn.handshake(1000);
    conn.streamRequest(EmbeddedConnection.SILENT, 1, 0, 0);
    conn.runHandlers();
    assertThat(conn.contexts).hasSize(1);
    // Built with ServerListeners.NONE: the response stream has no stall clock, so a stall costs nothing.
    assertThat(((ServerStreamCall<?, ?>) conn.contexts.get(0)).responses().tracksStalls()).isFalse();
  }

  @Test
  void theDeadlineCoversTheWholeStreamWhateverItCarries() {
    conn.handshake(1000);
    conn.streamRequest(EmbeddedConnection.SINK, 1, 1_000_000, 0);
    conn.runHandlers();
    for (int i = 0; i < 9; i++) {
      conn.passTime(100, TimeUnit.MILLISECONDS);
      conn.streamMessage(1, 10);
    }
    conn.passTime(99, TimeUnit.MILLISECONDS);
    assertThat(conn.written()).isEmpty();
    conn.passTime(1, TimeUnit.MILLISECONDS);
    assertThat(conn.written()).containsExactly(response(1, StatusCode.DEADLINE_EXCEEDED));
  }

  @Test
  void aClientPastItsCreditIsAFlowControlErrorAndNothingIsGrantedForUnreadMessages() {
    conn.handshake(1000);
    conn.streamRequest(EmbeddedConnection.SINK, 1, 0, 0);
    conn.runHandlers();
    // The window is EmbeddedConnection.STREAM_WINDOW = 1000 bytes; each frame costs 16 + 403 = 419.
    conn.streamMessage(1, 400);
    conn.streamMessage(1, 400);
    conn.streamMessage(1, 400); // credit 162 before it: allowed, now -257
    assertThat(conn.written()).as("the handler read nothing: no WINDOW_UPDATE").isEmpty();
    assertThatThrownBy(() -> conn.streamMessage(1, 1)).isInstanceOfSatisfying(ProtocolException.class,
        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR));
  }

  @Test
  void withoutNegotiationAStreamingMethodIsUnimplementedAndAStreamFrameAProtocolError() {
    conn.handshake(0);
    conn.streamRequest(EmbeddedConnection.SINK, 1, 0, 0);
    conn.runHandlers();
    List<int[]> written = conn.written();
    assertThat(written).containsExactly(response(1, StatusCode.UNIMPLEMENTED));
    assertThat(conn.contexts).as("no handler ran").isEmpty();
    assertThatThrownBy(() -> conn.streamMessage(1, 1)).isInstanceOfSatisfying(ProtocolException.class,
        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR));
  }

  @Test
  void aStreamFrameForAUnaryCallIsAProtocolError() {
    conn.handshake(1000);
    conn.request(EmbeddedConnection.HANG, 1, 0);
    conn.runHandlers();
    assertThatThrownBy(() -> conn.streamMessage(1, 1)).isInstanceOfSatisfying(ProtocolException.class,
        e -> assertThat(e).hasMessageContaining("unary"));
  }
}
