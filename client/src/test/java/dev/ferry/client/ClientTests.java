package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.google.protobuf.BytesValue;
import com.google.protobuf.StringValue;
import dev.ferry.FerryException;
import dev.ferry.MethodDescriptor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Methods and helpers shared by the client tests. */
final class ClientTests {
  static final MethodDescriptor<StringValue, StringValue> ECHO =
      MethodDescriptor.of("test.Echo/Say", StringValue.parser(), StringValue.parser());
  static final MethodDescriptor<BytesValue, BytesValue> BLOB =
      MethodDescriptor.of("test.Blob/Put", BytesValue.parser(), BytesValue.parser());

  private ClientTests() {}

  static StringValue s(String value) {
    return StringValue.of(value);
  }

  /** The FerryException {@code future} failed with (waits up to 10 s). */
  static FerryException failure(CompletableFuture<?> future) {
    Throwable t = catchThrowable(() -> future.get(10, TimeUnit.SECONDS));
    assertThat(t).as("the call should fail").isInstanceOf(ExecutionException.class);
    assertThat(t.getCause()).isInstanceOf(FerryException.class);
    return (FerryException) t.getCause();
  }

  /** The value {@code future} completed with (waits up to 10 s). */
  static <T> T value(CompletableFuture<T> future) throws Exception {
    return future.get(10, TimeUnit.SECONDS);
  }
}
