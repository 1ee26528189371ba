package dev.ferry.internal;

import static java.util.Objects.requireNonNull;

/**
 * User event fired by {@link HandshakeHandler} once the peer's preface and SETTINGS have arrived: from
 * then on frames of every type may be exchanged.
 *
 * @param remote the settings the peer announced
 */
public record HandshakeCompleted(Settings remote) {
  public HandshakeCompleted {
    requireNonNull(remote, "remote");
  }
}
