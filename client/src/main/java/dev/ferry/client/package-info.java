/**
 * Ferry's client: {@link dev.ferry.client.FerryChannel} makes unary calls to a Ferry server over one
 * multiplexed connection, with per-call {@link dev.ferry.client.CallOptions} (deadline, metadata).
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
 * <p>Only {@code FerryChannel}, {@code CallOptions} and {@code Response} are public; everything else
 * in this package is an implementation detail.
 */
package dev.ferry.client;
