package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.MessageLite;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The base of generated client stubs: the channel and the per-call options, immutable, with the
 * {@code with...} methods that return a configured copy. Generated stubs add one blocking and one
 * asynchronous method per rpc, built on {@link #blockingCall} and {@link #asyncCall}.
 *
 * <pre>{@code
 * GreeterFerryStub stub = GreeterFerryStub.create(channel)
 *     .withTimeout(Duration.ofSeconds(2))
 *     .withMetadata(Metadata.of("x-request-id", "42"));
 * }</pre>
 *
 * <p>The trailing metadata a server sends with a response (its handler's {@code addTrailer}) comes
 * with {@link #exchange} and {@link #exchangeAsync}, which call an rpc named by its descriptor (the
 * constants of the generated {@code ...Ferry} class) with this stub's options:
 *
 * <pre>{@code
 * Response<HelloReply> response = stub.exchange(GreeterFerry.SAY_HELLO, request);
 * String cost = response.trailers().get("x-cost");
 * }</pre>
 *
 * (A failed call's trailers are in its {@link dev.ferry.FerryException#trailers()}.) Ferry responses
 * carry no leading headers: everything a server sends besides the message is in the trailers.
 *
 * <p>Thread-safe: a stub is immutable, and its methods may be called from any thread except, for the
 * blocking ones, the channel's event loop.
 *
 * @param <S> the concrete stub type
 */
public abstract class AbstractStub<S extends AbstractStub<S>> {
  /** A stub's channel and call options. Immutable. */
  public static final class Options {
    private final FerryChannel channel;
    private final Duration timeout; // null = none
    private final Metadata metadata;
    private final boolean waitForReady;
    private final CallOptions fixed; // null = built per call from the fields above

    private Options(FerryChannel channel, Duration timeout, Metadata metadata, boolean waitForReady,
        CallOptions fixed) {
      this.channel = channel;
      this.timeout = timeout;
      this.metadata = metadata;
      this.waitForReady = waitForReady;
      this.fixed = fixed;
    }

    /** Calls through {@code channel}: no timeout, no metadata. */
    public static Options of(FerryChannel channel) {
      return new Options(requireNonNull(channel, "channel"), null, Metadata.EMPTY, false, null);
    }
  }

  private final Options options;

  protected AbstractStub(Options options) {
    this.options = requireNonNull(options, "options");
  }

  /** A stub of the concrete type with {@code options}: generated stubs call their constructor. */
  protected abstract S newStub(Options options);

  /** The channel this stub calls through. */
  public final FerryChannel channel() {
    return options.channel;
  }

  /** This stub with every call getting {@code timeout}, counted from the call's start. */
  public final S withTimeout(Duration timeout) {
    CallOptions.builder().timeout(timeout); // validates: positive
    return newStub(new Options(options.channel, timeout, options.metadata, options.waitForReady, null));
  }

  /**
   * This stub with {@code metadata} added to what every call sends. It merges: a key {@code metadata}
   * has replaces that key's entries from before, other keys stay. So
   * {@code stub.withMetadata(Metadata.of("tenant", "acme")).withMetadata(Metadata.of("x-request-id", "42"))}
   * sends both entries, and a second {@code withMetadata(Metadata.of("tenant", "other"))} sends
   * {@code tenant: other} only. To send several values for one key, put them in one {@link Metadata}.
   *
   * <p>To replace everything sent before, start again from a stub without metadata (the generated
   * {@code create(channel)}), or give complete options with {@link #withOptions}.
   */
  public final S withMetadata(Metadata metadata) {
    requireNonNull(metadata, "metadata");
    if (options.fixed != null) {
      CallOptions merged = options.fixed.toBuilder().metadata(merge(options.fixed.metadata(), metadata)).build();
      return newStub(new Options(options.channel, null, merged.metadata(), merged.waitForReady(), merged));
    }
    return newStub(new Options(options.channel, options.timeout, merge(options.metadata, metadata),
        options.waitForReady, null));
  }

  /** {@code base} with {@code added}'s entries, which replace base's entries for the same keys. */
  private static Metadata merge(Metadata base, Metadata added) {
    if (base.isEmpty()) {
      return added;
    }
    if (added.isEmpty()) {
      return base;
    }
    Metadata.Builder merged = Metadata.builder();
    for (java.util.Map.Entry<String, String> e : base.entries()) {
      if (added.get(e.getKey()) == null) {
        merged.add(e.getKey(), e.getValue());
      }
    }
    return merged.addAll(added).build();
  }

  /** This stub with calls that wait for a connection instead of failing fast while none is ready. */
  public final S withWaitForReady(boolean waitForReady) {
    return newStub(new Options(options.channel, options.timeout, options.metadata, waitForReady, null));
  }

  /**
   * This stub with exactly {@code callOptions} for every call (an absolute deadline is shared by all):
   * they replace the timeout, metadata and wait-for-ready set before.
   */
  public final S withOptions(CallOptions callOptions) {
    requireNonNull(callOptions, "callOptions");
    return newStub(new Options(options.channel, null, callOptions.metadata(), callOptions.waitForReady(),
        callOptions));
  }

  /** The options of one call: a timeout is counted from now. */
  private CallOptions callOptions() {
    if (options.fixed != null) {
      return options.fixed;
    }
    if (options.timeout == null && options.metadata.isEmpty() && !options.waitForReady) {
      return CallOptions.DEFAULT;
    }
    CallOptions.Builder b = CallOptions.builder().metadata(options.metadata).waitForReady(options.waitForReady);
    if (options.timeout != null) {
      b.timeout(options.timeout);
    }
    return b.build();
  }

  /** Calls {@code method} and waits: see {@link FerryChannel#blockingCall}. */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> RespT blockingCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return options.channel.blockingCall(method, request, callOptions());
  }

  /** Calls {@code method}: see {@link FerryChannel#call}. */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<RespT> asyncCall(
      MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return options.channel.call(method, request, callOptions());
  }

  /**
   * Calls {@code method} (one of this service's descriptors, such as {@code GreeterFerry.SAY_HELLO})
   * with this stub's options and waits for the response and its trailing metadata. Failures are thrown
   * as by the blocking rpc methods: see {@link FerryChannel#blockingExchange}.
   */
  public final <ReqT extends MessageLite, RespT extends MessageLite> Response<RespT> exchange(
      MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return options.channel.blockingExchange(method, request, callOptions());
  }

  /**
   * Calls {@code method} with this stub's options; the future yields the response and its trailing
   * metadata, and completes on a Ferry event-loop thread: see {@link FerryChannel#exchange}.
   */
  public final <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>>
      exchangeAsync(MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return options.channel.exchange(method, request, callOptions());
  }
  /** Starts a server-streaming call of {@code method}: see {@link FerryChannel#serverStream}. */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> dev.ferry.StreamReader<RespT>
      serverStreamCall(MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return options.channel.serverStream(method, request, callOptions());
  }

  /** A server-streaming call of {@code method} per subscription: see {@link FerryChannel#serverStreamPublisher}. */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> java.util.concurrent.Flow.Publisher<RespT>
      serverStreamPublisher(MethodDescriptor<ReqT, RespT> method, ReqT request) {
    return options.channel.serverStreamPublisher(method, request, callOptions());
  }

  /** Starts a client-streaming call of {@code method}: see {@link FerryChannel#clientStream(MethodDescriptor, CallOptions)}. */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> ClientStreamingCall<ReqT, RespT>
      clientStreamCall(MethodDescriptor<ReqT, RespT> method) {
    return options.channel.clientStream(method, callOptions());
  }

  /**
   * A client-streaming call of {@code method} fed by {@code requests}: see
   * {@link FerryChannel#clientStream(MethodDescriptor, java.util.concurrent.Flow.Publisher, CallOptions)}.
   */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<RespT> clientStreamCall(
      MethodDescriptor<ReqT, RespT> method, java.util.concurrent.Flow.Publisher<ReqT> requests) {
    return options.channel.clientStream(method, requests, callOptions());
  }

  /** Starts a bidirectional-streaming call of {@code method}: see {@link FerryChannel#bidiStream(MethodDescriptor, CallOptions)}. */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> BidiStreamingCall<ReqT, RespT>
      bidiStreamCall(MethodDescriptor<ReqT, RespT> method) {
    return options.channel.bidiStream(method, callOptions());
  }

  /**
   * A bidirectional-streaming call of {@code method} per subscription: see
   * {@link FerryChannel#bidiStream(MethodDescriptor, java.util.concurrent.Flow.Publisher, CallOptions)}.
   */
  protected final <ReqT extends MessageLite, RespT extends MessageLite> java.util.concurrent.Flow.Publisher<RespT>
      bidiStreamPublisher(MethodDescriptor<ReqT, RespT> method, java.util.concurrent.Flow.Publisher<ReqT> requests) {
    return options.channel.bidiStream(method, requests, callOptions());
  }
}
