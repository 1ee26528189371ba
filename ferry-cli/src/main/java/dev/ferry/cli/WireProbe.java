package dev.ferry.cli;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A minimal Ferry peer on a blocking socket, written from PROTOCOL.md alone (sections 4 to 7): it
 * connects, exchanges prefaces and SETTINGS, and sends PINGs, timing each step. It makes no calls. Used by
 * {@code ferry ping}, which measures what a FerryChannel does not show: the handshake and the round trip
 * of the protocol's own PING.
 *
 * <p>Not thread-safe: one thread drives it.
 */
final class WireProbe implements AutoCloseable {
  static final byte[] PREFACE = {(byte) 0xfe, 0x46, 0x52, 0x59, 0x00, 0x01, 0x00, 0x00};
  private static final int HEADER = 16;
  private static final int SETTINGS = 0x01;
  private static final int PING = 0x05;
  private static final int PONG = 0x06;
  private static final int GOAWAY = 0x07;
  private static final int ERROR = 0x08;
  private static final String[] ERROR_CODES = {"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FRAME_TOO_LARGE",
      "UNSUPPORTED_VERSION", "TOO_MANY_PINGS", "HANDSHAKE_TIMEOUT", "REFUSED", "FRAME_TIMEOUT"};
  /** The largest frame this peer accepts: the default it announces (an empty SETTINGS). */
  private static final int MAX_FRAME_SIZE = 16 * 1024 * 1024;
  /** Setting ids and names (PROTOCOL.md section 8). */
  static final Map<Integer, String> SETTING_NAMES = Map.of(1, "MAX_FRAME_SIZE", 2, "HEARTBEAT_INTERVAL_MS",
      3, "MAX_CONCURRENT_CALLS", 4, "MIN_PING_INTERVAL_MS", 5, "MAX_METADATA_SIZE");

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  final long connectNanos;
  final long tlsNanos; // 0 without TLS
  final long handshakeNanos;
  /** The TLS version and cipher suite, or null without TLS. */
  String tlsSession;
  /** The server's SETTINGS, by id, in the order sent. */
  final Map<Integer, Long> settings = new LinkedHashMap<>();
  private long nextPing = 1;

  private WireProbe(Socket socket, long connectNanos, long tlsNanos) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
    this.connectNanos = connectNanos;
    this.tlsNanos = tlsNanos;
    long start = System.nanoTime();
    out.write(PREFACE);
    writeFrame(SETTINGS, new byte[0]);
    readPreface();
    readSettings();
    this.handshakeNanos = System.nanoTime() - start;
  }

  /**
   * Connects to {@code target} and completes the Ferry handshake (after TLS, if {@code tls} is given).
   *
   * @param peerHost the name to verify the server's certificate against (and send as SNI when it is a
   *     host name)
   */
  static WireProbe open(Target target, Duration timeout, SSLContext tls, String peerHost,
      boolean verifyHostname) throws IOException {
    Socket plain = new Socket();
    int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    try {
      long t0 = System.nanoTime();
      plain.connect(new InetSocketAddress(target.host(), target.port()), millis);
      long connected = System.nanoTime() - t0;
      plain.setTcpNoDelay(true);
      plain.setSoTimeout(millis);
      if (tls == null) {
        return new WireProbe(plain, connected, 0);
      }
      SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(plain, peerHost, target.port(), true);
      SSLParameters parameters = ssl.getSSLParameters();
      if (verifyHostname) {
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
      }
      ssl.setSSLParameters(parameters);
      long t1 = System.nanoTime();
      ssl.startHandshake();
      long tlsNanos = System.nanoTime() - t1;
      WireProbe probe = new WireProbe(ssl, connected, tlsNanos);
      probe.tlsSession = ssl.getSession().getProtocol() + ", " + ssl.getSession().getCipherSuite();
      return probe;
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }

  /** Sends one PING and waits for its PONG; returns the round trip in nanoseconds. */
  long ping() throws IOException {
    long data = nextPing++;
    byte[] payload = ByteBuffer.allocate(8).putLong(data).array();
    long start = System.nanoTime();
    writeFrame(PING, payload);
    for (;;) {
      Frame f = readFrame();
      if (f.type == PONG && f.payload.length == 8 && ByteBuffer.wrap(f.payload).getLong() == data) {
        return System.nanoTime() - start;
      }
      if (f.type == PING && f.payload.length == 8) {
        writeFrame(PONG, f.payload); // the server's own heartbeat: answered, as the protocol requires
      }
    }
  }

  /** The server's value of setting {@code id}, or {@code defaultValue} if it did not send one. */
  long setting(int id, long defaultValue) {
    return settings.getOrDefault(id, defaultValue);
  }

  private void readPreface() throws IOException {
    byte[] preface = new byte[PREFACE.length];
    try {
      in.readFully(preface);
    } catch (EOFException e) {
      throw new IOException("the server closed the connection during its preface: not a Ferry server?", e);
    }
    for (int i = 0; i < 4; i++) {
      if (preface[i] != PREFACE[i]) {
        throw new IOException(String.format("not a Ferry server: byte %d of its preface is 0x%02x (expected 0x%02x)",
            i, preface[i] & 0xff, PREFACE[i] & 0xff));
      }
    }
    int version = ((preface[4] & 0xff) << 8) | (preface[5] & 0xff);
    if (version != 1) {
      throw new IOException("the server speaks protocol version " + version + "; this tool speaks version 1");
    }
  }

  private void readSettings() throws IOException {
    Frame f = readFrame();
    if (f.type != SETTINGS) {
      throw new IOException("the server's first frame is of type 0x" + Integer.toHexString(f.type)
          + ", not SETTINGS");
    }
    ByteBuffer b = ByteBuffer.wrap(f.payload);
    while (b.remaining() >= 6) {
      int id = b.getShort() & 0xffff;
      settings.put(id, b.getInt() & 0xffffffffL);
    }
  }

  private record Frame(int type, int requestId, byte[] payload) {}

  /** The next frame; GOAWAY and ERROR end the probe with the server's reason. */
  private Frame readFrame() throws IOException {
    long length;
    byte[] header = new byte[HEADER];
    try {
      in.readFully(header);
    } catch (EOFException e) {
      throw new IOException("the server closed the connection", e);
    } catch (SocketTimeoutException e) {
      throw new IOException("no answer from the server within the timeout", e);
    }
    ByteBuffer h = ByteBuffer.wrap(header);
    length = h.getInt() & 0xffffffffL;
    int type = h.get() & 0xff;
    h.get();
    h.getShort();
    int requestId = h.getInt();
    if (length < HEADER || length > MAX_FRAME_SIZE) {
      throw new IOException("the server sent a frame of " + length + " bytes");
    }
    byte[] payload = new byte[(int) length - HEADER];
    in.readFully(payload);
    if (type == ERROR || type == GOAWAY) {
      ByteBuffer p = ByteBuffer.wrap(payload);
      if (type == GOAWAY && p.remaining() >= 4) {
        p.getInt(); // last request id
      }
      long code = p.remaining() >= 4 ? p.getInt() & 0xffffffffL : 2;
      String reason = new String(payload, p.position(), p.remaining(), StandardCharsets.UTF_8);
      String name = code < ERROR_CODES.length ? ERROR_CODES[(int) code] : "code " + code;
      throw new IOException("the server sent " + (type == ERROR ? "ERROR " : "GOAWAY ") + name
          + (reason.isEmpty() ? "" : ": " + reason));
    }
    return new Frame(type, requestId, payload);
  }

  private void writeFrame(int type, byte[] payload) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(HEADER + payload.length);
    b.putInt(HEADER + payload.length).put((byte) type).put((byte) 0).putShort((short) 0).putInt(0).putInt(0);
    b.put(payload);
    out.write(b.array());
    out.flush();
  }

  /** Says goodbye with GOAWAY (nothing was processed: last id 0) and closes. */
  @Override
  public void close() throws IOException {
    try {
      byte[] reason = "ferry ping done".getBytes(StandardCharsets.UTF_8);
      writeFrame(GOAWAY, ByteBuffer.allocate(8 + reason.length).putInt(0).putInt(0).put(reason).array());
    } catch (IOException e) {
      // Already closed by the server: nothing to say goodbye to.
    } finally {
      socket.close();
    }
  }
}
