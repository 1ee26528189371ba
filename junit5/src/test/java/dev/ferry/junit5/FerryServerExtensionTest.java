package dev.ferry.junit5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import com.google.protobuf.StringValue;
import dev.ferry.Metadata;
import dev.ferry.MethodDescriptor;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.Response;
import dev.ferry.server.FerryServer;
import dev.ferry.server.ServiceDefinition;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.testkit.engine.EngineTestKit;

/** The extension's life cycle, run through JUnit itself on the nested test classes below. */
class FerryServerExtensionTest {
  static final MethodDescriptor<StringValue, StringValue> HELLO =
      MethodDescriptor.of("test.Hello/Say", StringValue.parser(), StringValue.parser());

  /** Servers seen by the nested tests, in order. */
  static final List<FerryServer> SEEN = new CopyOnWriteArrayList<>();

  static ServiceDefinition hello() {
    return ServiceDefinition.builder("test.Hello")
        .unary(HELLO, (request, context) -> {
          context.addTrailer("x-served-by", "hello");
          return StringValue.of("Hello, " + request.getValue() + "!");
        })
        .build();
  }

  static void callAndRecord(FerryServerExtension ferry) {
    Response<StringValue> response = ferry.channel().blockingExchange(HELLO, StringValue.of("test"),
        dev.ferry.client.CallOptions.DEFAULT);
    assertThat(response.message().getValue()).isEqualTo("Hello, test!");
    assertThat(response.trailers()).isEqualTo(Metadata.of("x-served-by", "hello"));
    SEEN.add(ferry.server());
  }

  static class SharedByTheClass {
    @RegisterExtension
    static final FerryServerExtension ferry = FerryServerExtension.inProcess(hello());

    @Test
    void first() {
      callAndRecord(ferry);
    }

    @Test
    void second() {
      callAndRecord(ferry);
    }
  }

  static class OnePerTestOverTcp {
    @RegisterExtension
    final FerryServerExtension ferry = FerryServerExtension.builder().addService(hello()).tcp()
        .channel(b -> b.defaultTimeout(Duration.ofSeconds(5))).build();

    @Test
    void first() {
      assertThat(ferry.server().port()).isPositive();
      callAndRecord(ferry);
      try (FerryChannel another = ferry.channelBuilder().build()) {
        assertThat(another.blockingCall(HELLO, StringValue.of("again")).getValue()).isEqualTo("Hello, again!");
      }
    }

    @Test
    void second() {
      callAndRecord(ferry);
    }
  }

  @Test
  void aStaticExtensionServesEveryTestOfTheClassAndClosesAfterTheLast() {
    SEEN.clear();
    EngineTestKit.engine("junit-jupiter").selectors(selectClass(SharedByTheClass.class)).execute()
        .testEvents().assertStatistics(stats -> stats.started(2).succeeded(2));

    assertThat(SEEN).hasSize(2);
    assertThat(SEEN.get(0)).isSameAs(SEEN.get(1));
    assertThat(SEEN.get(0).isTerminated()).isTrue();
    assertThatThrownBy(SharedByTheClass.ferry::channel).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no server running");
  }

  @Test
  void anInstanceExtensionGivesEachTestItsOwnServer() {
    SEEN.clear();
    EngineTestKit.engine("junit-jupiter").selectors(selectClass(OnePerTestOverTcp.class)).execute()
        .testEvents().assertStatistics(stats -> stats.started(2).succeeded(2));

    assertThat(SEEN).hasSize(2);
    assertThat(SEEN.get(0)).isNotSameAs(SEEN.get(1));
    assertThat(SEEN).allMatch(FerryServer::isTerminated);
  }

  @Test
  void anExtensionWithoutServicesIsRefused() {
    assertThatThrownBy(() -> FerryServerExtension.builder().build()).isInstanceOf(IllegalStateException.class)
        .hasMessage("no services (expected: at least one addService call)");
  }
}
