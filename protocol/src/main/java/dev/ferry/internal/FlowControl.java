package dev.ferry.internal;

/**
 * The rules of per-stream flow control (PROTOCOL.md 7.12.4): what a STREAM_MESSAGE costs, when it is
 * over its sender's credit, how far a WINDOW_UPDATE may raise credit, and when a receiver grants what
 * its application consumed. Stateless, apart from the streams that apply them; any thread.
 *
 * <p>Credit is counted in bytes, per stream and per direction. A sender may send a message while its
 * credit is above 0, even one larger than what is left: the credit then goes below 0 until enough is
 * granted. So a receiver holds at most its window plus one frame per stream, and a message larger than
 * the window still goes through.
 */
public final class FlowControl {
  /** The most credit a stream may have: 2^31-1 bytes. */
  public static final long MAX_CREDIT = Integer.MAX_VALUE;

  private FlowControl() {}

  /** What a STREAM_MESSAGE costs its sender: its whole length, header included; nothing with NO_MESSAGE. */
  public static int cost(Frame frame) {
    return frame.hasMessage() ? frame.frameLength() : 0;
  }

  /** What sending a message of {@code messageSize} bytes costs. */
  public static int cost(int messageSize) {
    return Frame.HEADER_SIZE + messageSize;
  }

  /**
   * The sender's credit after a STREAM_MESSAGE costing {@code cost} arrived when it had {@code credit}.
   *
   * @throws ProtocolException FLOW_CONTROL_ERROR if it cost something and the sender had no credit left
   */
  public static long afterReceiving(long credit, int cost, int requestId) {
    if (cost > 0 && credit <= 0) {
      throw new ProtocolException(ErrorCode.FLOW_CONTROL_ERROR, "STREAM_MESSAGE of " + cost + " bytes on stream "
          + requestId + " sent with no credit left (" + credit + " bytes)");
    }
    return credit - cost;
  }

  /**
   * The credit after a WINDOW_UPDATE of {@code increment} bytes.
   *
   * @throws ProtocolException FLOW_CONTROL_ERROR if it would exceed {@link #MAX_CREDIT}
   */
  public static long afterGrant(long credit, long increment, int requestId) {
    long after = credit + increment;
    if (after > MAX_CREDIT) {
      throw new ProtocolException(ErrorCode.FLOW_CONTROL_ERROR, "WINDOW_UPDATE of " + increment + " bytes on stream "
          + requestId + " raises its credit to " + after + " (expected: at most " + MAX_CREDIT + ")");
    }
    return after;
  }

  /**
   * Whether a receiver whose application has consumed {@code ungranted} bytes it has not yet given back
   * should grant them now: once they reach half the window. Then a sender never waits for credit while
   * the receiver has consumed everything it was sent (its credit is then above half the window), and a
   * fast reader costs one WINDOW_UPDATE per half window, not one per message.
   */
  public static boolean shouldGrant(long ungranted, int window) {
    return ungranted > 0 && ungranted >= Math.max(1, window / 2);
  }
}
