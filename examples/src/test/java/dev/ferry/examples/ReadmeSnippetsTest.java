package dev.ferry.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every code block of README.md that follows a {@code <!-- snippet: path#name -->} marker is the
 * region of that file between two lines containing {@code [name]}, de-indented: so every snippet a
 * newcomer copies is code that compiles (and mostly runs) in this module. After editing a region,
 * refresh the README with {@code mvn -pl examples -am verify -Dferry.readme.update=true}.
 */
class ReadmeSnippetsTest {
  private static final Path ROOT = Path.of("..");
  private static final Pattern SNIPPET =
      Pattern.compile("<!-- snippet: ([^#]+)#([\\w-]+) -->\\n```(\\w*)\\n(.*?)```", Pattern.DOTALL);

  @Test
  void readmeSnippetsAreTheExamplesCode() throws IOException {
    Path readme = ROOT.resolve("README.md");
    String text = Files.readString(readme, StandardCharsets.UTF_8);
    Matcher m = SNIPPET.matcher(text);
    StringBuilder updated = new StringBuilder();
    List<String> stale = new ArrayList<>();
    int count = 0;
    while (m.find()) {
      count++;
      String region = region(ROOT.resolve(m.group(1)), m.group(2));
      if (!m.group(4).equals(region)) {
        stale.add(m.group(1) + "#" + m.group(2));
      }
      m.appendReplacement(updated, Matcher.quoteReplacement(
          "<!-- snippet: " + m.group(1) + "#" + m.group(2) + " -->\n```" + m.group(3) + "\n" + region + "```"));
    }
    m.appendTail(updated);
    if (Boolean.getBoolean("ferry.readme.update")) {
      Files.writeString(readme, updated.toString(), StandardCharsets.UTF_8);
      stale.clear();
    }
    assertThat(count).as("snippets in README.md").isGreaterThanOrEqualTo(8);
    assertThat(stale).as("README snippets that differ from the code (refresh with -Dferry.readme.update=true)")
        .isEmpty();
  }

  @Test
  void versionsWrittenOutInTheStandaloneGreeterPomAreTheBuildsOwn() throws IOException {
    String pom = Files.readString(Path.of("greeter/pom.xml"), StandardCharsets.UTF_8);
    assertThat(pom)
        .contains("<ferry.version>" + System.getProperty("ferry.version") + "</ferry.version>")
        .contains("<protobuf.version>" + System.getProperty("protobuf.version") + "</protobuf.version>")
        .contains("<version>" + System.getProperty("protobuf-maven-plugin.version") + "</version>");
    assertThat(count(pom, "${ferry.version}")).as("ferry-bom and ferry-codegen").isEqualTo(2);
  }

  private static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }

  /** The lines strictly between the two lines of {@code file} that contain {@code [name]}, de-indented. */
  private static String region(Path file, String name) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    List<Integer> marks = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains("[" + name + "]")) {
        marks.add(i);
      }
    }
    assertThat(marks).as("markers [%s] in %s", name, file).hasSize(2);
    List<String> body = lines.subList(marks.get(0) + 1, marks.get(1));
    int indent = body.stream().filter(l -> !l.isBlank())
        .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    StringBuilder out = new StringBuilder();
    for (String l : body) {
      out.append(l.isBlank() ? "" : l.substring(indent)).append('\n');
    }
    return out.toString();
  }
}
