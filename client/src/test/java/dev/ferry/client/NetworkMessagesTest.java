package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

/** Network errors reach callers in plain words, with no system call, error number or repeated address. */
class NetworkMessagesTest {
  @Test
  void nativeTransportErrorsLoseTheSystemCallAndErrorNumber() {
    // The text of Netty's Errors.NativeIoException (made here without loading the native library).
    assertThat(Failures.describe(new IOException("recvAddress(..) failed with error(-104): Connection reset by peer")))
        .isEqualTo("connection reset by peer");
    assertThat(Failures.describe(new IOException("writevAddresses(..) failed with error(-32): Broken pipe")))
        .isEqualTo("broken pipe");
  }

  @Test
  void aFailedConnectSaysWhyWithoutTheAddressNettyAppends() {
    // Epoll: Netty wraps "finishConnect(..) failed with error(-111): Connection refused" and appends the address.
    ConnectException original = new ConnectException("finishConnect(..) failed with error(-111): Connection refused");
    ConnectException annotated = new ConnectException(original.getMessage() + ": 127.0.0.1/127.0.0.1:17101");
    annotated.initCause(original);
    assertThat(Failures.describe(annotated)).isEqualTo("connection refused");
    // NIO: the JDK's text, annotated the same way.
    ConnectException nio = new ConnectException("Connection refused: localhost/127.0.0.1:7070");
    assertThat(Failures.describe(nio)).isEqualTo("connection refused");
    assertThat(Failures.describe(new ConnectException("Connection refused: /127.0.0.1:7070")))
        .isEqualTo("connection refused");
  }

  @Test
  void otherMessagesAreKept() {
    assertThat(Failures.describe(new IOException("Connection timed out"))).isEqualTo("connection timed out");
    assertThat(Failures.describe(new IOException("SSL: BAD_RECORD"))).isEqualTo("SSL: BAD_RECORD");
    assertThat(Failures.describe(new IOException())).isEqualTo("IOException");
    assertThat(Failures.describe(new IllegalStateException("Boom: x"))).isEqualTo("Boom: x");
  }
}
