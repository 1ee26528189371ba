package dev.ferry.sim;

import dev.ferry.internal.Frame;
import dev.ferry.internal.Preface;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import java.net.ConnectException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A network in memory, for the deterministic simulation: every connection is a pair of
 * {@link EmbeddedChannel}s (the client's end and the server's), whose bytes travel only when the
 * simulation moves them, in chunks it chooses, through pipes it can black-hole, reset or corrupt. All
 * channels share one fake clock and run on the caller's thread, so a seed replays exactly.
 *
 * <p>Every buffer the channels allocate comes from one {@link Tracked allocator} that remembers it, so
 * the simulation checks, exactly and at once, that each was released.
 */
final class SimNetwork {
  private final MockTicker ticker;
  private final Random random;
  private final Consumer<String> trace;
  final Tracked alloc = new Tracked();
  private final Map<String, Listening> listening = new LinkedHashMap<>();
  private final List<EmbeddedChannel> channels = new ArrayList<>();
  final List<Link> links = new ArrayList<>();
  private int linkIds;

  SimNetwork(MockTicker ticker, Random random, Consumer<String> trace) {
    this.ticker = ticker;
    this.random = random;
    this.trace = trace;
  }

  /** A channel on the simulation's clock and allocator, its pipeline built by {@code handler}. */
  EmbeddedChannel newChannel(ChannelHandler handler, Channel parent) {
    EmbeddedChannel.Builder b = EmbeddedChannel.builder().ticker(ticker).register(false);
    if (parent != null) {
      b.parent(parent);
    }
    if (handler != null) {
      b.handlers(handler);
    }
    EmbeddedChannel ch = b.build();
    ch.config().setAllocator(alloc);
    try {
      ch.register();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    channels.add(ch);
    return ch;
  }

  /** A server listening on {@code address} (see {@link SimListener}). */
  SimListener listenerFor(String address) {
    return childInitializer -> {
      EmbeddedChannel listener = newChannel(null, null);
      Listening l = new Listening(childInitializer, listener);
      listening.put(address, l);
      listener.closeFuture().addListener(f -> listening.remove(address, l));
      trace.accept("listen " + address);
      return listener;
    };
  }

  /** Whether a server listens on {@code address}. */
  boolean isListening(String address) {
    return listening.containsKey(address);
  }

  /** The client side of the network (see {@link SimConnector}). */
  SimConnector connector() {
    return (initializer, host, port) -> {
      String address = host + ":" + port;
      Listening l = listening.get(address);
      if (l == null) {
        trace.accept("refused " + address);
        EmbeddedChannel refused = newChannel(null, null);
        refused.close();
        return refused.newFailedFuture(new ConnectException("connection refused"));
      }
      EmbeddedChannel client = newChannel(initializer, null);
      EmbeddedChannel server = newChannel(l.childInitializer, l.listener);
      Link link = new Link(++linkIds, address, client, server);
      links.add(link);
      trace.accept("connect " + link);
      return client.newSucceededFuture();
    };
  }

  /**
   * Runs every task that is due on every channel's event loop, until none is left (bounded), and
   * returns the exceptions tasks threw (each a bug: a real event loop would log it and go on).
   */
  List<Throwable> runTasks() {
    List<Throwable> errors = new ArrayList<>();
    for (int round = 0; round < 1_000; round++) {
      boolean ran = false;
      for (int i = 0; i < channels.size(); i++) { // tasks may open channels: no iterator
        EmbeddedChannel ch = channels.get(i);
        if (ch.hasPendingTasks()) {
          ran = true;
          ch.runPendingTasks();
        }
        try {
          ch.checkException();
        } catch (Throwable t) {
          errors.add(t);
        }
      }
      collect();
      if (!ran) {
        return errors;
      }
    }
    errors.add(new AssertionError("tasks still pending after 1,000 rounds: a task that keeps rescheduling itself"));
    return errors;
  }

  /** Whether any channel has a task to run now. */
  boolean anyTasks() {
    for (EmbeddedChannel ch : channels) {
      if (ch.hasPendingTasks()) {
        return true;
      }
    }
    return false;
  }

  /** Moves what the channels wrote into their pipes, and closes what closed. */
  void collect() {
    for (Link link : links) {
      link.up.collect();
      link.down.collect();
    }
  }

  /**
   * Delivers, on each open link, a chunk of random size in each direction (or everything, with
   * {@code all}), closing a receiving end whose peer closed once all it sent has arrived.
   */
  void deliver(boolean all) {
    for (int i = 0; i < links.size(); i++) {
      Link link = links.get(i);
      link.up.deliver(all);
      link.down.deliver(all);
    }
    links.removeIf(link -> {
      if (!link.finished()) {
        return false;
      }
      link.up.release();
      link.down.release();
      return true;
    });
  }

  /** Links still carrying something (open at either end, or bytes in flight). */
  List<Link> liveLinks() {
    List<Link> live = new ArrayList<>();
    for (Link l : links) {
      if (!l.finished()) {
        live.add(l);
      }
    }
    return live;
  }

  /** Every channel ever made (for the final checks). */
  List<EmbeddedChannel> channels() {
    return channels;
  }

  /** A server's listening end and what builds its connections. */
  private record Listening(ChannelHandler childInitializer, EmbeddedChannel listener) {}

  /** One connection: a client end, a server end, and a pipe each way. */
  final class Link {
    final int id;
    final String address;
    final EmbeddedChannel client;
    final EmbeddedChannel server;
    final Pipe up;
    final Pipe down;

    Link(int id, String address, EmbeddedChannel client, EmbeddedChannel server) {
      this.id = id;
      this.address = address;
      this.client = client;
      this.server = server;
      this.up = new Pipe(this + " up", client, server);
      this.down = new Pipe(this + " down", server, client);
    }

    /** A reset: both ends close at once, and what was in flight is lost. */
    void reset() {
      trace.accept("reset " + this);
      up.drop();
      down.drop();
      client.close();
      server.close();
    }

    boolean finished() {
      return !client.isOpen() && !server.isOpen() && up.isEmpty() && down.isEmpty();
    }

    @Override
    public String toString() {
      return "link" + id + "(" + address + ")";
    }
  }

  /**
   * Bytes one end wrote that the other has not read yet. A black hole (a pulled cable, a dead route)
   * keeps them and the close behind them from arriving, and so does a stall (a peer that stops reading):
   * TCP loses no byte of a connection that lives on, so once either ends they arrive; data is lost only
   * with the connection itself (a reset, or a receiver that is gone). A corruption puts a frame the
   * receiver must reject right after a frame boundary, so that it may arrive in the same read as that
   * frame.
   */
  final class Pipe {
    private final String name;
    private final EmbeddedChannel from;
    private final EmbeddedChannel to;
    private final ByteBuf pending;
    /** Stream offsets: of the first byte in {@code pending}, and of the end of what was collected. */
    private long consumed;
    private long collected;
    /** Stream offsets where a frame ends (and the next begins), still in {@code pending}. */
    private final ArrayDeque<Long> boundaries = new ArrayDeque<>();
    // What the frame scanner is in the middle of: bytes of the preface or a frame left to skip, or the
    // bytes of a frame's length field read so far.
    private long skip = Preface.SIZE;
    private int lengthBytes;
    private long length;
    private boolean corrupted;
    private boolean fromClosed;
    boolean blackHole;
    boolean stalled;

    Pipe(String name, EmbeddedChannel from, EmbeddedChannel to) {
      this.name = name;
      this.from = from;
      this.to = to;
      this.pending = alloc.heapBuffer(1024);
    }

    void collect() {
      for (Object o; (o = from.readOutbound()) != null; ) {
        ByteBuf b = (ByteBuf) o;
        try {
          scan(b);
          collected += b.readableBytes();
          pending.writeBytes(b);
        } finally {
          b.release();
        }
      }
      if (!from.isOpen() && !fromClosed) {
        fromClosed = true;
      }
    }

    /** Follows the frames in {@code b} (the bytes after {@code collected}), noting where each ends. */
    private void scan(ByteBuf b) {
      if (corrupted) {
        return;
      }
      long at = collected;
      int i = b.readerIndex();
      int end = b.writerIndex();
      while (i < end) {
        if (skip > 0) {
          int n = (int) Math.min(skip, end - i);
          i += n;
          at += n;
          skip -= n;
          if (skip == 0 && lengthBytes == 0) {
            boundaries.add(at);
          }
          continue;
        }
        length = (length << 8) | b.getUnsignedByte(i++);
        at++;
        if (++lengthBytes == 4) {
          skip = length - 4;
          lengthBytes = 0;
          length = 0;
          if (skip <= 0) {
            corrupted = true; // not Ferry framing: stop following it
            return;
          }
        }
      }
    }

    void deliver(boolean all) {
      if (pending.isReadable() && !stalled && !blackHole && to.isOpen() && to.config().isAutoRead()) {
        int n = all ? pending.readableBytes() : 1 + random.nextInt(pending.readableBytes());
        ByteBuf chunk = alloc.heapBuffer(n);
        chunk.writeBytes(pending, n);
        consumed += n;
        pending.discardReadBytes();
        while (!boundaries.isEmpty() && boundaries.peekFirst() <= consumed) {
          boundaries.pollFirst();
        }
        to.writeInbound(chunk);
      }
      if (fromClosed && !pending.isReadable() && to.isOpen() && !blackHole) {
        trace.accept("fin " + name);
        to.close();
      }
      if (!to.isOpen() && pending.isReadable()) {
        drop(); // nobody left to read it
      }
    }

    /**
     * Puts a SETTINGS frame (a second one: a protocol violation) right after a whole frame waiting here,
     * if there is one, so that a chunk may carry both. Returns whether it did.
     */
    boolean corrupt() {
      if (corrupted || blackHole || boundaries.isEmpty()) {
        return false;
      }
      long at = boundaries.peekLast();
      int offset = (int) (at - consumed);
      int tail = pending.readableBytes() - offset;
      ByteBuf rest = alloc.heapBuffer(Math.max(1, tail));
      pending.getBytes(pending.readerIndex() + offset, rest, tail);
      pending.writerIndex(pending.readerIndex() + offset);
      // A SETTINGS frame with no settings: 16 bytes, type 0x01, no flags, request id 0.
      pending.writeInt(Frame.HEADER_SIZE).writeByte(0x01).writeByte(0).writeShort(0).writeInt(0).writeInt(0);
      pending.writeBytes(rest);
      rest.release();
      corrupted = true;
      boundaries.clear();
      trace.accept("corrupt " + name + " at " + at);
      return true;
    }

    void drop() {
      boundaries.clear();
      corrupted = true;
      consumed += pending.readableBytes();
      pending.clear();
    }

    boolean isEmpty() {
      return !pending.isReadable();
    }

    /** Gives back the pipe's own buffer (at the end of a run). */
    void release() {
      if (pending.refCnt() > 0) {
        pending.release();
      }
    }
  }

  /**
   * Allocates unpooled heap buffers (no leak detector: this is exact) and remembers each, so that the
   * simulation can check that every buffer was released.
   */
  static final class Tracked extends AbstractByteBufAllocator {
    private final UnpooledByteBufAllocator delegate = new UnpooledByteBufAllocator(false, true);
    private final List<ByteBuf> allocated = new ArrayList<>();

    Tracked() {
      super(false);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = delegate.heapBuffer(initialCapacity, maxCapacity);
      allocated.add(b);
      return b;
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      return newHeapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }

    /** Buffers still referenced. */
    List<ByteBuf> unreleased() {
      List<ByteBuf> left = new ArrayList<>();
      for (ByteBuf b : allocated) {
        if (b.refCnt() > 0) {
          left.add(b);
        }
      }
      return left;
    }

    void releaseAll() {
      for (ByteBuf b : allocated) {
        if (b.refCnt() > 0) {
          b.release(b.refCnt());
        }
      }
    }
  }
}
