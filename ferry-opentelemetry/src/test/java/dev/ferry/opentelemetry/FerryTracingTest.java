package dev.ferry.opentelemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Spans with the OpenTelemetry SDK's in-memory exporter: one trace across a client, a server that calls
 * another server, and that server; attributes and statuses by the conventions; the context in metadata.
 */
class FerryTracingTest {
  private static final MethodDescriptor<StringValue, StringValue> FRONT =
      MethodDescriptor.of("ferry.test.Front/Lookup", StringValue.parser(), StringValue.parser());
  private static final MethodDescriptor<StringValue, StringValue> BACK =
      MethodDescriptor.of("ferry.test.Back/Get", StringValue.parser(), StringValue.parser());
  private static final CallOptions TEN_SECONDS = CallOptions.builder().timeout(Duration.ofSeconds(10)).build();

  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final SdkTracerProvider tracerProvider =
      SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
  private final OpenTelemetrySdk openTelemetry = OpenTelemetrySdk.builder().setTracerProvider(tracerProvider).build();
  private final FerryTracing tracing = FerryTracing.create(openTelemetry);
  private final List<AutoCloseable> resources = new ArrayList<>();
  private final CountDownLatch backHanging = new CountDownLatch(1);
  private final CountDownLatch backCancelled = new CountDownLatch(1);
  /** The traced channel Front calls Back through. */
  private FerryChannel toBack;

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
    tracerProvider.close();
  }

  private FerryServer start(ServiceDefinition service) throws Exception {
    FerryServer server = FerryServer.builder().host("127.0.0.1").port(0).addService(service)
        .intercept(tracing.serverInterceptor()).build().start();
    resources.add(server::shutdownNow);
    return server;
  }

  private FerryChannel channel(FerryServer server) {
    FerryChannel channel = FerryChannel.builder("127.0.0.1", server.port())
        .intercept(tracing.clientInterceptor("127.0.0.1", server.port())).build();
    resources.add(channel);
    return channel;
  }

  /** Back answers, fails by the request, or hangs until cancelled; Front calls Back through a traced channel. */
  private FerryChannel frontAndBack() throws Exception {
    FerryServer back = start(ServiceDefinition.builder("ferry.test.Back")
        .unaryAsync(BACK, (request, ctx) -> {
          switch (request.getValue()) {
            case "missing":
              throw new FerryException(StatusCode.NOT_FOUND, "no such key");
            case "crash":
              throw new IllegalStateException("bug");
            case "hang":
              ctx.onCancel(backCancelled::countDown);
              backHanging.countDown();
              return new CompletableFuture<>();
            default:
              Span.current().setAttribute("back.key", request.getValue()); // the server span is current
              return CompletableFuture.completedFuture(
                  StringValue.of("value of " + request.getValue() + " " + ctx.metadata().getAll("traceparent").size()));
          }
        })
        .build());
    toBack = channel(back);
    FerryServer front = start(ServiceDefinition.builder("ferry.test.Front")
        .unary(FRONT, (request, ctx) -> toBack.blockingCall(BACK, request, TEN_SECONDS))
        .build());
    return channel(front);
  }

  private static String attr(SpanData span, String key) {
    return span.getAttributes().get(AttributeKey.stringKey(key));
  }

  private SpanData span(String name, SpanKind kind) {
    return exporter.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals(name) && s.getKind() == kind).findFirst().orElseThrow();
  }

  @Test
  void aCallThroughTwoServersIsOneTrace() throws Exception {
    FerryChannel client = frontAndBack();
    assertThat(client.blockingCall(FRONT, StringValue.of("k"), TEN_SECONDS).getValue()).isEqualTo("value of k 1");

    // Four spans, one trace: the client's call, Front handling it, Front's call to Back, Back handling it.
    List<SpanData> spans = exporter.getFinishedSpanItems();
    assertThat(spans).hasSize(4);
    assertThat(spans).extracting(SpanData::getTraceId).containsOnly(spans.get(0).getTraceId());
    SpanData clientCall = span("ferry.test.Front/Lookup", SpanKind.CLIENT);
    SpanData frontServer = span("ferry.test.Front/Lookup", SpanKind.SERVER);
    SpanData frontCall = span("ferry.test.Back/Get", SpanKind.CLIENT);
    SpanData backServer = span("ferry.test.Back/Get", SpanKind.SERVER);
    assertThat(clientCall.getParentSpanContext().isValid()).as("the client's span is the root").isFalse();
    assertThat(frontServer.getParentSpanId()).isEqualTo(clientCall.getSpanId());
    assertThat(frontCall.getParentSpanId()).isEqualTo(frontServer.getSpanId());
    assertThat(backServer.getParentSpanId()).isEqualTo(frontCall.getSpanId());

    for (SpanData s : spans) {
      assertThat(attr(s, "rpc.system")).isEqualTo("ferry");
      assertThat(attr(s, "rpc.response.status_code")).isEqualTo("OK");
      assertThat(s.getStatus().getStatusCode()).isEqualTo(io.opentelemetry.api.trace.StatusCode.UNSET);
      assertThat(s.getInstrumentationScopeInfo().getName()).isEqualTo(FerryTracing.INSTRUMENTATION_NAME);
    }
    assertThat(attr(backServer, "rpc.service")).isEqualTo("ferry.test.Back");
    assertThat(attr(backServer, "rpc.method")).isEqualTo("Get");
    assertThat(attr(backServer, "back.key")).isEqualTo("k");
    assertThat(attr(clientCall, "server.address")).isEqualTo("127.0.0.1");
    assertThat(clientCall.getAttributes().get(AttributeKey.longKey("server.port"))).isPositive();
    assertThat(attr(frontServer, "server.address")).as("not on server spans").isNull();
  }

  @Test
  void failuresSetStatusesAsTheConventionsSay() throws Exception {
    frontAndBack();
    FerryChannel back = toBack;

    assertThatThrownBy(() -> back.blockingCall(BACK, StringValue.of("missing"), TEN_SECONDS))
        .isInstanceOf(FerryException.class);
    SpanData clientSpan = span("ferry.test.Back/Get", SpanKind.CLIENT);
    SpanData serverSpan = span("ferry.test.Back/Get", SpanKind.SERVER);
    // A caller's mistake: an error for the client, not for the server.
    assertThat(clientSpan.getStatus().getStatusCode()).isEqualTo(io.opentelemetry.api.trace.StatusCode.ERROR);
    assertThat(clientSpan.getStatus().getDescription()).isEqualTo("no such key");
    assertThat(attr(clientSpan, "rpc.response.status_code")).isEqualTo("NOT_FOUND");
    assertThat(attr(clientSpan, "error.type")).isEqualTo("NOT_FOUND");
    assertThat(serverSpan.getStatus().getStatusCode()).isEqualTo(io.opentelemetry.api.trace.StatusCode.UNSET);
    assertThat(attr(serverSpan, "rpc.response.status_code")).isEqualTo("NOT_FOUND");

    exporter.reset();
    assertThatThrownBy(() -> back.blockingCall(BACK, StringValue.of("crash"), TEN_SECONDS))
        .isInstanceOf(FerryException.class);
    serverSpan = span("ferry.test.Back/Get", SpanKind.SERVER);
    assertThat(serverSpan.getStatus().getStatusCode()).isEqualTo(io.opentelemetry.api.trace.StatusCode.ERROR);
    assertThat(attr(serverSpan, "rpc.response.status_code")).isEqualTo("INTERNAL");

    // A cancelled call whose handler never completes still ends its server span.
    exporter.reset();
    CompletableFuture<StringValue> hanging = back.call(BACK, StringValue.of("hang"), TEN_SECONDS);
    assertThat(backHanging.await(10, TimeUnit.SECONDS)).isTrue();
    hanging.cancel(false);
    assertThat(backCancelled.await(10, TimeUnit.SECONDS)).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> exporter.getFinishedSpanItems().size() == 2);
    assertThat(attr(span("ferry.test.Back/Get", SpanKind.SERVER), "rpc.response.status_code")).isEqualTo("CANCELLED");
    assertThat(attr(span("ferry.test.Back/Get", SpanKind.CLIENT), "rpc.response.status_code")).isEqualTo("CANCELLED");
  }

  @Test
  void theClientSpanIsAChildOfTheCurrentSpanAndReplacesAStaleTraceparent() throws Exception {
    FerryChannel client = frontAndBack();
    Span parent = openTelemetry.getTracer("test").spanBuilder("parent").startSpan();
    CallOptions stale = TEN_SECONDS.withMetadata("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    String reply;
    try (Scope ignored = parent.makeCurrent()) {
      reply = client.blockingCall(FRONT, StringValue.of("k"), stale).getValue();
    } finally {
      parent.end();
    }
    assertThat(reply).as("Back saw one traceparent").isEqualTo("value of k 1");
    SpanData clientCall = span("ferry.test.Front/Lookup", SpanKind.CLIENT);
    assertThat(clientCall.getParentSpanId()).isEqualTo(parent.getSpanContext().getSpanId());
    assertThat(exporter.getFinishedSpanItems()).extracting(SpanData::getTraceId)
        .containsOnly(parent.getSpanContext().getTraceId());
  }

  @Test
  void propagationFieldsAreLowercasedIntoMetadata() {
    Metadata.Builder md = Metadata.builder();
    FerryTracing.SETTER.set(md, "X-B3-TraceId", "abc");
    Metadata built = md.build();
    assertThat(built.get("x-b3-traceid")).isEqualTo("abc");
    assertThat(FerryTracing.GETTER.get(built, "X-B3-TraceId")).isEqualTo("abc");
    assertThat(FerryTracing.GETTER.keys(built)).containsExactly("x-b3-traceid");
  }
}
