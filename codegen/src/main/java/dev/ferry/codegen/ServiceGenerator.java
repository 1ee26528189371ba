package dev.ferry.codegen;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
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
  private final FerryProtocPlugin.Options options;
  private final JavaNames names;
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
        ServiceFiles service = new ServiceFiles(file, file.getService(s), s, locations);
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
  private static String comment(Map<String, SourceCodeInfo.Location> locations, String path) {
    SourceCodeInfo.Location loc = locations.get(path);
    return loc == null || !loc.hasLeadingComments() || loc.getLeadingComments().isBlank()
        ? null : loc.getLeadingComments();
  }

  /** Records a problem with the element at {@code path} of {@code file}: "file:line:column: what: reason". */
  private void error(FileDescriptorProto file, Map<String, SourceCodeInfo.Location> locations, String path,
      String what, String reason) {
    SourceCodeInfo.Location loc = locations.get(path);
    // Spans are [line, column, ...], counted from 0; people count from 1. No source info: the file alone.
    String where = loc == null || loc.getSpanCount() < 2 ? file.getName()
        : file.getName() + ":" + (loc.getSpan(0) + 1) + ":" + (loc.getSpan(1) + 1);
    errors.add(where + ": " + what + ": " + reason);
  }

  /** The three files of one service. */
  private final class ServiceFiles {
    private final FileDescriptorProto file;
    private final ServiceDescriptorProto service;
    private final String javaPackage;
    private final String fullName;
    private final String base;
    private final String serviceDoc;
    private final List<Rpc> rpcs = new ArrayList<>();

    ServiceFiles(FileDescriptorProto file, ServiceDescriptorProto service, int index,
        Map<String, SourceCodeInfo.Location> locations) {
      this.file = file;
      this.service = service;
      this.javaPackage = JavaNames.javaPackage(file);
      this.fullName = file.getPackage().isEmpty() ? service.getName() : file.getPackage() + "." + service.getName();
      this.base = service.getName();
      this.serviceDoc = comment(locations, "6," + index);
      Set<String> constants = new HashSet<>(List.of("SERVICE_NAME"));
      Set<String> methods = new HashSet<>();
      for (int m = 0; m < service.getMethodCount(); m++) {
        MethodDescriptorProto method = service.getMethod(m);
        String path = "6," + index + ",2," + m;
        String rpc = "rpc " + fullName + "/" + method.getName();
        String methodName = JavaNames.methodName(method.getName());
        if (!methods.add(methodName)) {
          error(file, locations, path, rpc, "maps to the Java method name " + methodName
              + ", as another rpc of the service does; rename one of them");
          continue;
        }
        rpcs.add(new Rpc(method, methodName, unique(JavaNames.constantName(method.getName()), constants),
            comment(locations, path)));
      }
      // "Foo" and "FooAsync" would both want a method called fooAsync in the stub.
      for (Rpc rpc : rpcs) {
        String async = rpc.methodName + "Async";
        while (methods.contains(async)) {
          async += "_";
        }
        methods.add(async);
        rpc.asyncName = async;
      }
    }

    private String unique(String name, Set<String> taken) {
      String candidate = name;
      for (int n = 2; !taken.add(candidate); n++) {
        candidate = name + "_" + n;
      }
      return candidate;
    }

    List<CodeGeneratorResponse.File> files() {
      List<CodeGeneratorResponse.File> files = new ArrayList<>(3);
      files.add(javaFile(base + "Ferry", descriptors()));
      if (options.side() != FerryProtocPlugin.Side.CLIENT) {
        files.add(javaFile(base + "FerryService", serverSide()));
      }
      if (options.side() != FerryProtocPlugin.Side.SERVER) {
        files.add(javaFile(base + "FerryStub", clientSide()));
      }
      return files;
    }

    private CodeGeneratorResponse.File javaFile(String className, String body) {
      String dir = javaPackage.isEmpty() ? "" : javaPackage.replace('.', '/') + "/";
      String text = "// Generated by the Ferry protoc plugin from " + file.getName() + ". Do not edit.\n"
          + (javaPackage.isEmpty() ? "" : "package " + javaPackage + ";\n") + "\n" + body;
      return CodeGeneratorResponse.File.newBuilder().setName(dir + className + ".java").setContent(text).build();
    }

    /** {@code className} without this file's Java package, for examples in javadoc. */
    private String local(String className) {
      return javaPackage.isEmpty() || !className.startsWith(javaPackage + ".")
          ? className : className.substring(javaPackage.length() + 1);
    }

    private String req(Rpc rpc) {
      return names.messageClass(rpc.method.getInputType());
    }

    private String resp(Rpc rpc) {
      return names.messageClass(rpc.method.getOutputType());
    }

    /** The rpc's kind as the {@code MethodDescriptor.Type} constant. */
    private String type(Rpc rpc) {
      MethodDescriptorProto m = rpc.method;
      return m.getClientStreaming() && m.getServerStreaming() ? "BIDI_STREAMING"
          : m.getClientStreaming() ? "CLIENT_STREAMING" : m.getServerStreaming() ? "SERVER_STREAMING" : "UNARY";
    }

    /** The rpc's kind in prose, for javadoc. */
    private String kind(Rpc rpc) {
      return switch (type(rpc)) {
        case "BIDI_STREAMING" -> "bidirectional-streaming";
        case "CLIENT_STREAMING" -> "client-streaming";
        case "SERVER_STREAMING" -> "server-streaming";
        default -> "unary";
      };
    }

    private String descriptors() {
      Code c = new Code();
      // Links only to the classes generated alongside: a link to a missing one breaks javadoc.
      String users = switch (options.side()) {
        case SERVER -> "used by {@link " + base + "FerryService}.";
        case CLIENT -> "used by {@link " + base + "FerryStub}.";
        case BOTH -> "shared by {@link " + base + "FerryService} (server) and {@link " + base + "FerryStub} (client).";
      };
      c.doc(serviceDoc, "Method descriptors of the {@code " + fullName + "} service, " + users);
      c.line("public final class " + base + "Ferry {");
      c.line("  /** The service's full name, {@value}. */");
      c.line("  public static final String SERVICE_NAME = \"" + fullName + "\";");
      for (Rpc rpc : rpcs) {
        c.line("");
        c.doc("  ", rpc.doc, "The " + kind(rpc) + " rpc {@code " + fullName + "/" + rpc.method.getName() + "}.");
        c.line("  public static final dev.ferry.MethodDescriptor<" + req(rpc) + ", " + resp(rpc) + "> "
            + rpc.constant + " =");
        if (type(rpc).equals("UNARY")) {
          c.line("      dev.ferry.MethodDescriptor.of(\"" + fullName + "/" + rpc.method.getName() + "\", "
              + req(rpc) + ".parser(), " + resp(rpc) + ".parser());");
        } else {
          c.line("      dev.ferry.MethodDescriptor.of(\"" + fullName + "/" + rpc.method.getName() + "\",");
          c.line("          dev.ferry.MethodDescriptor.Type." + type(rpc) + ", " + req(rpc) + ".parser(), " + resp(rpc)
              + ".parser());");
        }
      }
      c.line("");
      c.line("  private " + base + "Ferry() {}");
      c.line("}");
      return c.toString();
    }

    private String serverSide() {
      Code c = new Code();
      c.doc(serviceDoc, "Server side of {@code " + fullName + "}: implement the methods (blocking style, run on"
          + " the server's handler executor) and register with {@code FerryServer.builder().addService("
          + base + "FerryService.bind(impl))}. For handlers that must not block, implement {@link Async}"
          + " instead and register it with {@link #bindAsync}. Methods left unimplemented answer"
          + " {@code UNIMPLEMENTED}.");
      c.line("public interface " + base + "FerryService {");
      for (Rpc rpc : rpcs) {
        String reader = "dev.ferry.StreamReader<" + req(rpc) + ">";
        String writer = "dev.ferry.StreamWriter<" + resp(rpc) + ">";
        switch (type(rpc)) {
          case "SERVER_STREAMING" -> {
            c.doc("  ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}: writes the responses, each"
                + " {@code write} waiting while the client has no room; returning ends the stream with OK.");
            c.line("  default void " + rpc.methodName + "(" + req(rpc) + " request, " + writer
                + " responses, dev.ferry.server.CallContext context) throws Exception {");
          }
          case "CLIENT_STREAMING" -> {
            c.doc("  ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}: reads the requests until"
                + " {@code hasNext()} is false (the client completed), then returns the response.");
            c.line("  default " + resp(rpc) + " " + rpc.methodName + "(" + reader
                + " requests, dev.ferry.server.CallContext context) throws Exception {");
          }
          case "BIDI_STREAMING" -> {
            c.doc("  ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}: reads requests and writes"
                + " responses, independently; returning ends the call with OK.");
            c.line("  default void " + rpc.methodName + "(" + reader + " requests, " + writer
                + " responses, dev.ferry.server.CallContext context) throws Exception {");
          }
          default -> {
            c.doc("  ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}.");
            c.line("  default " + resp(rpc) + " " + rpc.methodName + "(" + req(rpc)
                + " request, dev.ferry.server.CallContext context) throws Exception {");
          }
        }
        c.line("    throw new dev.ferry.FerryException(dev.ferry.StatusCode.UNIMPLEMENTED, \""
            + fullName + "/" + rpc.method.getName() + " is not implemented\");");
        c.line("  }");
        c.line("");
      }
      c.line("  /**");
      c.line("   * Asynchronous server side of {@code " + fullName + "}: each method returns a stage that completes"
          + " with the");
      c.line("   * response, or exceptionally with a {@link dev.ferry.FerryException} for a status; a streaming"
          + " method takes");
      c.line("   * and returns {@link java.util.concurrent.Flow.Publisher}s instead (a response publisher is"
          + " pulled only as");
      c.line("   * far as the client has room). Register with {@link " + base + "FerryService#bindAsync}.");
      c.line("   */");
      c.line("  interface Async {");
      for (Rpc rpc : rpcs) {
        String requests = "java.util.concurrent.Flow.Publisher<" + req(rpc) + ">";
        String responses = "java.util.concurrent.Flow.Publisher<" + resp(rpc) + ">";
        String stage = "java.util.concurrent.CompletionStage<" + resp(rpc) + ">";
        String unimplemented = "new dev.ferry.FerryException(dev.ferry.StatusCode.UNIMPLEMENTED, \"" + fullName
            + "/" + rpc.method.getName() + " is not implemented\")";
        switch (type(rpc)) {
          case "SERVER_STREAMING" -> {
            c.doc("    ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}: returns the responses.");
            c.line("    default " + responses + " " + rpc.methodName + "(" + req(rpc)
                + " request, dev.ferry.server.CallContext context) {");
            c.line("      throw " + unimplemented + ";");
          }
          case "CLIENT_STREAMING" -> {
            c.doc("    ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}: subscribes to the requests,"
                + " returns a stage of the response.");
            c.line("    default " + stage + " " + rpc.methodName + "(" + requests
                + " requests, dev.ferry.server.CallContext context) {");
            c.line("      return java.util.concurrent.CompletableFuture.failedFuture(" + unimplemented + ");");
          }
          case "BIDI_STREAMING" -> {
            c.doc("    ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}: maps the requests to the"
                + " responses.");
            c.line("    default " + responses + " " + rpc.methodName + "(" + requests
                + " requests, dev.ferry.server.CallContext context) {");
            c.line("      throw " + unimplemented + ";");
          }
          default -> {
            c.doc("    ", rpc.doc, "Handles {@code " + rpc.method.getName() + "}.");
            c.line("    default " + stage + " " + rpc.methodName + "("
                + req(rpc) + " request, dev.ferry.server.CallContext context) {");
            c.line("      return java.util.concurrent.CompletableFuture.failedFuture(new dev.ferry.FerryException(");
            c.line("          dev.ferry.StatusCode.UNIMPLEMENTED, \"" + fullName + "/" + rpc.method.getName()
                + " is not implemented\"));");
          }
        }
        c.line("    }");
        c.line("");
      }
      c.line("  }");
      c.line("");
      c.line("  /** The definition to register with a server, handled by {@code impl}. */");
      c.line("  static dev.ferry.server.ServiceDefinition bind(" + base + "FerryService impl) {");
      c.line("    java.util.Objects.requireNonNull(impl, \"impl\");");
      c.line("    return dev.ferry.server.ServiceDefinition.builder(" + base + "Ferry.SERVICE_NAME)");
      for (Rpc rpc : rpcs) {
        c.line("        ." + register(rpc, false) + "(" + base + "Ferry." + rpc.constant + ", impl::" + rpc.methodName
            + ")");
      }
      c.line("        .build();");
      c.line("  }");
      c.line("");
      c.line("  /** The definition to register with a server, handled asynchronously by {@code impl}. */");
      c.line("  static dev.ferry.server.ServiceDefinition bindAsync(Async impl) {");
      c.line("    java.util.Objects.requireNonNull(impl, \"impl\");");
      c.line("    return dev.ferry.server.ServiceDefinition.builder(" + base + "Ferry.SERVICE_NAME)");
      for (Rpc rpc : rpcs) {
        c.line("        ." + register(rpc, true) + "(" + base + "Ferry." + rpc.constant + ", impl::" + rpc.methodName
            + ")");
      }
      c.line("        .build();");
      c.line("  }");
      c.line("}");
      return c.toString();
    }

    /** The {@code ServiceDefinition.Builder} method that registers the rpc. */
    private String register(Rpc rpc, boolean async) {
      String name = switch (type(rpc)) {
        case "SERVER_STREAMING" -> "serverStreaming";
        case "CLIENT_STREAMING" -> "clientStreaming";
        case "BIDI_STREAMING" -> "bidiStreaming";
        default -> "unary";
      };
      return async ? name + "Async" : name;
    }

    /** The two stub methods of a streaming rpc: blocking style, and Flow style ({@code ...Async}). */
    private void streamingStubMethods(Code c, Rpc rpc) {
      String k = base + "Ferry." + rpc.constant;
      String requests = "java.util.concurrent.Flow.Publisher<" + req(rpc) + ">";
      String responses = "java.util.concurrent.Flow.Publisher<" + resp(rpc) + ">";
      c.line("");
      switch (type(rpc)) {
        case "SERVER_STREAMING" -> {
          c.doc("  ", rpc.doc, "Calls {@code " + rpc.method.getName() + "}: read the responses with the returned"
              + " reader, and close it (closing it before the end cancels the call).");
          c.line("  public dev.ferry.StreamReader<" + resp(rpc) + "> " + rpc.methodName + "(" + req(rpc)
              + " request) {");
          c.line("    return serverStreamCall(" + k + ", request);");
          c.line("  }");
          c.line("");
          c.doc("  ", rpc.doc, "Calls {@code " + rpc.method.getName() + "} once per subscription; the server"
              + " sends only as far ahead as the subscriber's requests allow. Signals run on a Ferry event loop.");
          c.line("  public " + responses + " " + rpc.asyncName + "(" + req(rpc) + " request) {");
          c.line("    return serverStreamPublisher(" + k + ", request);");
        }
        case "CLIENT_STREAMING" -> {
          c.doc("  ", rpc.doc, "Starts {@code " + rpc.method.getName() + "}: write the requests, then"
              + " {@code awaitResponse()}.");
          c.line("  public dev.ferry.client.ClientStreamingCall<" + req(rpc) + ", " + resp(rpc) + "> "
              + rpc.methodName + "() {");
          c.line("    return clientStreamCall(" + k + ");");
          c.line("  }");
          c.line("");
          c.doc("  ", rpc.doc, "Calls {@code " + rpc.method.getName() + "} with the requests {@code requests}"
              + " publishes, pulled only as far as the server has room; the future completes on a Ferry event"
              + " loop.");
          c.line("  public java.util.concurrent.CompletableFuture<" + resp(rpc) + "> " + rpc.asyncName + "("
              + requests + " requests) {");
          c.line("    return clientStreamCall(" + k + ", requests);");
        }
        default -> {
          c.doc("  ", rpc.doc, "Starts {@code " + rpc.method.getName() + "}: write requests and read responses,"
              + " independently; close the call when done.");
          c.line("  public dev.ferry.client.BidiStreamingCall<" + req(rpc) + ", " + resp(rpc) + "> "
              + rpc.methodName + "() {");
          c.line("    return bidiStreamCall(" + k + ");");
          c.line("  }");
          c.line("");
          c.doc("  ", rpc.doc, "Calls {@code " + rpc.method.getName() + "} once per subscription, sending what"
              + " {@code requests} publishes. Signals run on a Ferry event loop.");
          c.line("  public " + responses + " " + rpc.asyncName + "(" + requests + " requests) {");
          c.line("    return bidiStreamPublisher(" + k + ", requests);");
        }
      }
      c.line("  }");
    }

    private String clientSide() {
      String stub = base + "FerryStub";
      Code c = new Code();
      String example = rpcs.isEmpty() ? "" : "\n\n<p>To read the trailing metadata the server sends with a response,"
          + " call the rpc through {@link #exchange}:\n\n<pre>{@code\nResponse<" + local(resp(rpcs.get(0)))
          + "> response ="
          + " stub.exchange(" + base + "Ferry." + rpcs.get(0).constant + ", request);\n}</pre>";
      c.doc(serviceDoc, "Client stub of {@code " + fullName + "}. Immutable and thread-safe: the {@code with...}"
          + " methods (from {@link dev.ferry.client.AbstractStub}) return new stubs sharing the channel.\n\n"
          + "<pre>{@code\n" + stub + " stub = " + stub + ".create(channel).withTimeout(Duration.ofSeconds(2));\n"
          + "}</pre>" + example);
      c.line("public final class " + stub + " extends dev.ferry.client.AbstractStub<" + stub + "> {");
      c.line("  private " + stub + "(dev.ferry.client.AbstractStub.Options options) {");
      c.line("    super(options);");
      c.line("  }");
      c.line("");
      c.line("  /** A stub calling through {@code channel}: no timeout, no metadata. */");
      c.line("  public static " + stub + " create(dev.ferry.client.FerryChannel channel) {");
      c.line("    return new " + stub + "(dev.ferry.client.AbstractStub.Options.of(channel));");
      c.line("  }");
      c.line("");
      c.line("  @Override");
      c.line("  protected " + stub + " newStub(dev.ferry.client.AbstractStub.Options options) {");
      c.line("    return new " + stub + "(options);");
      c.line("  }");
      for (Rpc rpc : rpcs) {
        if (!type(rpc).equals("UNARY")) {
          streamingStubMethods(c, rpc);
          continue;
        }
        c.line("");
        c.doc("  ", rpc.doc, "Calls {@code " + rpc.method.getName() + "} and waits for the response.");
        c.line("  public " + resp(rpc) + " " + rpc.methodName + "(" + req(rpc) + " request) {");
        c.line("    return blockingCall(" + base + "Ferry." + rpc.constant + ", request);");
        c.line("  }");
        c.line("");
        c.doc("  ", rpc.doc, "Calls {@code " + rpc.method.getName() + "}; the future completes on a Ferry"
            + " event-loop thread.");
        c.line("  public java.util.concurrent.CompletableFuture<" + resp(rpc) + "> " + rpc.asyncName + "("
            + req(rpc) + " request) {");
        c.line("    return asyncCall(" + base + "Ferry." + rpc.constant + ", request);");
        c.line("  }");
      }
      c.line("}");
      return c.toString();
    }
  }

  private static final class Rpc {
    final MethodDescriptorProto method;
    final String methodName;
    final String constant;
    final String doc;
    String asyncName;

    Rpc(MethodDescriptorProto method, String methodName, String constant, String doc) {
      this.method = method;
      this.methodName = methodName;
      this.constant = constant;
      this.doc = doc;
    }
  }

  /** A source text builder with javadoc helpers. */
  private static final class Code {
    private final StringBuilder out = new StringBuilder();

    void line(String text) {
      out.append(text).append('\n');
    }

    void doc(String protoComment, String generated) {
      doc("", protoComment, generated);
    }

    /** A javadoc block: the {@code .proto} comment, if any, then {@code generated} (already HTML). */
    void doc(String indent, String protoComment, String generated) {
      line(indent + "/**");
      if (protoComment != null) {
        for (String l : escape(protoComment.strip()).split("\n", -1)) {
          line((indent + " * " + l.strip()).stripTrailing());
        }
        line(indent + " *");
        line(indent + " * <p>" + generated.replace("\n", "\n" + indent + " * ").replace(" * \n", " *\n"));
      } else {
        line(indent + " * " + generated.replace("\n", "\n" + indent + " * ").replace(" * \n", " *\n"));
      }
      line(indent + " */");
    }

    /** Makes comment text safe inside a javadoc block. */
    static String escape(String text) {
      return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("*/", "*&#47;")
          .replace("@", "&#64;").replace("\\", "&#92;");
    }

    @Override
    public String toString() {
      return out.toString();
    }
  }
}
