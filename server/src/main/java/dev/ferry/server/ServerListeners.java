package dev.ferry.server;

import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.LogAggregator;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The one {@link ServerListener} a server calls: a shared no-op when none was added, so that a server
 * without listeners runs a call site the JIT removes; otherwise a composite that tells each listener in
 * turn and keeps one listener's exception from reaching Ferry's code or the other listeners.
 */
final class ServerListeners {
  private static final Logger log = LoggerFactory.getLogger(ServerListener.class);
  /** A listener that throws on every call must not write a line per call. */
  private static final LogAggregator failures = LogAggregator.create(log, Level.WARN, "server listener failures");

  /** Calls nothing: the listener of a server built without any. */
  static final ServerListener NONE = new ServerListener() {};

  private ServerListeners() {}

  /** What a server built with {@code listeners} calls. */
  static ServerListener of(List<ServerListener> listeners) {
    return listeners.isEmpty() ? NONE : new Composite(listeners.toArray(new ServerListener[0]));
  }

  private static final class Composite implements ServerListener {
    private final ServerListener[] listeners;

    Composite(ServerListener[] listeners) {
      this.listeners = listeners;
    }

    private void each(Consumer<ServerListener> event) {
      for (ServerListener l : listeners) {
        try {
          event.accept(l);
        } catch (Throwable t) {
          failed(l, t);
        }
      }
    }

    private static void failed(ServerListener l, Throwable t) {
      failures.log("Server listener {} threw; ignored", l.getClass().getName(), t);
    }

    @Override
    public void callStarted(MethodDescriptor<?, ?> method) {
      // Per call: plain loops, no capturing lambda.
      for (ServerListener l : listeners) {
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
      for (ServerListener l : listeners) {
        try {
          l.callCompleted(method, status, startNanos, requestBytes, responseBytes);
        } catch (Throwable t) {
          failed(l, t);
        }
      }
    }

    @Override
    public void callRefused(MethodDescriptor<?, ?> method, StatusCode status) {
      each(l -> l.callRefused(method, status));
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
    public void connectionOpened() {
      each(ServerListener::connectionOpened);
    }

    @Override
    public void connectionClosed() {
      each(ServerListener::connectionClosed);
    }

    @Override
    public void goAwaySent() {
      each(ServerListener::goAwaySent);
    }

    @Override
    public void goAwayReceived() {
      each(ServerListener::goAwayReceived);
    }

    @Override
    public void heartbeatTimedOut() {
      each(ServerListener::heartbeatTimedOut);
    }

    @Override
    public void shutdownStarted() {
      each(ServerListener::shutdownStarted);
    }
  }
}
