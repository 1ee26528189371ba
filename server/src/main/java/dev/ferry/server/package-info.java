/**
 * The embeddable Ferry server: {@link dev.ferry.server.FerryServer} listens on a port (or an in-process
 * name) and serves the services registered with it.
 *
 * <pre>{@code
 * FerryServer server = FerryServer.builder()
 *     .port(7070)
 *     .addService(GreeterFerryService.bind(new Greeter()))
 *     .build()
 *     .start();
 * server.awaitTermination();
 * }</pre>
 *
 * <p>The public types, and nothing else, are API:
 * <ul>
 *   <li>the server and its builder: {@link dev.ferry.server.FerryServer}, {@link dev.ferry.server.ServerTls};
 *   <li>services: {@link dev.ferry.server.ServiceDefinition}, and the handlers generated service
 *       interfaces bind, {@link dev.ferry.server.UnaryHandler} and {@link dev.ferry.server.AsyncUnaryHandler};
 *   <li>a call as its handler sees it: {@link dev.ferry.server.CallContext} (metadata, deadline,
 *       cancellation, trailers, the peer's {@link dev.ferry.server.PeerIdentity});
 *   <li>{@link dev.ferry.server.ServerInterceptor}, for code around every call.
 * </ul>
 * Everything else in this package is package-private (connections, calls, dispatch, memory budget);
 * the wire protocol lives in {@code dev.ferry.internal}, which is not API.
 */
package dev.ferry.server;
