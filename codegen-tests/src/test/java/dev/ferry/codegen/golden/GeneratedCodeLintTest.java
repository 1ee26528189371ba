package dev.ferry.codegen.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Ferry files the plugin generates compile with {@code -Xlint:all -Werror}: not one warning. */
class GeneratedCodeLintTest {
  @Test
  void generatedFerryCodeCompilesWithoutWarnings(@TempDir Path out) throws IOException {
    List<Path> sources;
    try (Stream<Path> files = Files.walk(Path.of("target/generated-sources/protobuf"))) {
      sources = files.filter(p -> p.getFileName().toString().matches(".*Ferry(Service|Stub)?\\.java")).toList();
    }
    assertThat(sources).hasSize(15);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    StringWriter diagnostics = new StringWriter();
    try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
      Iterable<? extends JavaFileObject> units = fm.getJavaFileObjectsFromPaths(sources);
      boolean ok = javac.getTask(diagnostics, fm, null,
          List.of("-Xlint:all", "-Werror", "--release", "17", "-d", out.toString(),
              "-classpath", System.getProperty("java.class.path")),
          null, units).call();
      assertThat(diagnostics.toString()).isEmpty();
      assertThat(ok).isTrue();
    }
  }
}
