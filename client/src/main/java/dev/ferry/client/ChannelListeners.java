package dev.ferry.client;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.LogAggregator;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The one {@link ChannelListener} a channel calls: a shared no-op when none was added, so that a
 * channel without listeners runs call sites the JIT removes; otherwise a composite that tells each
 * listener in turn and keeps one listener's exception from reaching Ferry's code or the others.
 */
final class ChannelListeners {
  private static final Logger log = LoggerFactory.getLogger(ChannelListener.class);
  /** A listener that throws on every call must not write a line per call. */
  private static final LogAggregator failures = LogAggregator.create(log, Level.WARN, "channel listener failures");

  /** Calls nothing: the listener of a channel built without any. */
  static final ChannelListener NONE = new ChannelListener() {};

  private ChannelListeners() {}

  /** What a channel built with {@code listeners} calls. */
  static ChannelListener of(List<ChannelListener> listeners) {
    return listeners.isEmpty() ? NONE : new Composite(listeners.toArray(new ChannelListener[0]));
  }

  private static final class Composite implements ChannelListener {
    private final ChannelListener[] listeners;

    Composite(ChannelListener[] listeners) {
      this.listeners = listeners;
    }

    private void each(Consumer<ChannelListener> event) {
      for (ChannelListener l : listeners) {
        try {
          event.accept(l);
        } catch (Throwable t) {
          failed(l, t);
        }
      }
    }

    private static void failed(ChannelListener l, Throwable t) {
      failures.log("Channel listener {} threw; ignored", l.getClass().getName(), t);
    }

    @Override
    public void channelCreated(ChannelStats channel) {
      each(l -> l.channelCreated(channel));
    }

    @Override
    public void channelTerminated(ChannelStats channel) {
      each(l -> l.channelTerminated(channel));
    }

    @Override
    public void stateChanged(ChannelState from, ChannelState to) {
      each(l -> l.stateChanged(from, to));
    }

    @Override
    public void callStarted(MethodDescriptor<?, ?> method) {
      // Per call: plain loops, no capturing lambda.
      for (ChannelListener l : listeners) {
        try {
          l.callStarted(method);
        } catch (Throwable t) {
          failed(l, t);
        }
      }
    }

    @Override
    public void callCompleted(MethodDescriptor<?, ?> method, StatusCode status, long startNanos, long requestBytes,
        long responseBytes) {
      for (ChannelListener l : listeners) {
        try {
          l.callCompleted(method, status, startNanos, requestBytes, responseBytes);
        } catch (Throwable t) {
          failed(l, t);
        }
      }
    }

    @Override
    public void callRetried(MethodDescriptor<?, ?> method) {
      each(l -> l.callRetried(method));
    }

    @Override
    public void streamStalled(MethodDescriptor<?, ?> method) {
      each(l -> l.streamStalled(method));
    }

    @Override
    public void streamStallEnded(MethodDescriptor<?, ?> method, long stalledNanos) {
      each(l -> l.streamStallEnded(method, stalledNanos));
    }

    @Override
    public void reconnecting() {
      each(ChannelListener::reconnecting);
    }

    @Override
    public void goAwayReceived() {
      each(ChannelListener::goAwayReceived);
    }

    @Override
    public void heartbeatTimedOut() {
      each(ChannelListener::heartbeatTimedOut);
    }

    @Override
    public void endpointEjected(Endpoint endpoint, java.time.Duration duration) {
      each(l -> l.endpointEjected(endpoint, duration));
    }
  }
}
