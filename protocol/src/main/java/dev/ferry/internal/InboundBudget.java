package dev.ferry.internal;

/**
 * Memory for the frames a connection receives, as {@link FrameDecoder} asks for it: the whole length
 * of a frame is reserved as soon as its 16-byte header has arrived, before any of its payload is
 * buffered, and given back once the frame has been passed on down the pipeline. Reserving whole frames
 * up front means a connection never holds part of a frame it may not finish: connections that each
 * got half a frame cannot deadlock waiting for room to finish it.
 *
 * <p>Implementations are thread-safe: {@link #release} may come from any thread (whoever ends up
 * holding the memory, such as a request waiting for a handler thread).
 */
public interface InboundBudget {
  /**
   * Reserves {@code bytes} for a frame whose header has arrived. Returns false if there is no room now;
   * then {@code onRoom} is run once (on any thread) when there may be, and the decoder stops reading
   * until it has reserved the frame. {@code onRoom} may also run when there is still no room.
   */
  boolean tryReserve(int bytes, Runnable onRoom);

  /** Gives back {@code bytes} reserved with {@link #tryReserve}. */
  void release(int bytes);
}
