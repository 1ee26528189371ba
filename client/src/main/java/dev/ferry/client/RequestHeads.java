package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.RequestHead;
import dev.ferry.internal.Settings;
import io.netty.util.concurrent.Ticker;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Makes a call's REQUEST call header for one connection: the time left before its deadline, its
 * metadata, and its method name (encoded once per method, not once per call), checked against the
 * limits the server announced. A call that cannot be sent (deadline already gone, header or frame
 * over the server's limits) is failed here, with a message that says which limit.
 *
 * <p>Threads: the connection's event loop only (one instance per connection).
 */
final class RequestHeads {
  private final Ticker ticker;
  private final Map<MethodDescriptor<?, ?>, MethodHeads> methods = new IdentityHashMap<>();

  RequestHeads(Ticker ticker) {
    this.ticker = requireNonNull(ticker, "ticker");
  }

  /** {@code call}'s header, or null after failing the call because it cannot be sent to {@code server}. */
  RequestHead headOf(ClientCall<?, ?> call, Settings server) {
    long timeoutMicros = 0;
    if (call.hasDeadline()) {
      long remaining = call.deadlineNanos() - ticker.nanoTime();
      if (remaining <= 0) {
        call.expire();
        return null;
      }
      timeoutMicros = Math.max(1, TimeUnit.NANOSECONDS.toMicros(remaining));
    }
    MethodHeads method = methodHeads(call.method());
    RequestHead header;
    if (call.stream != null) {
      header = new RequestHead(method.name, timeoutMicros, call.metadata(), call.stream.idleTimeoutMicros());
    } else if (timeoutMicros == 0 && call.metadata().isEmpty()) {
      header = method.plain; // the same bytes for every such call: one immutable header serves them all
    } else {
      header = new RequestHead(method.name, timeoutMicros, call.metadata());
    }
    int headerSize = header.serializedSize();
    long frameSize = (long) Frame.HEADER_SIZE + headerSize + call.request().getSerializedSize();
    if (headerSize > server.maxMetadataSize()) {
      call.fail(StatusCode.RESOURCE_EXHAUSTED, "request header of " + headerSize
          + " bytes (method name and metadata) exceeds the server's MAX_METADATA_SIZE of "
          + server.maxMetadataSize() + " bytes", null);
      return null;
    }
    if (frameSize > server.maxFrameSize()) {
      call.fail(StatusCode.RESOURCE_EXHAUSTED, "request frame of " + frameSize
          + " bytes exceeds the server's MAX_FRAME_SIZE of " + server.maxFrameSize() + " bytes", null);
      return null;
    }
    return header;
  }

  private MethodHeads methodHeads(MethodDescriptor<?, ?> method) {
    MethodHeads heads = methods.get(method);
    if (heads == null) {
      heads = new MethodHeads(RequestHead.methodBytes(method.fullName()));
      methods.put(method, heads);
    }
    return heads;
  }

  /** A method's name in UTF-8, and the header of its unary calls without deadline or metadata. */
  private static final class MethodHeads {
    final byte[] name;
    final RequestHead plain;

    MethodHeads(byte[] name) {
      this.name = name;
      this.plain = new RequestHead(name, 0, Metadata.EMPTY);
    }
  }
}
