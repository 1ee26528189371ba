package dev.ferry.cli;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Service definitions from local files: FileDescriptorSets, or {@code .proto} files compiled to one by
 * {@code protoc}. Protobuf's well-known types ({@code google/protobuf/*.proto}) are always available.
 */
final class FileSchema implements Schema {
  private static final String[] WELL_KNOWN = {"any", "api", "descriptor", "duration", "empty", "field_mask",
      "source_context", "struct", "timestamp", "type", "wrappers"};

  private final Map<String, FileDescriptor> files;

  private FileSchema(Map<String, FileDescriptor> files) {
    this.files = files;
  }

  @Override
  public String source() {
    return "the given files";
  }

  static FileSchema load(List<Path> descriptorSets, List<Path> protos, List<Path> importPaths, String protoc) {
    Map<String, FileDescriptorProto> protosByName = new LinkedHashMap<>();
    for (Path set : descriptorSets) {
      try {
        read(Files.readAllBytes(ConnectionOptions.readable(set, "--descriptor-set")), set.toString(), protosByName);
      } catch (IOException e) {
        throw new CliException("cannot read " + set + ": " + e.getMessage(), e);
      }
    }
    if (!protos.isEmpty()) {
      read(compile(protos, importPaths, protoc), "protoc's output", protosByName);
    }
    Map<String, FileDescriptor> built = new LinkedHashMap<>();
    for (FileDescriptorProto p : protosByName.values()) {
      build(p.getName(), protosByName, built);
    }
    return new FileSchema(built);
  }

  private static void read(byte[] set, String what, Map<String, FileDescriptorProto> out) {
    try {
      for (FileDescriptorProto p : FileDescriptorSet.parseFrom(set).getFileList()) {
        out.putIfAbsent(p.getName(), p);
      }
    } catch (IOException e) {
      throw new CliException("cannot read " + what + " as a FileDescriptorSet: " + e.getMessage(), e);
    }
  }

  private static FileDescriptor build(String name, Map<String, FileDescriptorProto> protos,
      Map<String, FileDescriptor> built) {
    FileDescriptor done = built.get(name);
    if (done != null) {
      return done;
    }
    FileDescriptorProto proto = protos.get(name);
    if (proto == null) {
      FileDescriptor wellKnown = wellKnown(name);
      if (wellKnown == null) {
        throw new CliException("the given files import " + name + ", which none of them is"
            + " (protoc --include_imports puts imports in a descriptor set)");
      }
      built.put(name, wellKnown);
      return wellKnown;
    }
    FileDescriptor[] dependencies = new FileDescriptor[proto.getDependencyCount()];
    for (int i = 0; i < dependencies.length; i++) {
      dependencies[i] = build(proto.getDependency(i), protos, built);
    }
    try {
      FileDescriptor file = FileDescriptor.buildFrom(proto, dependencies);
      built.put(name, file);
      return file;
    } catch (DescriptorValidationException e) {
      throw new CliException(name + ": " + e.getMessage(), e);
    }
  }

  /** A well-known type's file, as protobuf-java has it built in; null for any other name. */
  private static FileDescriptor wellKnown(String name) {
    return switch (name) {
      case "google/protobuf/any.proto" -> com.google.protobuf.AnyProto.getDescriptor();
      case "google/protobuf/api.proto" -> com.google.protobuf.ApiProto.getDescriptor();
      case "google/protobuf/descriptor.proto" -> com.google.protobuf.DescriptorProtos.getDescriptor();
      case "google/protobuf/duration.proto" -> com.google.protobuf.DurationProto.getDescriptor();
      case "google/protobuf/empty.proto" -> com.google.protobuf.EmptyProto.getDescriptor();
      case "google/protobuf/field_mask.proto" -> com.google.protobuf.FieldMaskProto.getDescriptor();
      case "google/protobuf/source_context.proto" -> com.google.protobuf.SourceContextProto.getDescriptor();
      case "google/protobuf/struct.proto" -> com.google.protobuf.StructProto.getDescriptor();
      case "google/protobuf/timestamp.proto" -> com.google.protobuf.TimestampProto.getDescriptor();
      case "google/protobuf/type.proto" -> com.google.protobuf.TypeProto.getDescriptor();
      case "google/protobuf/wrappers.proto" -> com.google.protobuf.WrappersProto.getDescriptor();
      default -> null;
    };
  }

  /**
   * Runs protoc over {@code protos} into a descriptor set. The well-known types' {@code .proto} files,
   * which a bare protoc binary may lack, are put on its import path from protobuf-java's jar.
   */
  private static byte[] compile(List<Path> protos, List<Path> importPaths, String protoc) {
    Path work = null;
    try {
      work = Files.createTempDirectory("ferry-protoc");
      Path includes = work.resolve("include");
      for (String wk : WELL_KNOWN) {
        String resource = "google/protobuf/" + wk + ".proto";
        try (InputStream in = FileSchema.class.getClassLoader().getResourceAsStream(resource)) {
          if (in != null) {
            Path target = includes.resolve(resource);
            Files.createDirectories(target.getParent());
            Files.copy(in, target);
          }
        }
      }
      Path out = work.resolve("descriptors.pb");
      List<String> command = new ArrayList<>(List.of(protoc, "--include_imports", "--descriptor_set_out=" + out));
      List<Path> paths = new ArrayList<>(importPaths);
      if (paths.isEmpty()) {
        for (Path p : protos) {
          Path dir = p.toAbsolutePath().getParent();
          if (!paths.contains(dir)) {
            paths.add(dir);
          }
        }
      }
      for (Path p : paths) {
        command.add("--proto_path=" + p.toAbsolutePath());
      }
      command.add("--proto_path=" + includes);
      for (Path p : protos) {
        command.add(relativeTo(ConnectionOptions.readable(p, "--proto"), paths));
      }
      Process process;
      try {
        process = new ProcessBuilder(command).redirectErrorStream(true).start();
      } catch (IOException e) {
        throw new CliException("--proto needs protoc: cannot run \"" + protoc + "\" (" + e.getMessage()
            + "); install it, pass --protoc FILE, or use --descriptor-set", e);
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroy();
        throw new CliException("protoc failed: " + output.strip());
      }
      return Files.readAllBytes(out);
    } catch (IOException e) {
      throw new CliException("--proto: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted while protoc ran", e);
    } finally {
      if (work != null) {
        deleteTree(work);
      }
    }
  }

  /** {@code file}'s name relative to the first import path that holds it, as protoc wants it. */
  private static String relativeTo(Path file, List<Path> paths) {
    Path absolute = file.toAbsolutePath().normalize();
    for (Path p : paths) {
      Path dir = p.toAbsolutePath().normalize();
      if (absolute.startsWith(dir)) {
        return dir.relativize(absolute).toString();
      }
    }
    throw new CliException("--proto " + file + " is in none of the import paths " + paths);
  }

  /** Removes protoc's scratch directory; what cannot be removed is left to the system's temp cleaning. */
  private static void deleteTree(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // Nothing the user asked for depends on it.
    }
  }

  @Override
  public List<String> services() {
    TreeSet<String> names = new TreeSet<>();
    for (FileDescriptor f : files.values()) {
      f.getServices().forEach(s -> names.add(s.getFullName()));
    }
    return List.copyOf(names);
  }

  @Override
  public FileDescriptor fileContaining(String symbol) {
    String name = symbol.startsWith(".") ? symbol.substring(1) : symbol;
    for (FileDescriptor f : files.values()) {
      if (Schema.find(f, name) != null) {
        return f;
      }
    }
    throw new CliException(source() + " declare no symbol " + name);
  }

}
