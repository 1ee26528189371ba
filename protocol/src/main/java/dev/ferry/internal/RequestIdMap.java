package dev.ferry.internal;

import io.netty.util.collection.IntObjectHashMap;
import java.util.Collection;

/**
 * Calls in flight on one connection, by request id. Not thread-safe: one connection's event loop owns
 * it.
 *
 * <p>Request ids are consecutive, and an open-addressing map indexed by the raw id keeps the calls in
 * flight in one contiguous run of slots, where every removal has to shift the rest of the run: with
 * 128 calls in flight that cost more than the rest of a call's bookkeeping together. Keys are therefore
 * scrambled by a bijection (multiply by an odd constant, then xor-shift) before they reach the map,
 * which spreads consecutive ids over the table.
 *
 * @param <V> the call type
 */
public final class RequestIdMap<V> {
  private final IntObjectHashMap<V> map = new IntObjectHashMap<>();

  private static int scramble(int id) {
    int h = id * 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  public V get(int id) {
    return map.get(scramble(id));
  }

  public V put(int id, V value) {
    return map.put(scramble(id), value);
  }

  public V remove(int id) {
    return map.remove(scramble(id));
  }

  public boolean containsKey(int id) {
    return map.containsKey(scramble(id));
  }

  public int size() {
    return map.size();
  }

  public boolean isEmpty() {
    return map.isEmpty();
  }

  /** A live view of the values, in no particular order. */
  public Collection<V> values() {
    return map.values();
  }

  public void clear() {
    map.clear();
  }
}
