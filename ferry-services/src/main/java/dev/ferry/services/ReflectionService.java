package dev.ferry.services;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import dev.ferry.FerryException;
import dev.ferry.StatusCode;
import dev.ferry.server.ServiceDefinition;
import dev.ferry.services.reflection.v1.FileByFilenameRequest;
import dev.ferry.services.reflection.v1.FileContainingSymbolRequest;
import dev.ferry.services.reflection.v1.FileDescriptorsResponse;
import dev.ferry.services.reflection.v1.ListServicesRequest;
import dev.ferry.services.reflection.v1.ListServicesResponse;
import dev.ferry.services.reflection.v1.ReflectionProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The reflection service, {@code ferry.reflection.v1.ServerReflection} (see docs/services.md): lists
 * the services a server describes and hands out their {@code .proto} definitions, with everything they
 * import, so that tools such as {@code ferry list}, {@code describe} and {@code call} work without local
 * {@code .proto} files. A server offers it only if it is added, with the files to describe:
 *
 * <pre>{@code
 * FerryServer server = FerryServer.builder()
 *     .addService(KvStoreFerryService.bind(store))
 *     .addService(ReflectionService.builder()
 *         .addFile(Kvstore.getDescriptor())          // the generated outer class of kvstore.proto
 *         .addFile(HealthService.descriptor())
 *         .build())
 *     .build().start();
 * }</pre>
 *
 * <p>Reflection shows anyone who can connect what the server serves and how its messages look: offer
 * it where that is acceptable, or behind an authorizer. Immutable once built; its answers are computed
 * when it is built.
 */
public final class ReflectionService {
  /** The service's full name. */
  public static final String NAME = "ferry.reflection.v1.ServerReflection";
  /** {@code ListServices}. */
  public static final dev.ferry.MethodDescriptor<ListServicesRequest, ListServicesResponse> LIST_SERVICES =
      dev.ferry.MethodDescriptor.of(NAME + "/ListServices", ListServicesRequest.parser(),
          ListServicesResponse.parser());
  /** {@code FileContainingSymbol}. */
  public static final dev.ferry.MethodDescriptor<FileContainingSymbolRequest, FileDescriptorsResponse>
      FILE_CONTAINING_SYMBOL = dev.ferry.MethodDescriptor.of(NAME + "/FileContainingSymbol",
          FileContainingSymbolRequest.parser(), FileDescriptorsResponse.parser());
  /** {@code FileByFilename}. */
  public static final dev.ferry.MethodDescriptor<FileByFilenameRequest, FileDescriptorsResponse> FILE_BY_FILENAME =
      dev.ferry.MethodDescriptor.of(NAME + "/FileByFilename", FileByFilenameRequest.parser(),
          FileDescriptorsResponse.parser());

  private ReflectionService() {}

  /** A builder; the reflection service always describes itself. */
  public static Builder builder() {
    return new Builder();
  }

  /** The {@code .proto} file of the service. */
  public static FileDescriptor descriptor() {
    return ReflectionProto.getDescriptor();
  }

  /** Builds the reflection service's definition. Not thread-safe. */
  public static final class Builder {
    private final Set<ServiceDescriptor> services = new LinkedHashSet<>();

    private Builder() {
      addFile(descriptor());
    }

    /** Describes every service declared in {@code file}. */
    public Builder addFile(FileDescriptor file) {
      services.addAll(requireNonNull(file, "file").getServices());
      return this;
    }

    /** Describes {@code service} (and not the other services of its file, if any). */
    public Builder addService(ServiceDescriptor service) {
      services.add(requireNonNull(service, "service"));
      return this;
    }

    /** The definition to add to a server. */
    public ServiceDefinition build() {
      Index index = new Index(services);
      return ServiceDefinition.builder(NAME)
          .unary(LIST_SERVICES, (request, ctx) -> index.listing)
          .unary(FILE_CONTAINING_SYMBOL, (request, ctx) -> index.bySymbol(request.getSymbol()))
          .unary(FILE_BY_FILENAME, (request, ctx) -> index.byFilename(request.getFilename()))
          .build();
    }
  }

  /** Every symbol and file the service describes: the described services' files and all they import. */
  private static final class Index {
    final ListServicesResponse listing;
    private final Map<String, FileDescriptor> files = new HashMap<>();
    private final Map<String, FileDescriptor> symbols = new HashMap<>();
    private final Map<FileDescriptor, FileDescriptorsResponse> answers = new HashMap<>();

    Index(Set<ServiceDescriptor> services) {
      Set<String> names = new TreeSet<>();
      for (ServiceDescriptor s : services) {
        names.add(s.getFullName());
        addFile(s.getFile());
      }
      listing = ListServicesResponse.newBuilder().addAllServices(names).build();
    }

    private void addFile(FileDescriptor file) {
      if (files.putIfAbsent(file.getName(), file) != null) {
        return;
      }
      for (ServiceDescriptor s : file.getServices()) {
        symbols.put(s.getFullName(), file);
        for (MethodDescriptor m : s.getMethods()) {
          symbols.put(m.getFullName(), file);
          symbols.put(s.getFullName() + "/" + m.getName(), file);
        }
      }
      for (Descriptor m : file.getMessageTypes()) {
        addMessage(m, file);
      }
      for (EnumDescriptor e : file.getEnumTypes()) {
        symbols.put(e.getFullName(), file);
      }
      for (FieldDescriptor x : file.getExtensions()) {
        symbols.put(x.getFullName(), file);
      }
      for (FileDescriptor dependency : file.getDependencies()) {
        addFile(dependency);
      }
      answers.put(file, answer(file));
    }

    private void addMessage(Descriptor message, FileDescriptor file) {
      symbols.put(message.getFullName(), file);
      for (Descriptor nested : message.getNestedTypes()) {
        addMessage(nested, file);
      }
      for (EnumDescriptor e : message.getEnumTypes()) {
        symbols.put(e.getFullName(), file);
      }
      for (FieldDescriptor x : message.getExtensions()) {
        symbols.put(x.getFullName(), file);
      }
    }

    /** {@code file} and everything it imports, each after the files it imports. */
    private static FileDescriptorsResponse answer(FileDescriptor file) {
      List<FileDescriptor> ordered = new ArrayList<>();
      collect(file, new LinkedHashSet<>(), ordered);
      FileDescriptorsResponse.Builder b = FileDescriptorsResponse.newBuilder();
      for (FileDescriptor f : ordered) {
        b.addFileDescriptorProto(f.toProto().toByteString());
      }
      return b.build();
    }

    private static void collect(FileDescriptor file, Set<String> seen, List<FileDescriptor> out) {
      if (!seen.add(file.getName())) {
        return;
      }
      for (FileDescriptor dependency : file.getDependencies()) {
        collect(dependency, seen, out);
      }
      out.add(file);
    }

    FileDescriptorsResponse bySymbol(String symbol) {
      FileDescriptor file = symbols.get(symbol.startsWith(".") ? symbol.substring(1) : symbol);
      if (file == null) {
        throw new FerryException(StatusCode.NOT_FOUND, "no such symbol: " + symbol);
      }
      return answers.get(file);
    }

    FileDescriptorsResponse byFilename(String filename) {
      FileDescriptor file = files.get(filename);
      if (file == null) {
        throw new FerryException(StatusCode.NOT_FOUND, "no such file: " + filename);
      }
      return answers.get(file);
    }
  }
}
