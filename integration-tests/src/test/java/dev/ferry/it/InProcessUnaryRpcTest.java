package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.BytesValue;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import dev.ferry.client.FerryChannelBuilder;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Every case of {@link UnaryRpcTest}, over the in-process transport; and what is particular to it. */
class InProcessUnaryRpcTest extends UnaryRpcTest {
  private static final AtomicInteger NAMES = new AtomicInteger();

  private String name;

  @Override
  FerryServerBuilder serverBuilder() {
    name = "unary-" + NAMES.incrementAndGet();
    return FerryServer.builder().inProcess(name);
  }

  @Override
  FerryChannelBuilder channelBuilder(FerryServer server) {
    return FerryChannel.inProcessBuilder(name);
  }

  @Test
  void anInProcessServerHasNoPortAndItsNameIsItsOwn() throws Exception {
    FerryServer running = FerryServer.builder().inProcess("taken").addService(new TestService().definition())
        .build().start();
    try {
      assertThatThrownBy(running::port).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("in-process server \"taken\" has no port");
      FerryServer second = FerryServer.builder().inProcess("taken").addService(new TestService().definition())
          .build();
      assertThatThrownBy(second::start).isInstanceOf(IOException.class)
          .hasMessageStartingWith("could not bind in-process:taken: ");
      assertThat(second.isTerminated()).isTrue();
    } finally {
      running.close();
    }
  }

  @Test
  void aNameNobodyServesIsUnavailableAndSaysSo() {
    try (FerryChannel nowhere = FerryChannel.inProcessBuilder("nobody-serves-this").build()) {
      assertThatThrownBy(() -> nowhere.blockingCall(TestService.ECHO, BytesValue.getDefaultInstance(),
          CallOptions.DEFAULT))
          .isInstanceOfSatisfying(FerryException.class, e -> {
            assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
            assertThat(e.description()).contains("could not connect to in-process:nobody-serves-this");
          });
    }
  }
}
