package dev.ferry.services;

import static java.util.Objects.requireNonNull;

import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.server.ServerListener;
import dev.ferry.server.ServiceDefinition;
import dev.ferry.services.health.v1.HealthCheckRequest;
import dev.ferry.services.health.v1.HealthCheckResponse;
import dev.ferry.services.health.v1.HealthCheckResponse.ServingStatus;
import dev.ferry.services.health.v1.HealthListRequest;
import dev.ferry.services.health.v1.HealthListResponse;
import dev.ferry.services.health.v1.HealthProto;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Flow;

/**
 * The health service, {@code ferry.health.v1.Health} (see docs/services.md): answers whether the server,
 * and each service the application named, can take calls, once ({@code Check}, {@code List}) or as a
 * stream of changes ({@code Watch}). The whole server ({@code ""}) is SERVING from the start; the
 * application sets the status of its services. Once the server starts shutting down, everything is
 * NOT_SERVING, before the server sends any GOAWAY, and each Watch stream ends.
 *
 * <pre>{@code
 * HealthService health = HealthService.create();
 * health.setStatus("ferry.examples.kvstore.KvStore", ServingStatus.SERVING);
 * FerryServer server = FerryServer.builder()
 *     .addService(kvStore)
 *     .addService(health.service())
 *     .addListener(health.shutdownListener()) // NOT_SERVING as soon as a shutdown starts
 *     .build().start();
 * }</pre>
 *
 * <p><b>Watch.</b> A watch holds no thread: it is a publisher that sends when its stream has credit.
 * Each watcher keeps at most one status waiting to be sent, the latest: a client that reads slowly
 * skips the statuses in between, and costs the server nothing more however often statuses change.
 *
 * <p>Thread-safe: statuses may be set from any thread while calls read them; a watcher is sent the
 * change on the thread that made it, or on the connection's event loop once its client has room. A
 * load balancer that polls needs time to notice NOT_SERVING: call {@link #enterShutdown()} yourself,
 * wait a poll interval or two, then shut the server down.
 */
public final class HealthService {
  /** The service's full name. */
  public static final String NAME = "ferry.health.v1.Health";
  /** {@code Check}: one service's status ("" for the whole server). */
  public static final MethodDescriptor<HealthCheckRequest, HealthCheckResponse> CHECK =
      MethodDescriptor.of(NAME + "/Check", HealthCheckRequest.parser(), HealthCheckResponse.parser());
  /** {@code List}: every status. */
  public static final MethodDescriptor<HealthListRequest, HealthListResponse> LIST =
      MethodDescriptor.of(NAME + "/List", HealthListRequest.parser(), HealthListResponse.parser());
  /** {@code Watch}: one service's status, then each change (a server stream). */
  public static final MethodDescriptor<HealthCheckRequest, HealthCheckResponse> WATCH =
      MethodDescriptor.of(NAME + "/Watch", MethodDescriptor.Type.SERVER_STREAMING, HealthCheckRequest.parser(),
          HealthCheckResponse.parser());

  private final ConcurrentMap<String, ServingStatus> statuses = new ConcurrentHashMap<>();
  // Added to under this; removed from without it (a watcher's end must not wait for a status change).
  private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();
  private boolean shutDown; // guarded by this
  private boolean serverStopping; // guarded by this: watches end

  private HealthService() {
    statuses.put("", ServingStatus.SERVING);
  }

  /** A health service whose server is SERVING and that knows no other service yet. */
  public static HealthService create() {
    return new HealthService();
  }

  /** The {@code .proto} file of the service, for {@link ReflectionService}. */
  public static FileDescriptor descriptor() {
    return HealthProto.getDescriptor();
  }

  /** The definition to add to a server. */
  public ServiceDefinition service() {
    return ServiceDefinition.builder(NAME)
        .unary(CHECK, (request, ctx) -> check(request.getService()))
        .unary(LIST, (request, ctx) -> list())
        .serverStreamingAsync(WATCH, (request, ctx) -> subscriber -> {
          Watcher w = new Watcher(request.getService(), subscriber);
          ctx.onCancel(w::cancel); // a watch that is not sent to is not told otherwise
          subscriber.onSubscribe(w);
          watch(w);
        })
        .build();
  }

  /**
   * A server listener for the server this service is added to: when the server starts shutting down it
   * calls {@link #enterShutdown()}, then sends NOT_SERVING to every watcher that has room for it and ends
   * its stream; all before the server sends any GOAWAY. A watcher whose client has no room gets it when
   * the client reads, within the shutdown's grace period.
   */
  public ServerListener shutdownListener() {
    return new ServerListener() {
      @Override
      public void shutdownStarted() {
        enterShutdown();
        endWatches();
      }
    };
  }

  /**
   * Sets the status of {@code service} ({@code "package.Service"}, or "" for the whole server). Ignored
   * after {@link #enterShutdown()}: a server on its way down does not come back.
   *
   * @throws IllegalArgumentException for {@code UNKNOWN}, {@code SERVICE_UNKNOWN} or {@code UNRECOGNIZED},
   *     which a server never keeps
   */
  public synchronized void setStatus(String service, ServingStatus status) {
    requireNonNull(service, "service");
    requireNonNull(status, "status");
    if (status != ServingStatus.SERVING && status != ServingStatus.NOT_SERVING) {
      throw new IllegalArgumentException("status: " + status + " (expected: SERVING or NOT_SERVING)");
    }
    if (!shutDown) {
      statuses.put(service, status);
      tellWatchers(service, status);
    }
  }

  /** Forgets the status of {@code service}: Check answers NOT_FOUND for it, Watch SERVICE_UNKNOWN. */
  public synchronized void clearStatus(String service) {
    if (statuses.remove(requireNonNull(service, "service")) != null) {
      tellWatchers(service, ServingStatus.SERVICE_UNKNOWN);
    }
  }

  /** Makes the server and every service NOT_SERVING for good. Idempotent. */
  public synchronized void enterShutdown() {
    shutDown = true;
    statuses.replaceAll((name, s) -> ServingStatus.NOT_SERVING);
    for (String service : statuses.keySet()) {
      tellWatchers(service, ServingStatus.NOT_SERVING);
    }
  }

  /** The status Check answers for {@code service}, or null if it answers NOT_FOUND. */
  public ServingStatus status(String service) {
    return statuses.get(requireNonNull(service, "service"));
  }

  /** Watch streams open now. For tests. */
  int watchers() {
    return watchers.size();
  }

  private HealthCheckResponse check(String service) {
    ServingStatus status = statuses.get(service);
    if (status == null) {
      throw new FerryException(StatusCode.NOT_FOUND, "no health status for service \"" + service + "\"");
    }
    return HealthCheckResponse.newBuilder().setStatus(status).build();
  }

  private HealthListResponse list() {
    HealthListResponse.Builder b = HealthListResponse.newBuilder();
    for (Map.Entry<String, ServingStatus> e : new TreeMap<>(statuses).entrySet()) {
      b.putStatuses(e.getKey(), HealthCheckResponse.newBuilder().setStatus(e.getValue()).build());
    }
    return b.build();
  }

  /** Starts a watch with the status now; under the lock, so that no change falls between the two. */
  private synchronized void watch(Watcher w) {
    if (serverStopping) {
      w.end(); // the server is going: NOT_SERVING, then the end
      return;
    }
    ServingStatus now = statuses.get(w.service);
    if (w.update(now == null ? ServingStatus.SERVICE_UNKNOWN : now)) {
      watchers.add(w);
    }
  }

  /** Under the lock, so that each watcher hears the changes of its service in their order. */
  private void tellWatchers(String service, ServingStatus status) {
    for (Watcher w : watchers) {
      if (w.service.equals(service) && !w.update(status)) {
        watchers.remove(w);
      }
    }
  }

  private synchronized void endWatches() {
    serverStopping = true;
    for (Watcher w : watchers) {
      w.end();
    }
  }

  /**
   * One Watch stream: the subscription Ferry's stream writer holds. Ferry asks for one message at a
   * time, and only while the client has room; a status that comes while there is no demand waits as
   * {@link #pending}, replaced by any later one. Messages are sent under this object's lock, on the
   * thread that set the status (or that ended the watches) or on the thread that asked for more, so
   * that a status set before a shutdown's GOAWAY is queued on the connection before it.
   */
  private final class Watcher implements Flow.Subscription {
    final String service;
    private final Flow.Subscriber<? super HealthCheckResponse> subscriber;
    // guarded by this
    private long demand;
    private ServingStatus pending; // to send; null: the client has the latest
    private ServingStatus sent; // the last status sent
    private boolean ending; // send what is pending, then complete
    private boolean done;
    private boolean emitting; // a send on this thread's stack: a nested request only adds demand

    Watcher(String service, Flow.Subscriber<? super HealthCheckResponse> subscriber) {
      this.service = service;
      this.subscriber = subscriber;
    }

    /** The service's status is now {@code status}; false if the watch is over. */
    synchronized boolean update(ServingStatus status) {
      if (done) {
        return false;
      }
      if (!ending) {
        // The latest is all the client needs: back to what it has means nothing to send.
        pending = status == sent ? null : status;
        drain();
      }
      return !done;
    }

    /** The server is shutting down: NOT_SERVING, then the end of the stream. */
    synchronized void end() {
      if (done || ending) {
        return;
      }
      ending = true;
      pending = sent == ServingStatus.NOT_SERVING ? null : ServingStatus.NOT_SERVING;
      drain();
    }

    @Override
    public synchronized void request(long n) {
      if (done) {
        return;
      }
      if (n <= 0) {
        finish();
        subscriber.onError(new IllegalArgumentException(
            "request: " + n + " (expected: > 0; Reactive Streams rule 3.9)"));
        return;
      }
      demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
      drain();
    }

    @Override
    public synchronized void cancel() {
      if (!done) {
        finish();
      }
    }

    private void finish() {
      done = true;
      pending = null;
      watchers.remove(this);
    }

    private void drain() {
      if (emitting) {
        return; // the loop below, further up this thread's stack, goes on with the new demand
      }
      emitting = true;
      try {
        while (!done) {
          if (pending != null && demand > 0) {
            ServingStatus s = pending;
            pending = null;
            sent = s;
            demand--;
            subscriber.onNext(HealthCheckResponse.newBuilder().setStatus(s).build());
          } else if (pending == null && ending) {
            finish();
            subscriber.onComplete();
          } else {
            return;
          }
        }
      } finally {
        emitting = false;
      }
    }
  }
}
