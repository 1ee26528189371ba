package dev.ferry.examples.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The cluster example does what it says: a rolling restart under calls, every server used, no error. */
class ClusterExampleTest {
  @Test
  void rollingRestartOfThreeRegisteredServersCostsTheClientNothing() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    // A shorter deregistration delay than the 2 s default keeps the test short; the order is the same.
    ClusterExample.run(new PrintStream(bytes, true, StandardCharsets.UTF_8), Duration.ofMillis(500));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out)
        .contains("server-1 listening on 127.0.0.1:")
        .contains("restarted server-1")
        .contains("restarted server-3")
        .containsPattern("calls: [0-9,]+ succeeded, 0 failed")
        .contains("Cluster example finished");
    // Each of the six servers (three, then their replacements) answered calls.
    for (String server : new String[] {"server-1 ", "server-2 ", "server-3 ", "server-1'", "server-2'", "server-3'"}) {
      Matcher m = Pattern.compile(Pattern.quote(server) + "\\s+([0-9,]+)").matcher(out);
      assertThat(m.find()).as(server + " in: " + out).isTrue();
      assertThat(Integer.parseInt(m.group(1).replace(",", ""))).as(server).isPositive();
    }
  }
}
