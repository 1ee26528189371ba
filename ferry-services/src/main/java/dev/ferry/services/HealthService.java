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
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The health service, {@code ferry.health.v1.Health} (see docs/services.md): answers whether the server,
 * and each service the application named, can take calls. The whole server ({@code ""}) is SERVING from
 * the start; the application sets the status of its services. Once the server starts shutting down,
 * everything is NOT_SERVING, before the server sends any GOAWAY.
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
 * <p>Thread-safe: statuses may be set from any thread while calls read them. A load balancer that polls
 * needs time to notice NOT_SERVING: call {@link #enterShutdown()} yourself, wait a poll interval or
 * two, then shut the server down.
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

  private final ConcurrentMap<String, ServingStatus> statuses = new ConcurrentHashMap<>();
  private boolean shutDown; // guarded by this

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
        .build();
  }

  /** A server listener that calls {@link #enterShutdown()} when the server starts shutting down. */
  public ServerListener shutdownListener() {
    return new ServerListener() {
      @Override
      public void shutdownStarted() {
        enterShutdown();
      }
    };
  }

  /**
   * Sets the status of {@code service} ({@code "package.Service"}, or "" for the whole server). Ignored
   * after {@link #enterShutdown()}: a server on its way down does not come back.
   *
   * @throws IllegalArgumentException for {@code UNKNOWN} or {@code UNRECOGNIZED}, which a server never
   *     answers
   */
  public synchronized void setStatus(String service, ServingStatus status) {
    requireNonNull(service, "service");
    requireNonNull(status, "status");
    if (status != ServingStatus.SERVING && status != ServingStatus.NOT_SERVING) {
      throw new IllegalArgumentException("status: " + status + " (expected: SERVING or NOT_SERVING)");
    }
    if (!shutDown) {
      statuses.put(service, status);
    }
  }

  /** Forgets the status of {@code service}: Check answers NOT_FOUND for it. */
  public void clearStatus(String service) {
    statuses.remove(requireNonNull(service, "service"));
  }

  /** Makes the server and every service NOT_SERVING for good. Idempotent. */
  public synchronized void enterShutdown() {
    shutDown = true;
    statuses.replaceAll((name, s) -> ServingStatus.NOT_SERVING);
  }

  /** The status Check answers for {@code service}, or null if it answers NOT_FOUND. */
  public ServingStatus status(String service) {
    return statuses.get(requireNonNull(service, "service"));
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
}
