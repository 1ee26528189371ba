package dev.ferry.codegen.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Copies of the standalone greeter project ({@code examples/greeter}), changed the way a newcomer
 * changes them, built with Maven as the README says ({@code mvn -q compile}): one Maven run over a
 * reactor of the copies, as a user would build each of them.
 *
 * <ul>
 *   <li>{@code streaming}: a server-streaming rpc added; it compiles. {@code typo}: a misspelt message
 *       type; the {@code -q} output must name the file, the line and the reason.
 *   <li>{@code server-only} and {@code client-only}: one side each, depending on {@code ferry-server}
 *       or {@code ferry-client} alone, with the generator option {@code side=server} or
 *       {@code side=client}: they compile. {@code client-only-without-option} shows that the option
 *       is what makes it work.
 * </ul>
 *
 * <p>The copies build offline against a private local repository under {@code target/}: Ferry's own
 * artifacts are written there from this build's modules, and everything else is copied on demand
 * from the outer build's local repository (a {@code file:} mirror), so nothing is downloaded and the
 * shared local repository is only read.
 */
class GreeterProjectBuildTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path GREETER = ROOT.resolve("examples/greeter");
  private static final Path WORK = Path.of("target/greeter-projects").toAbsolutePath();
  private static final Path REPO = Path.of("target/greeter-projects-repo").toAbsolutePath();
  private static final String VERSION = System.getProperty("ferry.version");

  private static String output;
  private static int exitCode;
  private static String streamingProto;

  @BeforeAll
  static void buildTheCopies() throws Exception {
    installFerry();
    deleteRecursively(WORK);
    Files.createDirectories(WORK.resolve(".mvn"));
    // The greeter's Maven options, as a user copying the project gets them.
    Files.copy(GREETER.resolve(".mvn/maven.config"), WORK.resolve(".mvn/maven.config"));
    String pom = Files.readString(GREETER.resolve("pom.xml"), StandardCharsets.UTF_8);
    String proto = Files.readString(GREETER.resolve("src/main/proto/greeter.proto"), StandardCharsets.UTF_8);

    streamingProto = proto.replace("  rpc SayHello(HelloRequest) returns (HelloReply);\n",
        "  rpc SayHello(HelloRequest) returns (HelloReply);\n\n"
            + "  // Greets everyone who joins.\n"
            + "  rpc GreetAll(HelloRequest) returns (stream HelloReply);\n");
    project("streaming", pom, streamingProto, "GreeterService", "GreeterExample");
    project("typo", pom, proto.replace("rpc SayHello(HelloRequest)", "rpc SayHello(HelloRequst)"), "GreeterService");

    String serverPom = withOption(without(without(pom, "ferry-client"), "ferry-junit5"), "side=server");
    project("server-only", serverPom, proto, "GreeterService", "GreeterServer");
    String clientPom = without(without(pom, "ferry-server"), "ferry-junit5");
    project("client-only", withOption(clientPom, "side=client"), proto, "GreeterClient");
    project("client-only-without-option", clientPom, proto, "GreeterClient");

    Files.writeString(WORK.resolve("pom.xml"), "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n"
        + "  <modelVersion>4.0.0</modelVersion>\n"
        + "  <groupId>com.example</groupId>\n  <artifactId>greeter-projects</artifactId>\n"
        + "  <version>1.0-SNAPSHOT</version>\n  <packaging>pom</packaging>\n  <modules>\n"
        + "    <module>streaming</module>\n    <module>typo</module>\n    <module>server-only</module>\n"
        + "    <module>client-only</module>\n    <module>client-only-without-option</module>\n"
        + "  </modules>\n</project>\n", StandardCharsets.UTF_8);
    Path settings = WORK.resolve("settings.xml");
    Files.writeString(settings, "<settings><mirrors><mirror><id>outer-build</id><mirrorOf>*</mirrorOf><url>"
        + Path.of(System.getProperty("ferry.outer.repo")).toUri() + "</url></mirror></mirrors></settings>\n",
        StandardCharsets.UTF_8);

    String mvn = Path.of(System.getProperty("maven.home"), "bin",
        System.getProperty("os.name").startsWith("Windows") ? "mvn.cmd" : "mvn").toString();
    // -o with file: allowed: the mirror is the outer local repository, and nothing else is reachable.
    Process maven = new ProcessBuilder(mvn, "-B", "-q", "-o", "-Daether.offline.protocols=file", "-s",
        settings.toString(), "-Dmaven.repo.local=" + REPO, "-fae", "compile")
        .directory(WORK.toFile()).redirectErrorStream(true).start();
    maven.getOutputStream().close();
    byte[] bytes = maven.getInputStream().readAllBytes();
    if (!maven.waitFor(5, TimeUnit.MINUTES)) {
      maven.destroyForcibly();
      throw new AssertionError("the Maven build of the copies did not finish in 5 minutes");
    }
    exitCode = maven.exitValue();
    output = new String(bytes, StandardCharsets.UTF_8);
  }

  @Test
  void aProjectWithAStreamingRpcCompiles() {
    assertThat(streamingProto).contains("rpc GreetAll(HelloRequest) returns (stream HelloReply);");
    assertThat(output).as("no errors in the streaming project").doesNotContain("/streaming/");
    Path classes = WORK.resolve("streaming").resolve("target/classes/dev/ferry/examples/greeter");
    assertThat(classes.resolve("GreeterFerryStub.class")).exists();
    assertThat(classes.resolve("GreeterFerryService.class")).exists();
  }

  @Test
  void aMisspeltTypeIsReportedInAQuietBuild() {
    assertThat(output).containsPattern(Pattern.quote("greeter.proto:") + "\\d+:\\d+: "
        + Pattern.quote("\"HelloRequst\" is not defined."));
  }

  @Test
  void serverOnlyAndClientOnlyProjectsCompileWithTheSideOption() {
    assertThat(output).as("no errors in the one-sided projects")
        .doesNotContain("/server-only/").doesNotContain("/client-only/");
    Path generated = Path.of("target/generated-sources/protobuf/dev/ferry/examples/greeter");
    Path classes = Path.of("target/classes/dev/ferry/examples/greeter");
    Path server = WORK.resolve("server-only");
    assertThat(server.resolve(classes).resolve("GreeterServer.class")).exists();
    assertThat(server.resolve(generated).resolve("GreeterFerryService.java")).exists();
    assertThat(server.resolve(generated).resolve("GreeterFerryStub.java")).doesNotExist();
    Path client = WORK.resolve("client-only");
    assertThat(client.resolve(classes).resolve("GreeterClient.class")).exists();
    assertThat(client.resolve(generated).resolve("GreeterFerryStub.java")).exists();
    assertThat(client.resolve(generated).resolve("GreeterFerryService.java")).doesNotExist();
  }

  @Test
  void withoutTheOptionAClientOnlyProjectLacksTheServerModule() {
    assertThat(output).contains("package dev.ferry.server does not exist");
    assertThat(WORK.resolve("client-only-without-option/target/classes/dev/ferry/examples/greeter/GreeterClient.class"))
        .doesNotExist();
  }

  /** A copy of the greeter under {@code name}, with {@code pom}, {@code proto} and the named classes. */
  private static void project(String name, String pom, String proto, String... classes) throws IOException {
    Path dir = WORK.resolve(name);
    Path java = dir.resolve("src/main/java/dev/ferry/examples/greeter");
    Files.createDirectories(java);
    Files.createDirectories(dir.resolve("src/main/proto"));
    Files.writeString(dir.resolve("pom.xml"),
        pom.replace("<artifactId>greeter</artifactId>", "<artifactId>" + name + "</artifactId>"),
        StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("src/main/proto/greeter.proto"), proto, StandardCharsets.UTF_8);
    for (String c : classes) {
      Files.copy(GREETER.resolve("src/main/java/dev/ferry/examples/greeter/" + c + ".java"),
          java.resolve(c + ".java"));
    }
  }

  /** {@code pom} without the dependency on {@code artifactId} (and the comment line before it). */
  private static String without(String pom, String artifactId) {
    String result = pom.replaceFirst("(?s)(\\n\\s*<!--[^\\n]*-->)?\\n\\s*<dependency>\\s*<groupId>[^<]*</groupId>\\s*"
        + "<artifactId>" + Pattern.quote(artifactId) + "</artifactId>.*?</dependency>", "");
    assertThat(result).as("greeter pom with a dependency on " + artifactId).isNotEqualTo(pom);
    return result;
  }

  /** {@code pom} with the Ferry generator given {@code options}. */
  private static String withOption(String pom, String options) {
    String plugin = "<mainClass>dev.ferry.codegen.FerryProtocPlugin</mainClass>";
    assertThat(pom).contains(plugin);
    return pom.replace(plugin, plugin + "\n              <options>" + options + "</options>");
  }

  /**
   * Writes Ferry's artifacts, from this build's modules, into the private repository: the POMs, and
   * the jars (made from {@code target/classes} when the module was not packaged).
   */
  private static void installFerry() throws IOException {
    installPom("ferry-parent", ROOT.resolve("pom.xml"));
    installPom("ferry-bom", ROOT.resolve("bom/pom.xml"));
    for (String module : List.of("protocol", "server", "client", "codegen", "junit5")) {
      String artifactId = "ferry-" + module;
      Path dir = installPom(artifactId, ROOT.resolve(module).resolve("pom.xml"));
      Path target = ROOT.resolve(module).resolve("target");
      Path jar = target.resolve(artifactId + "-" + VERSION + ".jar");
      Path dest = dir.resolve(artifactId + "-" + VERSION + ".jar");
      if (Files.exists(jar)) {
        Files.copy(jar, dest, StandardCopyOption.REPLACE_EXISTING);
      } else {
        jar(target.resolve("classes"), dest);
      }
    }
  }

  private static Path installPom(String artifactId, Path pom) throws IOException {
    Path dir = REPO.resolve("dev/ferry").resolve(artifactId).resolve(VERSION);
    Files.createDirectories(dir);
    Files.copy(pom, dir.resolve(artifactId + "-" + VERSION + ".pom"), StandardCopyOption.REPLACE_EXISTING);
    return dir;
  }

  private static void jar(Path classes, Path jar) throws IOException {
    assertThat(classes).as("compiled classes (build the module first)").isDirectory();
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(out);
        Stream<Path> files = Files.walk(classes)) {
      List<Path> all = new ArrayList<>(files.filter(Files::isRegularFile).toList());
      for (Path f : all) {
        zip.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, zip);
        zip.closeEntry();
      }
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
