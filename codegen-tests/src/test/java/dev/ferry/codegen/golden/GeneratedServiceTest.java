package dev.ferry.codegen.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Empty;
import dev.ferry.FerryException;
import dev.ferry.Metadata;
import dev.ferry.StatusCode;
import dev.ferry.client.FerryChannel;
import dev.ferry.golden.clash.ClashOuterClass.CallOptions;
import dev.ferry.golden.clash.ClashOuterClass.Clash;
import dev.ferry.golden.clash.ClashOuterClass.MethodDescriptor;
import dev.ferry.golden.clash.CollisionsFerry;
import dev.ferry.golden.clash.CollisionsFerryService;
import dev.ferry.golden.clash.CollisionsFerryStub;
import dev.ferry.golden.clash.SecondFerryService;
import dev.ferry.golden.clash.SecondFerryStub;
import dev.ferry.golden.greeter.GreeterFerry;
import dev.ferry.golden.greeter.GreeterFerryService;
import dev.ferry.golden.greeter.GreeterFerryStub;
import dev.ferry.golden.greeter.HelloReply;
import dev.ferry.golden.greeter.HelloRequest;
import dev.ferry.server.CallContext;
import dev.ferry.server.FerryServer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import ferry.golden.nested.deep.NestedProtos.Envelope;
import ferry.golden.nested.deep.NestingFerryService;
import ferry.golden.nested.deep.NestingFerryStub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The generated server bases and stubs, called over a real connection. */
class GeneratedServiceTest {
  private static FerryServer server;
  private static FerryChannel channel;
  /** Holds "slow" calls until the test is over: they end by their deadline, never by a timer here. */
  private static final java.util.concurrent.CountDownLatch RELEASE = new java.util.concurrent.CountDownLatch(1);

  /** Blocking style: SayHello implemented, SayGoodbye left to its UNIMPLEMENTED default. */
  static final class Greeter implements GreeterFerryService {
    @Override
    public HelloReply sayHello(HelloRequest request, CallContext context) throws InterruptedException {
      if (request.getName().equals("slow")) {
        RELEASE.await();
      }
      String suffix = context.metadata().get("x-suffix");
      return HelloReply.newBuilder().setText("Hello, " + request.getName() + (suffix == null ? "" : suffix)).build();
    }
  }

  /** Asynchronous style, with every awkward method name. */
  static final class Collisions implements CollisionsFerryService.Async {
    private static CompletionStage<Clash> echo(String tag, Clash request) {
      return CompletableFuture.completedFuture(Clash.newBuilder().setValue(tag + ":" + request.getValue()).build());
    }

    @Override
    public CompletionStage<Clash> getClass(Clash request, CallContext context) {
      return echo("getClass", request);
    }

    @Override
    public CompletionStage<MethodDescriptor> hashCode(dev.ferry.golden.clash.ClashOuterClass.Metadata request,
        CallContext context) {
      return CompletableFuture.completedFuture(MethodDescriptor.newBuilder().setValue("#" + request.getValue()).build());
    }

    @Override
    public CompletionStage<Clash> toString(CallOptions request, CallContext context) {
      return CompletableFuture.completedFuture(Clash.newBuilder().setValue("toString:" + request.getValue()).build());
    }

    @Override
    public CompletionStage<Clash> class_(Clash request, CallContext context) {
      return echo("class", request);
    }

    @Override
    public CompletionStage<Clash> foo(Clash request, CallContext context) {
      return echo("foo", request);
    }

    @Override
    public CompletionStage<Clash> fooAsync(Clash request, CallContext context) {
      return echo("fooAsync", request);
    }

    @Override
    public CompletionStage<Empty> ping(Empty request, CallContext context) {
      return CompletableFuture.completedFuture(Empty.getDefaultInstance());
    }
  }

  @BeforeAll
  static void start() throws Exception {
    server = FerryServer.builder().host("127.0.0.1")
        .addService(GreeterFerryService.bind(new Greeter()))
        .addService(CollisionsFerryService.bindAsync(new Collisions()))
        .addService(SecondFerryService.bind(new SecondFerryService() {}))
        .addService(NestingFerryService.bind(new NestingFerryService() {
          @Override
          public Envelope.Inner.Innermost unwrap(Envelope request, CallContext context) {
            return request.getInner().getInnermost();
          }
        }))
        .build().start();
    channel = FerryChannel.builder("127.0.0.1", server.port()).build();
  }

  @AfterAll
  static void stop() throws Exception {
    RELEASE.countDown();
    channel.close();
    server.close();
  }

  @Test
  void blockingAndAsyncCallsThroughTheStub() throws Exception {
    GreeterFerryStub stub = GreeterFerryStub.create(channel);
    assertThat(stub.sayHello(HelloRequest.newBuilder().setName("Ada").build()).getText()).isEqualTo("Hello, Ada");
    assertThat(stub.sayHelloAsync(HelloRequest.newBuilder().setName("Grace").build()).get(10, TimeUnit.SECONDS)
        .getText()).isEqualTo("Hello, Grace");
    assertThat(GreeterFerry.SAY_HELLO.fullName()).isEqualTo("ferry.golden.greeter.Greeter/SayHello");
  }

  @Test
  void metadataAndTimeoutPerStub() {
    GreeterFerryStub stub = GreeterFerryStub.create(channel).withMetadata(Metadata.of("x-suffix", "!"));
    assertThat(stub.sayHello(HelloRequest.newBuilder().setName("Ada").build()).getText()).isEqualTo("Hello, Ada!");
    GreeterFerryStub hurried = stub.withTimeout(Duration.ofMillis(200));
    assertThatThrownBy(() -> hurried.sayHello(HelloRequest.newBuilder().setName("slow").build()))
        .isInstanceOfSatisfying(FerryException.class,
            e -> assertThat(e.code()).isEqualTo(StatusCode.DEADLINE_EXCEEDED));
    assertThatThrownBy(() -> stub.withTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void unimplementedMethodsAnswerUnimplemented() {
    assertThatThrownBy(() -> GreeterFerryStub.create(channel).sayGoodbye(HelloRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(FerryException.class, e -> {
          assertThat(e.code()).isEqualTo(StatusCode.UNIMPLEMENTED);
          assertThat(e.description()).contains("SayGoodbye");
        });
    assertThatThrownBy(() -> SecondFerryStub.create(channel).echo(Clash.getDefaultInstance()))
        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.UNIMPLEMENTED));
    assertThatThrownBy(() -> CollisionsFerryStub.create(channel).bind(Clash.getDefaultInstance()))
        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.code()).isEqualTo(StatusCode.UNIMPLEMENTED));
  }

  @Test
  void awkwardNamesWork() throws Exception {
    CollisionsFerryStub stub = CollisionsFerryStub.create(channel);
    Clash x = Clash.newBuilder().setValue("x").build();
    assertThat(stub.getClass(x).getValue()).isEqualTo("getClass:x");
    assertThat(stub.getClass()).isEqualTo(CollisionsFerryStub.class); // Object's method is untouched
    assertThat(stub.class_(x).getValue()).isEqualTo("class:x");
    assertThat(stub.foo(x).getValue()).isEqualTo("foo:x");
    assertThat(stub.fooAsync(x).getValue()).isEqualTo("fooAsync:x"); // the rpc called FooAsync, blocking
    assertThat(stub.fooAsync_(x).get(10, TimeUnit.SECONDS).getValue()).isEqualTo("foo:x"); // Foo, async
    assertThat(stub.hashCode(dev.ferry.golden.clash.ClashOuterClass.Metadata.newBuilder().setValue("1").build())
        .getValue()).isEqualTo("#1");
    assertThat(stub.toString(CallOptions.newBuilder().setValue("y").build()).getValue()).isEqualTo("toString:y");
    assertThat(stub.ping(Empty.getDefaultInstance())).isEqualTo(Empty.getDefaultInstance());
    assertThat(CollisionsFerry.CLASS.fullName()).isEqualTo("ferry.golden.clash.Collisions/Class");
  }

  @Test
  void nestedTypesAndOuterClassNames() {
    Envelope envelope = Envelope.newBuilder().setInner(Envelope.Inner.newBuilder()
        .setInnermost(Envelope.Inner.Innermost.newBuilder().setValue(42))).build();
    assertThat(NestingFerryStub.create(channel).unwrap(envelope).getValue()).isEqualTo(42);
  }
}
