package dev.ferry.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The 8 bytes each side sends first on a connection: magic {@code FE 46 52 59}, a 16-bit protocol
 * version, and 16 reserved bits (PROTOCOL.md, "Connection preface").
 */
public final class Preface {
  /** Magic: 0xFE, then ASCII "FRY". 0xFE starts no text protocol, no UTF-8 text and no TLS record. */
  public static final int MAGIC = 0xFE465259;
  /** The protocol version this implementation speaks. */
  public static final int VERSION = 1;
  /** Size of the preface in bytes. */
  public static final int SIZE = 8;

  private Preface() {}

  /** A buffer holding this side's preface. */
  public static ByteBuf encode(ByteBufAllocator alloc) {
    return alloc.buffer(SIZE).writeInt(MAGIC).writeShort(VERSION).writeShort(0);
  }

  /**
   * Compares the first bytes of {@code in} (not consumed) with the magic: 1 if all four match, -1 as
   * soon as one does not, 0 if those present match but fewer than four have arrived.
   */
  public static int matchMagic(ByteBuf in) {
    int n = Math.min(4, in.readableBytes());
    for (int i = 0; i < n; i++) {
      if (in.getUnsignedByte(in.readerIndex() + i) != ((MAGIC >>> (24 - 8 * i)) & 0xFF)) {
        return -1;
      }
    }
    return n == 4 ? 1 : 0;
  }
}
