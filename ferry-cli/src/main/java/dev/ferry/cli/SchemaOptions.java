package dev.ferry.cli;

import dev.ferry.client.CallOptions;
import dev.ferry.client.FerryChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Where the service definitions come from: the server's reflection, or local files. A picocli mixin. */
final class SchemaOptions {
  @Option(names = "--descriptor-set", paramLabel = "FILE",
      description = "A FileDescriptorSet (protoc --include_imports --descriptor_set_out=FILE) instead of reflection; repeatable.")
  List<Path> descriptorSets = new ArrayList<>();

  @Option(names = "--proto", paramLabel = "FILE",
      description = ".proto files to compile with protoc instead of using reflection; repeatable.")
  List<Path> protos = new ArrayList<>();

  @Option(names = {"-I", "--import-path"}, paramLabel = "DIR",
      description = "Where --proto files and their imports are found (default: each file's directory); repeatable.")
  List<Path> importPaths = new ArrayList<>();

  @Option(names = "--protoc", paramLabel = "FILE", defaultValue = "protoc",
      description = "The protoc program for --proto (default: protoc on the PATH).")
  String protoc;

  /** Local files if any were given, else the server's reflection through {@code channel}. */
  Schema open(FerryChannel channel, CallOptions options, Target target) {
    if (!descriptorSets.isEmpty() || !protos.isEmpty()) {
      return FileSchema.load(descriptorSets, protos, importPaths, protoc);
    }
    return new ReflectionSchema(channel, options, target);
  }
}
