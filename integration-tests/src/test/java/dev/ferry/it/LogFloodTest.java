package dev.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ferry.internal.ErrorCode;
import dev.ferry.internal.Frame;
import dev.ferry.internal.FrameType;
import dev.ferry.internal.LogAggregator;
import dev.ferry.server.FerryServer;
import dev.ferry.server.FerryServerBuilder;
import dev.ferry.server.ServerTls;
import dev.ferry.testing.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hundreds of hostile connections do not write hundreds of lines at WARN: each kind of line a peer can
 * cause is logged in full once, then counted (LogAggregator, one line per second at most for the count),
 * every connection still gets its own line at DEBUG, and the counts add up to every connection.
 */
class LogFloodTest {
  private static final int CONNECTIONS = 200;
  /** A v1 preface and an empty SETTINGS: a valid start. */
  private static final byte[] PREFACE_AND_SETTINGS = concat(new byte[] {(byte) 0xfe, 0x46, 0x52, 0x59, 0, 1, 0, 0},
      RawPeer.encode(new Frame(FrameType.SETTINGS, 0, 0, 0, io.netty.buffer.Unpooled.EMPTY_BUFFER)));

  private final TestService service = new TestService();
  private LogCapture logs;
  private FerryServer server;

  @BeforeEach
  void start() throws Exception {
    logs = new LogCapture();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (server != null) {
        server.shutdownNow();
        assertThat(server.awaitTermination(Duration.ofSeconds(10))).isTrue();
      }
    } finally {
      logs.close();
    }
  }

  /** A server with short timeouts; the heartbeat's only fires first where a test shortens it. */
  private FerryServer server(FerryServerBuilder options) throws Exception {
    server = options.host("127.0.0.1").addService(service.definition())
        .handshakeTimeout(Duration.ofMillis(300))
        .frameReadTimeout(Duration.ofMillis(300))
        .build().start();
    return server;
  }

  @Test
  void protocolViolations() throws Exception {
    server(FerryServer.builder());
    // A frame of type 0x09, which v1 does not define, right after a valid handshake.
    byte[] bad = concat(PREFACE_AND_SETTINGS, header(16, 0x09));
    flood(bad, "(PROTOCOL_ERROR)", "connections closed for PROTOCOL_ERROR", true);
  }

  @Test
  void slowDrips() throws Exception {
    server(FerryServer.builder());
    // 10 bytes of a frame header, then nothing: the frame read timeout cuts each one off.
    byte[] drip = concat(PREFACE_AND_SETTINGS, java.util.Arrays.copyOf(header(100, FrameType.REQUEST.code()), 10));
    flood(drip, "(FRAME_TIMEOUT)", "connections closed for FRAME_TIMEOUT", true);
  }

  @Test
  void silentConnections() throws Exception {
    server(FerryServer.builder());
    flood(new byte[0], "(HANDSHAKE_TIMEOUT)", "connections closed for HANDSHAKE_TIMEOUT", true);
  }

  @Test
  void peersThatAnswerNoHeartbeat() throws Exception {
    server(FerryServer.builder().heartbeatInterval(Duration.ofMillis(100)).heartbeatTimeout(Duration.ofMillis(300)));
    flood(PREFACE_AND_SETTINGS, "(heartbeat timeout)", "connections closed by the heartbeat timeout", true);
  }

  @Test
  void failedTlsHandshakes(@TempDir Path dir) throws Exception {
    TestPki.Authority ca = TestPki.newAuthority("Flood CA");
    ca.issue(TestPki.spec("localhost").dns("localhost").ip("127.0.0.1").server()).writePem(dir, "server");
    server(FerryServer.builder().tls(ServerTls.builder()
        .keyCertChain(dir.resolve("server.crt"), dir.resolve("server.key")).build()));
    // A TLS record holding a ClientHello that is cut short: the handshake fails at the first message.
    byte[] broken = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
    flood(broken, "TLS handshake failed", "connections closed after a failed TLS handshake", true);
  }

  @Test
  void clientsThatSendError() throws Exception {
    server(FerryServer.builder());
    byte[] error = concat(PREFACE_AND_SETTINGS,
        RawPeer.encode(Frame.error(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, ErrorCode.INTERNAL_ERROR, "bye")));
    // (ServerConnectionHandler's DEBUG lines are not shown in these tests: only the counts are checked.)
    flood(error, "reported INTERNAL_ERROR: bye", "connections closed by the client with ERROR", false);
  }

  @Test
  void connectionsOverTheLimit() throws Exception {
    server(FerryServer.builder().maxConnections(1));
    try (Socket admitted = new Socket()) {
      admitted.connect(new InetSocketAddress("127.0.0.1", server.port()), 10_000);
      admitted.getOutputStream().write(PREFACE_AND_SETTINGS); // it keeps the one place
      admitted.setSoTimeout(10_000);
      admitted.getInputStream().readNBytes(8); // its preface: admitted
      flood(new byte[0], "Refused connection from", "connections refused (maxConnections)", true);
    }
  }

  /**
   * Opens {@link #CONNECTIONS} connections that each send {@code bytes} and wait to be closed, then checks
   * the log: a bounded number of lines above DEBUG, the counts adding up to every connection, and (when
   * {@code eachAtDebug}, the logger's DEBUG lines being shown) a line per connection, found by its port.
   */
  private void flood(byte[] bytes, String marker, String what, boolean eachAtDebug) throws Exception {
    long start = System.nanoTime();
    List<Socket> sockets = new ArrayList<>();
    Set<String> ports = new HashSet<>();
    try {
      for (int i = 0; i < CONNECTIONS; i++) {
        Socket s = new Socket();
        sockets.add(s);
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 10_000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(bytes);
        s.getOutputStream().flush();
        ports.add(":" + s.getLocalPort());
      }
      for (Socket s : sockets) {
        readUntilClosed(s.getInputStream());
      }
    } finally {
      for (Socket s : sockets) {
        s.close();
      }
    }
    Pattern count = Pattern.compile(" (\\d+) more " + Pattern.quote(what) + " in the last \\d+ ms");
    // Every connection has its line, at WARN (the first) or DEBUG (the others), and the WARN count lines
    // add up to all of those at DEBUG. The last count line comes up to a second after the last close.
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Set<String> logged = new HashSet<>();
      long counted = 0;
      int inFull = 0;
      for (String line : logs.lines()) {
        Matcher m = count.matcher(line);
        if (!line.contains(" DEBUG ") && m.find()) {
          counted += Long.parseLong(m.group(1));
        }
        String port = line.contains(marker) ? portOf(line, ports) : null;
        if (port != null) {
          logged.add(port);
          inFull += line.contains(" DEBUG ") ? 0 : 1;
        }
      }
      if (eachAtDebug) {
        assertThat(ports).as("connections without their line").allMatch(logged::contains);
      }
      // Count lines may also count a straggler of another test: at least ours, then.
      assertThat(inFull + counted).as("connections logged in full or counted above DEBUG")
          .isGreaterThanOrEqualTo(CONNECTIONS);
    });
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
    List<String> warn = new ArrayList<>();
    for (String line : logs.lines()) {
      if ((line.contains(" WARN ") || line.contains(" INFO ")) && (line.contains(marker) || count.matcher(line).find())) {
        warn.add(line);
      }
    }
    // The first line in full, then a count line per interval at most, for as long as the flood lasted.
    long intervals = seconds / LogAggregator.DEFAULT_INTERVAL.toSeconds() + 2;
    assertThat(warn).as("lines above DEBUG for %d connections in %d s", CONNECTIONS, seconds)
        .hasSizeLessThanOrEqualTo((int) (2 * intervals));
  }

  private static String portOf(String line, Set<String> ports) {
    Matcher m = Pattern.compile(":(\\d+)\\b").matcher(line);
    while (m.find()) {
      String port = ":" + m.group(1);
      if (ports.contains(port)) {
        return port;
      }
    }
    return null;
  }

  /** Reads and drops what the server sends until it closes (or resets) the connection. */
  private static void readUntilClosed(InputStream in) throws IOException {
    byte[] buf = new byte[4096];
    try {
      while (in.read(buf) >= 0) {
        // drop
      }
    } catch (java.net.SocketException reset) {
      // closed with a reset: closed all the same
    }
  }

  /** A frame header: length, type, no flags, request id 1 for call types and 0 otherwise, meta length 0. */
  private static byte[] header(int length, int type) {
    int id = type == FrameType.REQUEST.code() ? 1 : 0;
    return java.nio.ByteBuffer.allocate(16).putInt(length).put((byte) type).put((byte) 0).putShort((short) 0)
        .putInt(id).putInt(0).array();
  }

  private static byte[] concat(byte[] a, byte[] b) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(a);
    out.writeBytes(b);
    return out.toByteArray();
  }
}
