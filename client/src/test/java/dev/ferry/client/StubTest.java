package dev.ferry.client;

import static dev.ferry.client.ClientTests.ECHO;
import static dev.ferry.client.ClientTests.s;
import static dev.ferry.client.ClientTests.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** What a generated stub offers on top of the channel: merged metadata, trailers, caller stack traces. */
class StubTest extends FakeServerTestBase {
  /** A stub as the generator writes them, for the echo method. */
  static final class EchoStub extends AbstractStub<EchoStub> {
    private EchoStub(Options options) {
      super(options);
    }

    static EchoStub create(FerryChannel channel) {
      return new EchoStub(Options.of(channel));
    }

    @Override
    protected EchoStub newStub(Options options) {
      return new EchoStub(options);
    }

    StringValue say(StringValue request) {
      return blockingCall(ECHO, request);
    }
  }

  @Test
  void withMetadataMergesAndALaterValueForAKeyReplacesTheEarlierOne() throws Exception {
    server = FakeServer.start();
    server.autoEcho();
    EchoStub stub = EchoStub.create(channel(server.client()))
        .withMetadata(Metadata.builder().add("tenant", "acme").add("x-trace", "t1").build())
        .withMetadata(Metadata.of("x-request-id", "42"))
        .withMetadata(Metadata.of("Tenant", "other"));

    stub.say(s("a"));

    assertThat(server.nextRequest().metadata()).isEqualTo(Metadata.builder()
        .add("x-trace", "t1").add("x-request-id", "42").add("tenant", "other").build());

    // Complete options replace what was set before; metadata added afterwards merges into them.
    stub.withOptions(CallOptions.builder().metadata(Metadata.of("only", "this")).build())
        .withMetadata(Metadata.of("and", "this")).say(s("b"));
    assertThat(server.nextRequest().metadata())
        .isEqualTo(Metadata.builder().add("only", "this").add("and", "this").build());
  }

  @Test
  void stubsGiveTheResponseTrailers() throws Exception {
    server = FakeServer.start();
    server.autoRespond(r -> r.respond(s("ok:" + r.string()), Metadata.of("x-cost", r.string())));
    EchoStub stub = EchoStub.create(channel(server.client())).withTimeout(Duration.ofSeconds(10));

    Response<StringValue> blocking = stub.exchange(ECHO, s("7"));
    Response<StringValue> async = value(stub.exchangeAsync(ECHO, s("8")));

    assertThat(blocking.message().getValue()).isEqualTo("ok:7");
    assertThat(blocking.trailers().get("x-cost")).isEqualTo("7");
    assertThat(async.trailers().get("x-cost")).isEqualTo("8");
    assertThat(server.nextRequest().timeoutMicros()).as("the stub's options apply").isPositive();
  }

  @Test
  void blockingFailuresCarryTheCallersStackWithTheEventLoopOriginalAsCause() throws Exception {
    server = FakeServer.start();
    server.autoRespond(r -> r.fail(StatusCode.NOT_FOUND, "no such key: k", Metadata.of("x-shard", "3")));
    EchoStub stub = EchoStub.create(channel(server.client()));

    FerryException viaStub = catchThrowableOfType(() -> stub.say(s("k")), FerryException.class);
    FerryException viaExchange = catchThrowableOfType(() -> stub.exchange(ECHO, s("k")), FerryException.class);

    for (FerryException e : new FerryException[] {viaStub, viaExchange}) {
      assertThat(e.code()).isEqualTo(StatusCode.NOT_FOUND);
      assertThat(e.getMessage()).isEqualTo("NOT_FOUND: no such key: k");
      assertThat(e.trailers().get("x-shard")).isEqualTo("3");
      assertThat(hasFrameOf(e, StubTest.class)).as("the caller's frames are in the trace").isTrue();
      assertThat(e.getCause()).isInstanceOfSatisfying(FerryException.class, original -> {
        assertThat(original.code()).isEqualTo(StatusCode.NOT_FOUND);
        assertThat(hasFrameOf(original, StubTest.class)).as("completed on the event loop").isFalse();
      });
    }
  }

  @Test
  void aLocalDeadlineIsThrownWithTheCallersStackToo() {
    server = FakeServer.start(); // never answers
    FerryChannel ch = channel(server.client());

    FerryException e = catchThrowableOfType(() -> ch.blockingCall(ECHO, s("slow"),
        CallOptions.builder().timeout(Duration.ofMillis(50)).build()), FerryException.class);

    assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED);
    assertThat(hasFrameOf(e, StubTest.class)).isTrue();
    assertThat(e.getCause()).isInstanceOf(FerryException.class);
  }

  private static boolean hasFrameOf(Throwable t, Class<?> type) {
    return Arrays.stream(t.getStackTrace()).anyMatch(f -> f.getClassName().startsWith(type.getName()));
  }
}
