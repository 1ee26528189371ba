package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.MessageLite;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.ClientInterceptor;
import dev.ferry.client.ClientInternals;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.Response;
import dev.ferry.client.auth.BearerTokenCredentials;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServerInterceptor;
import dev.ferry.server.ServiceDefinition;
import dev.ferry.server.auth.BearerTokenAuthenticator;
import dev.ferry.server.auth.Identity;
import dev.ferry.server.auth.MethodAuthorizer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Server and client interceptors: order, metadata both ways, rejection before the handler, wrapping and
 * timing results, cancellation through the chain; and the built-in bearer-token authentication,
 * per-method authorization and client credentials.
 */
class InterceptorTest {
  private static final String SERVICE = "ferry.test.Store";
  private static final MethodDescriptor<StringValue, StringValue> GET =
      MethodDescriptor.of(SERVICE + "/Get", StringValue.parser(), StringValue.parser());
  private static final MethodDescriptor<StringValue, StringValue> PUT =
      MethodDescriptor.of(SERVICE + "/Put", StringValue.parser(), StringValue.parser());
  private static final MethodDescriptor<StringValue, StringValue> WHO =
      MethodDescriptor.of(SERVICE + "/Who", StringValue.parser(), StringValue.parser());
  private static final MethodDescriptor<StringValue, StringValue> HEALTH =
      MethodDescriptor.of(SERVICE + "/Health", StringValue.parser(), StringValue.parser());
  private static final MethodDescriptor<StringValue, StringValue> HANG =
      MethodDescriptor.of(SERVICE + "/Hang", StringValue.parser(), StringValue.parser());
  private static final MethodDescriptor<StringValue, StringValue> FAIL =
      MethodDescriptor.of(SERVICE + "/Fail", StringValue.parser(), StringValue.parser());
  private static final CallContext.Key<String> TENANT = CallContext.Key.named("tenant");

  private final List<String> events = new CopyOnWriteArrayList<>();
  private final AtomicInteger handlerRuns = new AtomicInteger();
  private final BlockingQueue<CallContext> hanging = new LinkedBlockingQueue<>();
  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private ServiceDefinition store() {
    return ServiceDefinition.builder(SERVICE)
        .unary(GET, (req, ctx) -> {
          handlerRuns.incrementAndGet();
          events.add("handler");
          return StringValue.of("value of " + req.getValue() + " for tenant " + ctx.get(TENANT)
              + ", trace " + ctx.metadata().get("x-trace"));
        })
        .unary(PUT, (req, ctx) -> {
          handlerRuns.incrementAndGet();
          return StringValue.of("stored " + req.getValue());
        })
        .unary(WHO, (req, ctx) -> StringValue.of(Identity.of(ctx).map(Identity::toString).orElse("nobody")))
        .unary(HEALTH, (req, ctx) -> StringValue.of("ok"))
        .unaryAsync(HANG, (req, ctx) -> {
          hanging.add(ctx);
          return new CompletableFuture<>();
        })
        .unary(FAIL, (req, ctx) -> {
          throw new FerryException(StatusCode.NOT_FOUND, "no such key " + req.getValue());
        })
        .build();
  }

  private FerryServer server(ServerInterceptor... interceptors) throws Exception {
    FerryServer server = FerryServer.builder().host("127.0.0.1").port(0).addService(store())
        .intercept(interceptors).build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  private FerryChannel channel(FerryServer server, ClientInterceptor... interceptors) {
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port()).intercept(interceptors).build();
    resources.add(channel);
    return channel;
  }

  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  private static String call(FerryChannel channel, MethodDescriptor<StringValue, StringValue> method, String arg) {
    return channel.blockingCall(method, StringValue.of(arg), TEN_SECONDS).getValue();
  }

  private static FerryException failure(FerryChannel channel, MethodDescriptor<StringValue, StringValue> method) {
    try {
      channel.blockingCall(method, StringValue.of("k"), TEN_SECONDS);
    } catch (FerryException e) {
      return e;
    }
    throw new AssertionError("call succeeded");
  }

  /** Records "name>" before and "name<" after the rest of the chain, and sets what it is given. */
  private ServerInterceptor recording(String name, String trailer) {
    return new ServerInterceptor() {
      @Override
      public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
          Next<ReqT, RespT> next) {
        events.add(name + ">");
        if (trailer != null) {
          context.addTrailer("x-seen-by", trailer);
        }
        if (context.get(TENANT) == null) {
          context.set(TENANT, "tenant-of-" + name);
        }
        return next.proceed(request).whenComplete((r, e) -> events.add(name + "<"));
      }
    };
  }

  private ClientInterceptor clientRecording(String name) {
    return new ClientInterceptor() {
      @Override
      public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> interceptCall(
          MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, Next<ReqT, RespT> next) {
        events.add("client " + name + ">");
        CallOptions withTrace = options.metadata().get("x-trace") == null ? options.withMetadata("x-trace", name) : options;
        return next.proceed(request, withTrace).whenComplete((r, e) -> events.add("client " + name + "<"));
      }
    };
  }

  @Test
  void interceptorsRunInTheOrderAddedAndPassMetadataBothWays() throws Exception {
    FerryServer server = server(recording("A", "A"), recording("B", "B"));
    FerryChannel channel = channel(server, clientRecording("C1"), clientRecording("C2"));

    Response<StringValue> response = channel.exchange(GET, StringValue.of("k"), TEN_SECONDS).get(10, TimeUnit.SECONDS);

    // The first interceptor added is outermost on each side; C1 set the trace and A set the tenant first.
    assertThat(response.message().getValue()).isEqualTo("value of k for tenant tenant-of-A, trace C1");
    assertThat(response.trailers().getAll("x-seen-by")).containsExactly("A", "B");
    // Each side's outer stage completes after its callback ran: A's before the response is written, C1's
    // before the application's future completes. So all nine are there once the response is.
    assertThat(events).containsExactly("client C1>", "client C2>", "A>", "B>", "handler", "B<", "A<",
        "client C2<", "client C1<");
  }

  @Test
  void aServerInterceptorCanRejectACallBeforeItsHandlerRuns() throws Exception {
    ServerInterceptor gate = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
          Next<ReqT, RespT> next) {
        if (!"yes".equals(context.metadata().get("x-allowed"))) {
          throw new FerryException(StatusCode.PERMISSION_DENIED, "x-allowed is not yes",
              Metadata.of("x-rule", "gate"), null);
        }
        return next.proceed(request);
      }
    };
    FerryServer server = server(gate);
    FerryChannel channel = channel(server);
    FerryException e = failure(channel, GET);
    assertThat(e.code()).isEqualTo(StatusCode.PERMISSION_DENIED);
    assertThat(e.description()).isEqualTo("x-allowed is not yes");
    assertThat(e.trailers().get("x-rule")).isEqualTo("gate");
    assertThat(handlerRuns).hasValue(0);

    CallOptions allowed = TEN_SECONDS.withMetadata("x-allowed", "yes");
    assertThat(channel.blockingCall(PUT, StringValue.of("v"), allowed).getValue()).isEqualTo("stored v");
    assertThat(handlerRuns).hasValue(1);
  }

  @Test
  void aServerInterceptorCanWrapAndTimeResults() throws Exception {
    Map<String, StatusCode> outcomes = new java.util.concurrent.ConcurrentHashMap<>();
    List<Long> durations = new CopyOnWriteArrayList<>();
    ServerInterceptor timing = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
          Next<ReqT, RespT> next) {
        long start = System.nanoTime();
        return next.proceed(request).whenComplete((r, e) -> {
          durations.add(System.nanoTime() - start);
          outcomes.put(context.method().methodName(),
              e == null ? StatusCode.OK : ((FerryException) unwrap(e)).code());
        });
      }
    };
    ServerInterceptor upperCase = new ServerInterceptor() {
      @Override
      @SuppressWarnings("unchecked")
      public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
          Next<ReqT, RespT> next) {
        // Replaces the request and the response of Put.
        if (!context.method().equals(PUT)) {
          return next.proceed(request);
        }
        ReqT upper = (ReqT) StringValue.of(((StringValue) request).getValue().toUpperCase());
        return next.proceed(upper).thenApply(r -> (RespT) StringValue.of(((StringValue) r).getValue() + "!"));
      }
    };
    FerryServer server = server(timing, upperCase);
    FerryChannel channel = channel(server);
    assertThat(call(channel, PUT, "v")).isEqualTo("stored V!");
    assertThat(failure(channel, FAIL).code()).isEqualTo(StatusCode.NOT_FOUND);
    // The outermost interceptor's stage completes (after its callback) before the response is written.
    assertThat(outcomes).containsEntry("Put", StatusCode.OK).containsEntry("Fail", StatusCode.NOT_FOUND);
    assertThat(durations).allSatisfy(d -> assertThat(d).isPositive());
  }

  private static Throwable unwrap(Throwable e) {
    return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
  }

  @Test
  void aFailingServerInterceptorIsAnInternalErrorAndTheServerGoesOn() throws Exception {
    ServerInterceptor broken = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> CompletionStage<RespT> interceptCall(ReqT request, CallContext context,
          Next<ReqT, RespT> next) {
        if (context.method().equals(GET)) {
          throw new IllegalStateException("interceptor bug");
        }
        return next.proceed(request);
      }
    };
    FerryChannel channel = channel(server(broken));
    FerryException e = failure(channel, GET);
    assertThat(e.code()).isEqualTo(StatusCode.INTERNAL);
    assertThat(e.description()).doesNotContain("interceptor bug"); // details stay on the server
    assertThat(call(channel, PUT, "v")).isEqualTo("stored v");
  }

  @Test
  void aClientInterceptorCanFailACallWithoutSendingIt() throws Exception {
    FerryServer server = server();
    ClientInterceptor offline = new ClientInterceptor() {
      @Override
      public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> interceptCall(
          MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, Next<ReqT, RespT> next) {
        if (method.equals(PUT)) {
          throw new FerryException(StatusCode.FAILED_PRECONDITION, "read-only client");
        }
        if (method.equals(FAIL)) {
          throw new IllegalArgumentException("client interceptor bug");
        }
        return next.proceed(request, options);
      }
    };
    FerryChannel channel = channel(server, offline);
    FerryException e = failure(channel, PUT);
    assertThat(e.code()).isEqualTo(StatusCode.FAILED_PRECONDITION);
    assertThat(e.description()).isEqualTo("read-only client");
    FerryException bug = failure(channel, FAIL);
    assertThat(bug.code()).isEqualTo(StatusCode.UNKNOWN);
    assertThat(bug.description()).contains("client interceptor bug");
    assertThat(handlerRuns).hasValue(0);
    assertThat(call(channel, GET, "k")).startsWith("value of k");
  }

  @Test
  void cancellingTheApplicationsFutureCancelsTheCallBehindTheInterceptors() throws Exception {
    FerryServer server = server(recording("A", null));
    // An interceptor whose returned future is a dependent stage: cancelling that would not reach the call.
    ClientInterceptor dependent = new ClientInterceptor() {
      @Override
      public <ReqT extends MessageLite, RespT extends MessageLite> CompletableFuture<Response<RespT>> interceptCall(
          MethodDescriptor<ReqT, RespT> method, ReqT request, CallOptions options, Next<ReqT, RespT> next) {
        return next.proceed(request, options).thenApply(r -> r);
      }
    };
    FerryChannel channel = channel(server, dependent);
    CompletableFuture<StringValue> call = channel.call(HANG, StringValue.of("x"),
        CallOptions.builder().timeout(Duration.ofSeconds(60)).build());
    CallContext serverSide = hanging.poll(10, TimeUnit.SECONDS);
    assertThat(serverSide).isNotNull();
    CountDownLatch cancelled = new CountDownLatch(1);
    serverSide.onCancel(cancelled::countDown);
    assertThat(call.cancel(false)).isTrue();
    assertThatThrownBy(call::join).isInstanceOf(CancellationException.class);
    // The call's slot is given back before its future completes; the CANCEL reaches the server after.
    assertThat(ClientInternals.activeCalls(channel)).isZero();
    assertThat(cancelled.await(10, TimeUnit.SECONDS)).as("the handler heard the cancel").isTrue();
    assertThat(serverSide.isCancelled()).isTrue();
  }

  @Test
  void completingTheApplicationsFutureByHandCancelsTheCallBehindTheInterceptors() throws Exception {
    FerryServer server = server();
    FerryChannel channel = channel(server, clientRecording("C"));
    // orTimeout completes the future from outside, with no deadline on the call itself. Armed once the
    // handler runs, so that on a busy machine it cannot fire before the request is even sent.
    CompletableFuture<StringValue> call = channel.call(HANG, StringValue.of("x"), CallOptions.DEFAULT);
    CallContext serverSide = hanging.poll(10, TimeUnit.SECONDS);
    assertThat(serverSide).isNotNull();
    CountDownLatch cancelled = new CountDownLatch(1);
    serverSide.onCancel(cancelled::countDown);
    call.orTimeout(200, TimeUnit.MILLISECONDS);
    assertThatThrownBy(call::join).hasCauseInstanceOf(java.util.concurrent.TimeoutException.class);
    assertThat(cancelled.await(10, TimeUnit.SECONDS)).as("the handler heard the cancel").isTrue();
    assertThat(serverSide.isCancelled()).isTrue();
    // The timeout completed the application's future on the JDK's delay thread, which then cancels the
    // call: nothing orders that against this thread.
    await().atMost(Duration.ofSeconds(5)).until(() -> ClientInternals.activeCalls(channel) == 0);

    CompletableFuture<StringValue> done = channel.call(GET, StringValue.of("k"), TEN_SECONDS);
    done.get(10, TimeUnit.SECONDS);
    assertThatThrownBy(() -> done.obtrudeValue(StringValue.of("rewritten")))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  // ---- built-in authentication and authorization ----

  private static final Map<String, Identity> TOKENS = Map.of(
      "alice-token", Identity.of("alice", "reader"),
      "bob-token", Identity.of("bob", "reader", "writer"));

  private static Optional<Identity> lookUp(String token) {
    if (token.equals("identity-service-down")) {
      throw new FerryException(StatusCode.UNAVAILABLE, "identity service unreachable");
    }
    if (token.startsWith("eyJ")) {
      throw new IllegalArgumentException("malformed JWT"); // what token libraries do
    }
    return Optional.ofNullable(TOKENS.get(token));
  }

  private FerryServer securedServer() throws Exception {
    return server(
        BearerTokenAuthenticator.create(InterceptorTest::lookUp).allowAnonymous(HEALTH),
        MethodAuthorizer.builder()
            .allow(GET, "reader")
            .allow(PUT, "writer")
            .allowAuthenticated(WHO)
            .allowAnyone(HEALTH)
            .build());
  }

  @Test
  void bearerTokensAreCheckedAndTheIdentityReachesTheHandler() throws Exception {
    FerryServer server = securedServer();
    assertThat(call(channel(server, BearerTokenCredentials.of("alice-token")), WHO, "")).isEqualTo("alice[reader]");

    FerryException missing = failure(channel(server), WHO);
    assertThat(missing.code()).isEqualTo(StatusCode.UNAUTHENTICATED);
    assertThat(missing.description()).contains("missing credentials");

    FerryException wrong = failure(channel(server, BearerTokenCredentials.of("mallory-token")), WHO);
    assertThat(wrong.code()).isEqualTo(StatusCode.UNAUTHENTICATED);
    assertThat(wrong.description()).isEqualTo("invalid bearer token");

    FerryException malformed = channelFailure(server, TEN_SECONDS.withMetadata("authorization", "Basic YWxpY2U="));
    assertThat(malformed.code()).isEqualTo(StatusCode.UNAUTHENTICATED);
    assertThat(malformed.description()).contains("malformed credentials");

    FerryException down = failure(channel(server, BearerTokenCredentials.of("identity-service-down")), WHO);
    assertThat(down.code()).isEqualTo(StatusCode.UNAVAILABLE);

    FerryException garbled = failure(channel(server, BearerTokenCredentials.of("eyJnot-a-jwt")), WHO);
    assertThat(garbled.code()).isEqualTo(StatusCode.UNAUTHENTICATED);
    assertThat(garbled.description()).isEqualTo("invalid bearer token");

    FerryException twice = channelFailure(server, TEN_SECONDS.withMetadata("authorization", "Bearer alice-token")
        .withMetadata("authorization", "Bearer bob-token"));
    assertThat(twice.code()).isEqualTo(StatusCode.UNAUTHENTICATED);
    assertThat(twice.description()).contains("ambiguous credentials");

    // The credentials interceptor replaces an authorization entry the application put in the metadata.
    assertThat(channel(server, BearerTokenCredentials.of("alice-token"))
        .blockingCall(WHO, StringValue.of(""), TEN_SECONDS.withMetadata("authorization", "Bearer bob-token"))
        .getValue()).isEqualTo("alice[reader]");

    // A method allowed without a token.
    assertThat(call(channel(server), HEALTH, "")).isEqualTo("ok");
    assertThat(Identity.of("carol", "reader", "reader").roles()).containsExactly("reader");
  }

  private FerryException channelFailure(FerryServer server, CallOptions options) {
    try {
      channel(server).blockingCall(WHO, StringValue.of(""), options);
    } catch (FerryException e) {
      return e;
    }
    throw new AssertionError("call succeeded");
  }

  @Test
  void methodsAreAuthorizedByTheCallersRoles() throws Exception {
    FerryServer server = securedServer();
    FerryChannel alice = channel(server, BearerTokenCredentials.of("alice-token"));
    FerryChannel bob = channel(server, BearerTokenCredentials.of("bob-token"));

    assertThat(call(alice, GET, "k")).startsWith("value of k");
    FerryException denied = failure(alice, PUT);
    assertThat(denied.code()).isEqualTo(StatusCode.PERMISSION_DENIED);
    assertThat(denied.description()).isEqualTo("caller alice may not call " + PUT.fullName());
    assertThat(call(bob, PUT, "v")).isEqualTo("stored v");

    // No rule names Fail: denied for everyone, whatever their roles.
    assertThat(failure(bob, FAIL).code()).isEqualTo(StatusCode.PERMISSION_DENIED);
    assertThat(handlerRuns).hasValue(2);
  }

  @Test
  void tokensFromASupplierAreFetchedPerCall() throws Exception {
    FerryServer server = securedServer();
    AtomicInteger fetches = new AtomicInteger();
    FerryChannel channel = channel(server, BearerTokenCredentials.of(() ->
        fetches.incrementAndGet() == 1 ? "alice-token" : "bob-token"));
    assertThat(call(channel, WHO, "")).isEqualTo("alice[reader]");
    assertThat(call(channel, WHO, "")).startsWith("bob");
    FerryChannel broken = channel(server, BearerTokenCredentials.of(() -> {
      throw new IllegalStateException("token cache empty");
    }));
    FerryException e = failure(broken, WHO);
    assertThat(e.code()).isEqualTo(StatusCode.UNAUTHENTICATED);
    assertThat(e.description()).contains("token cache empty");
  }
}
