package dev.ferry.junit5;

import static java.util.Objects.requireNonNull;

import dev.ferry.client.FerryChannel;
import dev.ferry.client.FerryChannelBuilder;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServiceDefinition;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension that runs a Ferry server with your services for a test and gives a channel to
 * it: by default in-process (no socket, see {@code FerryServerBuilder.inProcess}), or over TCP on a
 * free loopback port.
 *
 * <pre>{@code
 * class GreeterTest {
 *   @RegisterExtension
 *   static final FerryServerExtension ferry = FerryServerExtension.inProcess(GreeterFerryService.bind(new Greeter()));
 *
 *   @Test
 *   void greets() {
 *     GreeterFerryStub greeter = GreeterFerryStub.create(ferry.channel());
 *     assertEquals("Hello, test!", greeter.sayHello(HelloRequest.newBuilder().setName("test").build()).getMessage());
 *   }
 * }
 * }</pre>
 *
 * <p>Registered in a {@code static} field, one server and channel serve every test of the class (started
 * before the first, closed after the last); in an instance field, each test gets its own, with the
 * services that instance built. Closing is abrupt ({@link FerryServer#shutdownNow()}): a test does not
 * wait for calls it left running.
 *
 * <p>Threads: JUnit calls the callbacks on the thread running the tests; {@link #channel()} and
 * {@link #server()} may be called from any thread while the server runs.
 */
public final class FerryServerExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
  private static final AtomicInteger NAMES = new AtomicInteger();
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private final List<ServiceDefinition> services;
  private final boolean tcp;
  private final Consumer<FerryServerBuilder> serverOptions;
  private final Consumer<FerryChannelBuilder> channelOptions;

  private volatile FerryServer server;
  private volatile FerryChannel channel;
  private volatile String name;
  private boolean perClass;

  private FerryServerExtension(Builder b) {
    this.services = List.copyOf(b.services);
    this.tcp = b.tcp;
    this.serverOptions = b.serverOptions;
    this.channelOptions = b.channelOptions;
  }

  /** An extension serving {@code services} in-process. */
  public static FerryServerExtension inProcess(ServiceDefinition... services) {
    return builder().addServices(services).build();
  }

  /** An extension serving {@code services} over TCP on 127.0.0.1, on a free port. */
  public static FerryServerExtension tcp(ServiceDefinition... services) {
    return builder().addServices(services).tcp().build();
  }

  /** A builder, for server or channel options. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The channel to the server, shared by the tests it serves; it is closed with the server.
   *
   * @throws IllegalStateException outside the tests the extension serves
   */
  public FerryChannel channel() {
    FerryChannel c = channel;
    if (c == null) {
      throw new IllegalStateException("no server running (the channel exists while a test runs)");
    }
    return c;
  }

  /**
   * The running server (for {@link FerryServer#port()} over TCP, or to shut it down in a test).
   *
   * @throws IllegalStateException outside the tests the extension serves
   */
  public FerryServer server() {
    FerryServer s = server;
    if (s == null) {
      throw new IllegalStateException("no server running (it runs while a test runs)");
    }
    return s;
  }

  /**
   * A builder of another channel to the server, with the channel options given to the extension
   * applied; the test builds and closes it. For a test that needs a second client or other options.
   */
  public FerryChannelBuilder channelBuilder() {
    FerryServer s = server();
    FerryChannelBuilder b = tcp ? FerryChannel.builder("127.0.0.1", s.port()) : FerryChannel.inProcessBuilder(name);
    channelOptions.accept(b);
    return b;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    perClass = true;
    start(context);
  }

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    if (!perClass) {
      start(context);
    }
  }

  @Override
  public void afterEach(ExtensionContext context) throws InterruptedException {
    if (!perClass) {
      stop();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws InterruptedException {
    stop();
  }

  private void start(ExtensionContext context) throws IOException {
    FerryServerBuilder b = FerryServer.builder();
    if (tcp) {
      b.host("127.0.0.1").port(0);
    } else {
      name = context.getRequiredTestClass().getSimpleName() + "-" + NAMES.incrementAndGet();
      b.inProcess(name);
    }
    services.forEach(b::addService);
    serverOptions.accept(b);
    server = b.build().start();
    channel = channelBuilder().build();
  }

  private void stop() throws InterruptedException {
    FerryChannel c = channel;
    FerryServer s = server;
    channel = null;
    server = null;
    if (c != null) {
      c.shutdownNow();
      c.awaitTermination(STOP_TIMEOUT);
    }
    if (s != null) {
      s.shutdownNow();
      if (!s.awaitTermination(STOP_TIMEOUT)) {
        throw new IllegalStateException("server did not terminate within " + STOP_TIMEOUT);
      }
    }
  }

  /** Builds a {@link FerryServerExtension}. Not thread-safe. */
  public static final class Builder {
    private final List<ServiceDefinition> services = new ArrayList<>();
    private boolean tcp;
    private Consumer<FerryServerBuilder> serverOptions = b -> { };
    private Consumer<FerryChannelBuilder> channelOptions = b -> { };

    private Builder() {}

    /** Serves {@code service}. */
    public Builder addService(ServiceDefinition service) {
      services.add(requireNonNull(service, "service"));
      return this;
    }

    private Builder addServices(ServiceDefinition... services) {
      requireNonNull(services, "services");
      for (ServiceDefinition s : services) {
        addService(s);
      }
      return this;
    }

    /** Serves in-process, without a socket (the default). */
    public Builder inProcess() {
      this.tcp = false;
      return this;
    }

    /** Serves over TCP on 127.0.0.1, on a free port: for tests of what only sockets do. */
    public Builder tcp() {
      this.tcp = true;
      return this;
    }

    /**
     * Sets more server options (interceptors, an executor, limits) on the builder before the server is
     * built: {@code .server(b -> b.intercept(new CallTimer()))}. Leave the address alone.
     */
    public Builder server(Consumer<FerryServerBuilder> options) {
      this.serverOptions = requireNonNull(options, "options");
      return this;
    }

    /**
     * Sets channel options (a default timeout, interceptors) on the builder of {@link #channel()} and
     * of {@link #channelBuilder()}: {@code .channel(b -> b.defaultTimeout(Duration.ofSeconds(5)))}.
     */
    public Builder channel(Consumer<FerryChannelBuilder> options) {
      this.channelOptions = requireNonNull(options, "options");
      return this;
    }

    /**
     * The extension.
     *
     * @throws IllegalStateException if no service was added
     */
    public FerryServerExtension build() {
      if (services.isEmpty()) {
        throw new IllegalStateException("no services (expected: at least one addService call)");
      }
      return new FerryServerExtension(this);
    }
  }
}
