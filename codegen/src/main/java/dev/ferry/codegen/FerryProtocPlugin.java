package dev.ferry.codegen;

import com.google.protobuf.compiler.PluginProtos.CodeGeneratorRequest;
import com.google.protobuf.compiler.PluginProtos.CodeGeneratorResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The protoc plugin: reads a {@code CodeGeneratorRequest} from standard input and writes a
 * {@code CodeGeneratorResponse} to standard output, as protoc's plugin protocol requires.
 *
 * <p>For every service of every file protoc asks for, it writes three Java files into the file's Java
 * package (see {@link ServiceGenerator}). A problem with the input (a streaming rpc, for now) is
 * reported through the response's error field, which protoc prints and fails on; nothing is written
 * then.
 */
public final class FerryProtocPlugin {
  private FerryProtocPlugin() {}

  public static void main(String[] args) throws IOException {
    CodeGeneratorRequest request;
    try (InputStream in = System.in) {
      request = CodeGeneratorRequest.parseFrom(in);
    }
    CodeGeneratorResponse response = generate(request);
    OutputStream out = System.out;
    response.writeTo(out);
    out.flush();
  }

  /** The response for {@code request}: the generated files, or an error. */
  public static CodeGeneratorResponse generate(CodeGeneratorRequest request) {
    CodeGeneratorResponse.Builder response = CodeGeneratorResponse.newBuilder()
        .setSupportedFeatures(CodeGeneratorResponse.Feature.FEATURE_PROTO3_OPTIONAL_VALUE);
    try {
      response.addAllFile(new ServiceGenerator(request).generate());
    } catch (GenerationException e) {
      return response.clearFile().setError(e.getMessage()).build();
    }
    return response.build();
  }
}
