package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.StreamReader;
import dev.ferry.internal.InboundPublisher;
import dev.ferry.internal.OutboundSubscriber;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * Starts a channel's streaming calls: makes each call's {@link ClientStream}, runs the channel's
 * interceptors around it as around a unary call, and hands the call to the channel. The six public
 * ways in ({@link FerryChannel#serverStream} and the others) end here.
 *
 * <p>Interceptors see a streaming call as a call of its method with the request of a server-streaming
 * call, or the request type's default instance otherwise; what they pass on to {@code next.proceed}
 * (metadata, deadlines) is what the call is made with; the future they get completes when the stream
 * ends, with the response of a client-streaming call or the response type's default instance, and the
 * trailers. A stream can be sent once only: an interceptor that calls {@code next.proceed} twice gets a
 * failed future the second time.
 *
 * <p>Stateless apart from the channel's settings; any thread.
 */
final class StreamCalls {
  private final FerryChannel channel;
  private final int window;
  private final Ticker ticker;
  private final ChannelListener listener;

  StreamCalls(FerryChannel channel, int window, Ticker ticker, ChannelListener listener) {
    this.channel = channel;
    this.window = window;
    this.ticker = ticker;
    this.listener = listener;
  }

  <ReqT extends MessageLite, RespT extends MessageLite> StreamReader<RespT> serverStream(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    ClientStream<ReqT, RespT> stream = newStream(method, options, MethodDescriptor.Type.SERVER_STREAMING);
    start(stream, request, options);
    return stream.inbound();
  }

  <ReqT extends MessageLite, RespT extends MessageLite> ClientStreamingCall<ReqT, RespT> clientStream(
      MethodDescriptor<ReqT, RespT> method, CallOptions options) {
    ClientStream<ReqT, RespT> stream = newStream(method, options, MethodDescriptor.Type.CLIENT_STREAMING);
    start(stream, null, options);
    return stream.asClientStreamingCall();
  }

  <ReqT extends MessageLite, RespT extends MessageLite> BidiStreamingCall<ReqT, RespT> bidiStream(
      MethodDescriptor<ReqT, RespT> method, CallOptions options) {
    ClientStream<ReqT, RespT> stream = newStream(method, options, MethodDescriptor.Type.BIDI_STREAMING);
    start(stream, null, options);
    return stream.asBidiStreamingCall();
  }

  <ReqT extends MessageLite, RespT extends MessageLite> Flow.Publisher<RespT> serverStreamPublisher(
      MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options) {
    checkType(method, MethodDescriptor.Type.SERVER_STREAMING);
    requireNonNull(options, "options");
    return subscriber -> {
      ClientStream<ReqT, RespT> stream = newStream(method, options, MethodDescriptor.Type.SERVER_STREAMING);
      new InboundPublisher<>(stream.inbound(), () -> start(stream, request, options)).subscribe(subscriber);
    };
  }

  <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<RespT> clientStream(
      MethodDescriptor<ReqT, RespT> method, Flow.Publisher<ReqT> requests, CallOptions options) {
    ClientStream<ReqT, RespT> stream = newStream(method, options, MethodDescriptor.Type.CLIENT_STREAMING);
    start(stream, null, options);
    requests.subscribe(subscriberFor(stream));
    return stream.response();
  }

  <ReqT extends MessageLite, RespT extends MessageLite> Flow.Publisher<RespT> bidiStream(
      MethodDescriptor<ReqT, RespT> method, Flow.Publisher<ReqT> requests, CallOptions options) {
    checkType(method, MethodDescriptor.Type.BIDI_STREAMING);
    requireNonNull(options, "options");
    return subscriber -> {
      ClientStream<ReqT, RespT> stream = newStream(method, options, MethodDescriptor.Type.BIDI_STREAMING);
      new InboundPublisher<>(stream.inbound(), () -> {
        start(stream, null, options);
        requests.subscribe(subscriberFor(stream));
      }).subscribe(subscriber);
    };
  }

  /** Writes what a request publisher produces into the call's stream; its failure cancels the call. */
  private static <ReqT extends MessageLite, RespT extends MessageLite> OutboundSubscriber<ReqT> subscriberFor(
      ClientStream<ReqT, RespT> stream) {
    return new OutboundSubscriber<>(stream.outbound(), stream.outbound()::complete,
        error -> stream.cancel(new FerryException(StatusCode.CANCELLED, "the request publisher of "
            + stream.method().fullName() + " failed: " + error, error)));
  }

  private <ReqT extends MessageLite, RespT extends MessageLite> ClientStream<ReqT, RespT> newStream(
      MethodDescriptor<ReqT, RespT> method, CallOptions options, MethodDescriptor.Type type) {
    checkType(method, type);
    requireNonNull(options, "options");
    return new ClientStream<>(method, window, options.idleTimeoutNanos(), ticker, listener);
  }

  private static void checkType(MethodDescriptor<?, ?> method, MethodDescriptor.Type type) {
    requireNonNull(method, "method");
    if (method.type() != type) {
      throw new IllegalArgumentException("method: " + method + " is " + method.type() + " (expected: " + type + ")");
    }
  }

  /** Makes the call, through the channel's interceptors if it has any. */
  private <ReqT extends MessageLite, RespT extends MessageLite> void start(ClientStream<ReqT, RespT> stream,
      ReqT request, CallOptions options) {
    MethodDescriptor<ReqT, RespT> method = stream.method();
    ReqT req = request != null ? request : emptyRequest(method);
    ClientInterceptor[] interceptors = channel.interceptors();
    if (interceptors.length == 0) {
      send(stream, req, options);
      return;
    }
    InterceptedCall.Starter starter = new InterceptedCall.Starter() {
      @Override
      @SuppressWarnings("unchecked")
      public <Q extends MessageLite, R extends MessageLite> CompletableFuture<Response<R>> start(
          MethodDescriptor<Q, R> m, Q r, CallOptions o) {
        return (CompletableFuture<Response<R>>) (CompletableFuture<?>) send(stream, (ReqT) r, o);
      }
    };
    InterceptedCall.start(interceptors, method, req, options, starter, r -> r)
        .whenComplete((response, error) -> {
          if (error != null) {
            stream.failBeforeStart(error); // a no-op once the call was made: its own outcome counts
          }
        });
  }

  private <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> send(
      ClientStream<ReqT, RespT> stream, ReqT request, CallOptions options) {
    ClientCall<RespT, Response<RespT>> call = channel.newCall(stream.method(), request, options, Response::new,
        stream);
    if (!stream.bind(call)) {
      return CompletableFuture.failedFuture(new FerryException(StatusCode.FAILED_PRECONDITION, "the stream of "
          + stream.method().fullName() + " was sent already, or cancelled before it was sent"));
    }
    return channel.launch(call);
  }

  /** The request type's default instance: what the REQUEST of a client- or bidi-streaming call carries (nothing). */
  private static <ReqT extends MessageLite> ReqT emptyRequest(MethodDescriptor<ReqT, ?> method) {
    try {
      return method.requestParser().parseFrom(new byte[0]);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot make an empty " + method.fullName() + " request", e);
    }
  }
}
