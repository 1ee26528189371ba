package dev.ferry.codegen;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileOptions;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo;
import com.google.protobuf.compiler.PluginProtos.CodeGeneratorRequest;
import com.google.protobuf.compiler.PluginProtos.CodeGeneratorResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The plugin driven in-process with hand-built requests (the golden module runs it through protoc). */
class FerryProtocPluginTest {
  private static FileDescriptorProto file(MethodDescriptorProto... methods) {
    return FileDescriptorProto.newBuilder()
        .setName("demo/chat.proto")
        .setPackage("demo")
        .setOptions(FileOptions.newBuilder().setJavaPackage("com.example.chat").setJavaMultipleFiles(true))
        .addMessageType(DescriptorProto.newBuilder().setName("Msg"))
        .addService(ServiceDescriptorProto.newBuilder().setName("Chat").addAllMethod(java.util.List.of(methods)))
        .build();
  }

  private static MethodDescriptorProto.Builder rpc(String name) {
    return MethodDescriptorProto.newBuilder().setName(name).setInputType(".demo.Msg").setOutputType(".demo.Msg");
  }

  private static CodeGeneratorResponse run(FileDescriptorProto file) {
    return run(file, "");
  }

  private static CodeGeneratorResponse run(FileDescriptorProto file, String parameter) {
    return FerryProtocPlugin.generate(CodeGeneratorRequest.newBuilder()
        .addFileToGenerate(file.getName()).addProtoFile(file).setParameter(parameter).build());
  }

  @Test
  void streamingRpcsGetDescriptorsOfTheirKindHandlersAndStubMethods() {
    CodeGeneratorResponse response = run(file(rpc("Send").build(), rpc("Listen").setServerStreaming(true).build(),
        rpc("Upload").setClientStreaming(true).build(),
        rpc("Talk").setClientStreaming(true).setServerStreaming(true).build()));
    assertThat(response.getError()).isEmpty();
    assertThat(response.getFile(0).getContent())
        .contains("dev.ferry.MethodDescriptor.Type.SERVER_STREAMING, com.example.chat.Msg.parser()")
        .contains("dev.ferry.MethodDescriptor.Type.CLIENT_STREAMING")
        .contains("dev.ferry.MethodDescriptor.Type.BIDI_STREAMING")
        .contains("The server-streaming rpc {@code demo.Chat/Listen}");
    assertThat(response.getFile(1).getContent())
        .contains("default void listen(com.example.chat.Msg request, dev.ferry.StreamWriter<com.example.chat.Msg>"
            + " responses, dev.ferry.server.CallContext context)")
        .contains(".serverStreaming(ChatFerry.LISTEN, impl::listen)")
        .contains(".clientStreamingAsync(ChatFerry.UPLOAD, impl::upload)")
        .contains(".bidiStreaming(ChatFerry.TALK, impl::talk)");
    assertThat(response.getFile(2).getContent())
        .contains("public dev.ferry.StreamReader<com.example.chat.Msg> listen(com.example.chat.Msg request)")
        .contains("public dev.ferry.client.ClientStreamingCall<com.example.chat.Msg, com.example.chat.Msg> upload()")
        .contains("public java.util.concurrent.Flow.Publisher<com.example.chat.Msg> talkAsync(");
  }

  @Test
  void unaryServiceGivesThreeFilesInTheJavaPackage() {
    CodeGeneratorResponse response = run(file(rpc("Send").build()));
    assertThat(response.getError()).isEmpty();
    assertThat(response.getSupportedFeatures() & CodeGeneratorResponse.Feature.FEATURE_PROTO3_OPTIONAL_VALUE)
        .isNotZero();
    assertThat(response.getFileList()).extracting(CodeGeneratorResponse.File::getName).containsExactly(
        "com/example/chat/ChatFerry.java", "com/example/chat/ChatFerryService.java",
        "com/example/chat/ChatFerryStub.java");
    assertThat(response.getFile(0).getContent())
        .contains("dev.ferry.MethodDescriptor.of(\"demo.Chat/Send\", com.example.chat.Msg.parser()");
  }

  @Test
  void aFileWithoutAPackageNamesItsMethodsServiceSlashMethod() {
    // PROTOCOL.md section 9.3: no package, no leading dot.
    FileDescriptorProto noPackage = file(rpc("Send").setInputType(".Msg").setOutputType(".Msg").build()).toBuilder()
        .clearPackage().build();
    CodeGeneratorResponse response = run(noPackage);
    assertThat(response.getError()).isEmpty();
    assertThat(response.getFile(0).getContent())
        .contains("dev.ferry.MethodDescriptor.of(\"Chat/Send\", com.example.chat.Msg.parser()")
        .contains("SERVICE_NAME = \"Chat\";");
  }

  @Test
  void methodNamesThatWouldClashAreRefused() {
    assertThat(run(file(rpc("Get").build(), rpc("get").build())).getError())
        .isEqualTo("demo/chat.proto: rpc demo.Chat/get: maps to the Java method name get, as another rpc of the "
            + "service does; rename one of them");
  }

  @Test
  void everyErrorIsReportedAtOnceWithFileLineColumnRpcAndReason() {
    FileDescriptorProto file = file(rpc("Get").build(), rpc("get").build(), rpc("Put").build(), rpc("put").build())
        .toBuilder()
        .setSourceCodeInfo(SourceCodeInfo.newBuilder()
            .addLocation(SourceCodeInfo.Location.newBuilder().addAllPath(List.of(6, 0, 2, 1)).addAllSpan(List.of(11, 2, 40)))
            .addLocation(SourceCodeInfo.Location.newBuilder().addAllPath(List.of(6, 0, 2, 3)).addAllSpan(List.of(13, 2, 45))))
        .build();

    CodeGeneratorResponse response = run(file);

    assertThat(response.getFileList()).isEmpty();
    assertThat(response.getError().split("\n")).containsExactly(
        "demo/chat.proto:12:3: rpc demo.Chat/get: maps to the Java method name get, as another rpc of the service "
            + "does; rename one of them",
        "demo/chat.proto:14:3: rpc demo.Chat/put: maps to the Java method name put, as another rpc of the service "
            + "does; rename one of them");
  }

  @Test
  void sideOptionGeneratesOneSideOnly() {
    FileDescriptorProto file = file(rpc("Send").build());
    assertThat(run(file, "side=server").getFileList()).extracting(CodeGeneratorResponse.File::getName)
        .containsExactly("com/example/chat/ChatFerry.java", "com/example/chat/ChatFerryService.java");
    CodeGeneratorResponse client = run(file, "side=client");
    assertThat(client.getFileList()).extracting(CodeGeneratorResponse.File::getName)
        .containsExactly("com/example/chat/ChatFerry.java", "com/example/chat/ChatFerryStub.java");
    assertThat(client.getFile(0).getContent()).contains("used by {@link ChatFerryStub}").doesNotContain("ChatFerryService");
    assertThat(run(file, "side=both").getFileList()).hasSize(3);
    assertThat(run(file, "side=sever").getError())
        .isEqualTo("Ferry generator option \"side=sever\" not understood (expected: side=server, side=client or side=both)");
  }

  @Test
  void javaNames() {
    assertThat(JavaNames.methodName("SayHello")).isEqualTo("sayHello");
    assertThat(JavaNames.methodName("Class")).isEqualTo("class_");
    assertThat(JavaNames.constantName("SayHello")).isEqualTo("SAY_HELLO");
    assertThat(JavaNames.constantName("GetHTTPStatus")).isEqualTo("GET_HTTP_STATUS");
    assertThat(JavaNames.constantName("v2Call")).isEqualTo("V2_CALL");
    assertThat(JavaNames.underscoresToCamelCase("my_service-v2", true)).isEqualTo("MyServiceV2");
    assertThat(JavaNames.outerClassName(FileDescriptorProto.newBuilder().setName("a/b/foo_bar.proto").build()))
        .isEqualTo("FooBar");
    assertThat(JavaNames.outerClassName(FileDescriptorProto.newBuilder().setName("clash.proto")
        .addMessageType(DescriptorProto.newBuilder().setName("Clash")).build())).isEqualTo("ClashOuterClass");
  }
}
