/**
 * Ferry's client: {@link dev.ferry.client.FerryChannel} calls a Ferry server over a small pool of
 * long-lived, multiplexed connections, with per-call {@link dev.ferry.client.CallOptions} (timeout or
 * deadline, metadata, wait-for-ready).
 *
 * <pre>{@code
 * try (FerryChannel channel = FerryChannel.builder("localhost", 7000)
 *     .defaultTimeout(Duration.ofSeconds(5))
 *     .build()) {
 *   HelloReply reply = channel.blockingCall(SAY_HELLO, request, CallOptions.DEFAULT);
 *   channel.call(SAY_HELLO, request).thenAccept(r -> log.info("got {}", r));
 * }
 * }</pre>
 *
 * <p>The public types, and nothing else, are API:
 * <ul>
 *   <li>the channel: {@link dev.ferry.client.FerryChannel}, built by {@link dev.ferry.client.FerryChannelBuilder},
 *       its {@link dev.ferry.client.ChannelState};
 *   <li>many servers behind one channel: {@link dev.ferry.client.BalancerOptions},
 *       {@link dev.ferry.client.ResolverOptions}, and the name resolver SPI
 *       ({@link dev.ferry.client.NameResolverProvider}, {@link dev.ferry.client.NameResolver},
 *       {@link dev.ferry.client.Endpoint});
 *   <li>per call: {@link dev.ferry.client.CallOptions} and {@link dev.ferry.client.Response} (a message
 *       with its trailers);
 *   <li>the channel's immutable options: {@link dev.ferry.client.PoolOptions},
 *       {@link dev.ferry.client.HeartbeatOptions}, {@link dev.ferry.client.BackoffOptions},
 *       {@link dev.ferry.client.ClientTls};
 *   <li>{@link dev.ferry.client.ClientInterceptor}, for code around every call;
 *   <li>{@link dev.ferry.client.AbstractStub}, the base class of generated stubs.
 * </ul>
 * Everything else in this package is package-private (the call state machine, the balancer and its
 * subchannels, the per-connection handler); the wire protocol lives in {@code dev.ferry.internal}, which is not API.
 */
package dev.ferry.client;
