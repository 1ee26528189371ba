package dev.ferry.client;

import static java.util.Objects.requireNonNull;

import dev.ferry.Metadata;

/**
 * A successful call's response message together with the trailing metadata the server sent with it.
 * Returned by {@link FerryChannel#exchange}.
 *
 * @param message the response message
 * @param trailers trailing metadata; {@link Metadata#EMPTY} when the server sent none
 * @param <T> the response message type
 */
public record Response<T>(T message, Metadata trailers) {
  public Response {
    requireNonNull(message, "message");
    requireNonNull(trailers, "trailers");
  }
}
