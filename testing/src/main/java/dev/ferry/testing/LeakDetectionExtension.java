package dev.ferry.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty's leak detector reports a leaked buffer while (or before) it ran.
 *
 * <p>Registered automatically for every test class of every module (through {@code META-INF/services}
 * and the surefire setting {@code junit.jupiter.extensions.autodetection.enabled}); the build runs
 * tests with {@code -Dio.netty.leakDetection.level=paranoid}, so every buffer is tracked.
 *
 * <p>Netty can only notice a leak after the garbage collector has reclaimed the leaked buffer, and
 * only when a later allocation polls its queue. After each class this extension therefore runs a
 * few rounds of "collect garbage, allocate and release a buffer" before it looks at what was
 * recorded. A leak created by one class and found only after the next one is blamed on the later
 * class; the report carries Netty's access records, which name the real culprit.
 */
public final class LeakDetectionExtension implements BeforeAllCallback, AfterAllCallback {

  private static final List<String> LEAKS = new ArrayList<>();

  static {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    // Leaks from before this class (static initialisers, an earlier class's stragglers) belong to no one
    // in particular; flush them now so they are reported, and so they are not blamed on this class.
    List<String> earlier = collectLeaks();
    if (!earlier.isEmpty()) {
      throw new AssertionError("Netty reported buffer leaks before " + context.getDisplayName() + ":\n"
          + String.join("\n\n", earlier));
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    List<String> leaks = collectLeaks();
    if (!leaks.isEmpty()) {
      throw new AssertionError(leaks.size() + " buffer leak(s) reported by Netty during "
          + context.getDisplayName() + ":\n" + String.join("\n\n", leaks));
    }
  }

  /** Runs the garbage collector and polls the leak detector, then returns and clears what it recorded. */
  public static List<String> collectLeaks() {
    for (int round = 0; round < 4; round++) {
      System.gc();
      // Let the reference-handler thread enqueue what the collector found; this is not test
      // synchronisation, only the detector's own asynchrony.
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      for (int i = 0; i < 8; i++) {
        ByteBuf probe = UnpooledByteBufAllocator.DEFAULT.heapBuffer(1);
        probe.release();
      }
    }
    synchronized (LEAKS) {
      List<String> copy = new ArrayList<>(LEAKS);
      LEAKS.clear();
      return copy;
    }
  }

  private static void record(String kind, String resourceType, String records) {
    synchronized (LEAKS) {
      LEAKS.add(kind + " leak of " + resourceType + (records.isEmpty() ? "" : ":" + records));
    }
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    @SuppressWarnings("deprecation")
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return newResourceLeakDetector(resource, samplingInterval);
    }

    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
      return new RecordingDetector<>(resource, samplingInterval);
    }
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    RecordingDetector(Class<T> resource, int samplingInterval) {
      super(resource, samplingInterval);
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      record("Traced", resourceType, records);
      super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      record("Untraced", resourceType, "");
      super.reportUntracedLeak(resourceType);
    }
  }
}
