package dev.ferry.codegen;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo;
import com.google.protobuf.compiler.PluginProtos.CodeGeneratorRequest;
import com.google.protobuf.compiler.PluginProtos.CodeGeneratorResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Generates, for each service {@code S} of each file to generate, three files in the file's Java
 * package (two with the option {@code side=server} or {@code side=client}):
 *
 * <ul>
 *   <li>{@code SFerry}: the service name and one {@code MethodDescriptor} constant per rpc. Depends on
 *       {@code ferry-protocol} only.
 *   <li>{@code SFerryService}: the server side. An interface with one blocking method per rpc, for
 *       handlers run on the server's executor, and a nested {@code Async} interface with one
 *       {@code CompletionStage}-returning method per rpc ({@code Flow.Publisher}s for streams), for
 *       handlers that must not block (direct
 *       executor) or that call other services asynchronously. Both have default methods that answer
 *       UNIMPLEMENTED, so adding an rpc to the {@code .proto} does not break existing implementations;
 *       {@code bind} and {@code bindAsync} turn an implementation into a {@code ServiceDefinition}.
 *       Depends on {@code ferry-server}.
 *   <li>{@code SFerryStub}: the client stub, with a blocking method and an {@code ...Async} method
 *       returning {@code CompletableFuture} per unary rpc (for a streaming rpc: a {@code StreamReader},
 *       {@code ClientStreamingCall} or {@code BidiStreamingCall}, and a {@code Flow} variant); it extends {@code AbstractStub}, which holds the
 *       channel and the immutable {@code withTimeout}, {@code withMetadata}, {@code withWaitForReady}
 *       and {@code withOptions} variants. Depends on {@code ferry-client}.
 * </ul>
 *
 * Splitting them keeps a server-only application free of the client module and vice versa: with
 * {@code side=server} only {@code SFerry} and {@code SFerryService} are written, with {@code side=client}
 * only {@code SFerry} and {@code SFerryStub}. Generated code names every type it uses in full, so user
 * message names never clash with Ferry's.
 *
 * <p>Every problem found in the input is collected, and all are reported together in one
 * {@link GenerationException}, a line each: {@code file:line:column: rpc pkg.Service/Method: reason}.
 */
final class ServiceGenerator {
  private final CodeGeneratorRequest request;
  final FerryProtocPlugin.Options options;
  final JavaNames names;
  private final List<String> errors = new ArrayList<>();

  ServiceGenerator(CodeGeneratorRequest request, FerryProtocPlugin.Options options) {
    this.request = request;
    this.options = options;
    this.names = new JavaNames(request.getProtoFileList());
  }

  List<CodeGeneratorResponse.File> generate() {
    Set<String> toGenerate = new HashSet<>(request.getFileToGenerateList());
    List<CodeGeneratorResponse.File> out = new ArrayList<>();
    for (FileDescriptorProto file : request.getProtoFileList()) {
      if (!toGenerate.contains(file.getName())) {
        continue;
      }
      Map<String, SourceCodeInfo.Location> locations = locations(file.getSourceCodeInfo());
      for (int s = 0; s < file.getServiceCount(); s++) {
        ServiceFiles service = new ServiceFiles(this, file, file.getService(s), s, locations);
        if (errors.isEmpty()) {
          out.addAll(service.files());
        }
      }
    }
    if (!errors.isEmpty()) {
      throw new GenerationException(String.join("\n", errors));
    }
    return out;
  }

  /** Source locations by path ("6,0" for the first service, "6,0,2,1" for its second rpc). */
  private static Map<String, SourceCodeInfo.Location> locations(SourceCodeInfo info) {
    Map<String, SourceCodeInfo.Location> out = new HashMap<>();
    for (SourceCodeInfo.Location loc : info.getLocationList()) {
      StringBuilder key = new StringBuilder();
      for (int i = 0; i < loc.getPathCount(); i++) {
        key.append(i == 0 ? "" : ",").append(loc.getPath(i));
      }
      out.putIfAbsent(key.toString(), loc);
    }
    return out;
  }

  /** The leading comment at {@code path}, or null. */
  static String comment(Map<String, SourceCodeInfo.Location> locations, String path) {
    SourceCodeInfo.Location loc = locations.get(path);
    return loc == null || !loc.hasLeadingComments() || loc.getLeadingComments().isBlank()
        ? null : loc.getLeadingComments();
  }

  /** Records a problem with the element at {@code path} of {@code file}: "file:line:column: what: reason". */
  void error(FileDescriptorProto file, Map<String, SourceCodeInfo.Location> locations, String path,
      String what, String reason) {
    SourceCodeInfo.Location loc = locations.get(path);
    // Spans are [line, column, ...], counted from 0; people count from 1. No source info: the file alone.
    String where = loc == null || loc.getSpanCount() < 2 ? file.getName()
        : file.getName() + ":" + (loc.getSpan(0) + 1) + ":" + (loc.getSpan(1) + 1);
    errors.add(where + ": " + what + ": " + reason);
  }
}
