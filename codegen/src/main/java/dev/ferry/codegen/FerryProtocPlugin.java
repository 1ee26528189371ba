package dev.ferry.codegen;

import com.google.protobuf.compiler.PluginProtos.CodeGeneratorRequest;
import com.google.protobuf.compiler.PluginProtos.CodeGeneratorResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * The protoc plugin: reads a {@code CodeGeneratorRequest} from standard input and writes a
 * {@code CodeGeneratorResponse} to standard output, as protoc's plugin protocol requires.
 *
 * <p>For every service of every file protoc asks for, it writes Java files into the file's Java
 * package (see {@link ServiceGenerator}). Options, given to protoc as {@code --ferry_opt=...} (in the
 * protobuf Maven plugin: {@code <options>} of the {@code jvmMavenPlugin}), are comma-separated:
 *
 * <ul>
 *   <li>{@code side=server}: the server side only (for a project depending on {@code ferry-server}
 *       alone); {@code side=client}: the client stub only ({@code ferry-client} alone);
 *       {@code side=both} (the default): both.
 * </ul>
 *
 * <p>Problems with the input (rpcs whose Java names clash, a bad option) are reported through the
 * response's error field, one line each, naming the file (with line and column), the rpc and the
 * reason, all of them at once; protoc prints them and fails, and nothing is written. A bug in the
 * generator is reported the same way, with its stack trace on standard error.
 *
 * <p>Single-threaded: it runs once per protoc invocation, on the main thread.
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
      response.addAllFile(new ServiceGenerator(request, Options.parse(request.getParameter())).generate());
    } catch (GenerationException e) {
      return response.clearFile().setError(e.getMessage()).build();
    } catch (RuntimeException e) {
      // A bug here, not a problem with the input: say so, and keep the trace for the report.
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      System.err.print(trace);
      return response.clearFile().setError("the Ferry generator failed (a bug; please report it with the stack "
          + "trace above): " + e).build();
    }
    return response.build();
  }

  /** Which sides to generate. */
  enum Side { BOTH, SERVER, CLIENT }

  /** The plugin's options, from protoc's parameter string. */
  record Options(Side side) {
    static final Options DEFAULT = new Options(Side.BOTH);

    /**
     * Parses {@code "side=server"} and the like; an empty string gives the defaults.
     *
     * @throws GenerationException for an unknown option or value
     */
    static Options parse(String parameter) {
      Side side = Side.BOTH;
      for (String option : parameter.split(",")) {
        String o = option.strip();
        if (o.isEmpty()) {
          continue;
        }
        if (o.equals("side=both")) {
          side = Side.BOTH;
        } else if (o.equals("side=server")) {
          side = Side.SERVER;
        } else if (o.equals("side=client")) {
          side = Side.CLIENT;
        } else {
          throw new GenerationException("Ferry generator option \"" + o
              + "\" not understood (expected: side=server, side=client or side=both)");
        }
      }
      return new Options(side);
    }
  }
}
