package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.Metadata;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CallOptionsTest {
  @Test
  void defaultHasNoDeadlineAndNoMetadata() {
    assertThat(CallOptions.DEFAULT.hasDeadline()).isFalse();
    assertThat(CallOptions.DEFAULT.metadata()).isSameAs(Metadata.EMPTY);
    assertThatThrownBy(CallOptions.DEFAULT::deadlineNanoTime).isInstanceOf(IllegalStateException.class);
    assertThat(CallOptions.builder().build()).isSameAs(CallOptions.DEFAULT);
  }

  @Test
  void timeoutStaysRelativeSoReusedOptionsGiveEveryCallTheFullTimeout() {
    CallOptions options = CallOptions.builder().timeout(Duration.ofSeconds(2)).build();
    assertThat(options.timeout()).contains(Duration.ofSeconds(2));
    assertThat(options.hasDeadline()).as("a timeout is not a fixed instant").isFalse();
    assertThatThrownBy(options::deadlineNanoTime).isInstanceOf(IllegalStateException.class);
    assertThat(options).isEqualTo(CallOptions.builder().timeout(Duration.ofSeconds(2)).build());
  }

  @Test
  void deadlineAfterFixesOneInstantFromNow() {
    long before = System.nanoTime();
    CallOptions options = CallOptions.builder().deadlineAfter(Duration.ofSeconds(2)).build();
    long after = System.nanoTime();
    assertThat(options.hasDeadline()).isTrue();
    assertThat(options.timeout()).isEmpty();
    assertThat(options.deadlineNanoTime() - before).isGreaterThanOrEqualTo(2_000_000_000L);
    assertThat(options.deadlineNanoTime() - after).isLessThanOrEqualTo(2_000_000_000L);
    assertThat(CallOptions.DEFAULT.withDeadlineAfter(Duration.ZERO).hasDeadline()).isTrue();
    assertThatThrownBy(() -> CallOptions.DEFAULT.withDeadlineAfter(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("duration: PT-0.001S (expected: >= 0)");
  }

  @Test
  void withTimeoutReturnsNewOptionsAndKeepsMetadata() {
    Metadata md = Metadata.of("tenant", "acme");
    CallOptions base = CallOptions.builder().metadata(md).build();
    CallOptions timed = base.withTimeout(Duration.ofMillis(500));
    assertThat(timed).isNotSameAs(base);
    assertThat(base.timeout()).isEmpty();
    assertThat(timed.timeout()).contains(Duration.ofMillis(500));
    assertThat(timed.metadata()).isEqualTo(md);
    assertThat(CallOptions.DEFAULT.timeout()).as("DEFAULT is immutable").isEmpty();
  }

  @Test
  void absoluteDeadlineIsKeptAsGiven() {
    CallOptions options = CallOptions.builder().deadline(123_456L).build();
    assertThat(options.deadlineNanoTime()).isEqualTo(123_456L);
    assertThat(options.toBuilder().build()).isEqualTo(options);
    assertThat(options.toBuilder().noDeadline().build().hasDeadline()).isFalse();
  }

  @Test
  void lastOfTimeoutAndDeadlineWins() {
    CallOptions a = CallOptions.builder().deadline(42).timeout(Duration.ofSeconds(1)).build();
    assertThat(a.hasDeadline()).isFalse();
    assertThat(a.timeout()).contains(Duration.ofSeconds(1));
    CallOptions b = CallOptions.builder().timeout(Duration.ofSeconds(1)).deadline(42).build();
    assertThat(b.deadlineNanoTime()).isEqualTo(42);
    assertThat(b.timeout()).isEmpty();
  }

  @Test
  void rejectsNonPositiveTimeouts() {
    assertThatThrownBy(() -> CallOptions.builder().timeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeout: PT-1S (expected: > 0)");
    assertThatThrownBy(() -> CallOptions.builder().timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeout: PT0S (expected: > 0)");
    assertThatThrownBy(() -> CallOptions.DEFAULT.withTimeout(Duration.ofMillis(-5)))
        .hasMessage("timeout: PT-0.005S (expected: > 0)");
  }

  @Test
  void rejectsNulls() {
    assertThatThrownBy(() -> CallOptions.builder().timeout(null))
        .isInstanceOf(NullPointerException.class).hasMessage("timeout");
    assertThatThrownBy(() -> CallOptions.builder().metadata(null))
        .isInstanceOf(NullPointerException.class).hasMessage("metadata");
  }

  @Test
  void hugeTimeoutsAreCappedSoDeadlinesStayComparable() {
    CallOptions options = CallOptions.builder().timeout(Duration.ofSeconds(Long.MAX_VALUE)).build();
    assertThat(options.timeoutNanos()).isEqualTo(CallOptions.MAX_TIMEOUT_NANOS);
    CallOptions far = CallOptions.builder().deadlineAfter(Duration.ofSeconds(Long.MAX_VALUE)).build();
    long remaining = far.deadlineNanoTime() - System.nanoTime();
    assertThat(remaining).isPositive().isLessThanOrEqualTo(CallOptions.MAX_TIMEOUT_NANOS);
  }
}
