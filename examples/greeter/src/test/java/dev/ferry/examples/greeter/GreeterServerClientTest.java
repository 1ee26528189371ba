package dev.ferry.examples.greeter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The server and the client as the separate programs they are, each in its own JVM. */
class GreeterServerClientTest {
  private static final Pattern LISTENING = Pattern.compile("Greeter listening on port (\\d+)");

  @Test
  @Timeout(120)
  void theServerServesUntilItIsStoppedAndTheClientCallsIt() throws Exception {
    Process server = java(GreeterServer.class, "0"); // 0: any free port
    try {
      BufferedReader serverOut = new BufferedReader(
          new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
      int port = -1;
      for (String line; port < 0 && (line = serverOut.readLine()) != null; ) {
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          port = Integer.parseInt(m.group(1));
        }
      }
      assertTrue(port > 0, "the server printed its port");

      Process client = java(GreeterClient.class, "Ada", String.valueOf(port));
      String clientOut = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(client.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, client.exitValue(), clientOut);
      assertEquals("Hello, Ada!", clientOut.strip());
      assertTrue(server.isAlive(), "the server's JVM keeps serving after main set it up");
    } finally {
      server.destroy(); // SIGTERM: the shutdown hook closes the server
    }
    assertTrue(server.waitFor(60, TimeUnit.SECONDS), "the server's JVM exits once stopped");
  }

  private static Process java(Class<?> main, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), main.getName()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).start();
  }
}
