package dev.ferry.internal;

/**
 * The clock of {@link FrameDecoder}'s frame read timeout: how much reading time the frame in progress
 * has taken. A frame that starts in a read starts it afresh (the frame before it ended in that read, or
 * none was in progress); a frame still arriving keeps its time from read to read. It stands still while
 * reading is paused: the peer's bytes then wait in the socket through no fault of the peer.
 *
 * <p>Plain state: times are passed in (the event loop's ticker). Event loop only.
 */
final class FrameReadClock {
  private boolean frameInProgress;
  private boolean reading = true;
  private long spentNanos; // reading time of the frame in progress, up to runningSinceNanos
  private long runningSinceNanos; // when the frame started or reading resumed, whichever is later
  private long framesEnded;
  private long framesEndedAtLastRead;

  /** A frame was decoded or skipped whole. */
  void frameEnded() {
    framesEnded++;
  }

  /** After a read that left part of a frame ({@code incomplete}) or none buffered. */
  void afterRead(boolean incomplete, long now) {
    boolean newFrame = !frameInProgress || framesEnded != framesEndedAtLastRead;
    framesEndedAtLastRead = framesEnded;
    if (!incomplete) {
      frameInProgress = false;
    } else if (newFrame) {
      frameInProgress = true;
      spentNanos = 0;
      runningSinceNanos = now;
    }
  }

  /** Reading paused: the clock stops. */
  void pause(long now) {
    if (reading) {
      spentNanos += now - runningSinceNanos;
      reading = false;
    }
  }

  /** Reading resumed: the clock goes on. */
  void resume(long now) {
    if (!reading) {
      runningSinceNanos = now;
      reading = true;
    }
  }

  /** Whether a frame is in progress with reading on: only then can it time out. */
  boolean running() {
    return frameInProgress && reading;
  }

  /** Reading time the frame in progress has taken. */
  long elapsed(long now) {
    return spentNanos + (reading ? now - runningSinceNanos : 0);
  }
}
