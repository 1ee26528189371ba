package dev.ferry.protocol;

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
}
