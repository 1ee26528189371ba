package dev.ferry.codegen.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The code generated for {@code golden/greeter.proto} must match the checked-in golden copy in
 * {@code src/test/golden}. After an intended change to the generator, refresh the copy with
 * {@code mvn -pl codegen-tests -am verify -Dferry.golden.update=true} and review the diff.
 */
class GoldenFilesTest {
  private static final Path GENERATED = Path.of("target/generated-sources/protobuf");
  private static final Path GOLDEN = Path.of("src/test/golden");
  private static final List<String> FILES = List.of(
      "dev/ferry/golden/greeter/GreeterFerry.java",
      "dev/ferry/golden/greeter/GreeterFerryService.java",
      "dev/ferry/golden/greeter/GreeterFerryStub.java",
      "dev/ferry/golden/streams/NumbersFerry.java",
      "dev/ferry/golden/streams/NumbersFerryService.java",
      "dev/ferry/golden/streams/NumbersFerryStub.java");

  @Test
  void generatedCodeMatchesTheGoldenCopy() throws IOException {
    boolean update = Boolean.getBoolean("ferry.golden.update");
    for (String file : FILES) {
      String generated = Files.readString(GENERATED.resolve(file), StandardCharsets.UTF_8);
      Path golden = GOLDEN.resolve(file);
      if (update) {
        Files.createDirectories(golden.getParent());
        Files.writeString(golden, generated, StandardCharsets.UTF_8);
      }
      assertThat(generated).as(file + " (refresh with -Dferry.golden.update=true if the change is intended)")
          .isEqualTo(Files.readString(golden, StandardCharsets.UTF_8));
    }
  }

  @Test
  void everyServiceGotItsThreeFiles() throws IOException {
    try (Stream<Path> files = Files.walk(GENERATED)) {
      List<String> names = files.map(p -> GENERATED.relativize(p).toString().replace('\\', '/'))
          .filter(p -> p.contains("Ferry")).sorted().toList();
      assertThat(names).containsExactly(
          "dev/ferry/golden/clash/CollisionsFerry.java",
          "dev/ferry/golden/clash/CollisionsFerryService.java",
          "dev/ferry/golden/clash/CollisionsFerryStub.java",
          "dev/ferry/golden/clash/SecondFerry.java",
          "dev/ferry/golden/clash/SecondFerryService.java",
          "dev/ferry/golden/clash/SecondFerryStub.java",
          "dev/ferry/golden/greeter/GreeterFerry.java",
          "dev/ferry/golden/greeter/GreeterFerryService.java",
          "dev/ferry/golden/greeter/GreeterFerryStub.java",
          "dev/ferry/golden/streams/NumbersFerry.java",
          "dev/ferry/golden/streams/NumbersFerryService.java",
          "dev/ferry/golden/streams/NumbersFerryStub.java",
          "ferry/golden/nested/deep/NestingFerry.java",
          "ferry/golden/nested/deep/NestingFerryService.java",
          "ferry/golden/nested/deep/NestingFerryStub.java");
    }
  }
}
