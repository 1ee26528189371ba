package dev.ferry.cli;

import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Calling a method known only from its descriptor: messages from JSON, a Ferry method descriptor. */
final class DynamicMethods {
  private DynamicMethods() {}

  /** The Ferry method descriptor of {@code method}: its wire name, and parsers of its message types. */
  static dev.ferry.MethodDescriptor<DynamicMessage, DynamicMessage> of(MethodDescriptor method) {
    if (method.isClientStreaming() || method.isServerStreaming()) {
      throw new CliException(method.getFullName() + " is a streaming method; Ferry calls unary methods only");
    }
    return dev.ferry.MethodDescriptor.of(method.getService().getFullName() + "/" + method.getName(),
        DynamicMessage.getDefaultInstance(method.getInputType()).getParserForType(),
        DynamicMessage.getDefaultInstance(method.getOutputType()).getParserForType());
  }

  /** A JSON type registry that knows the method's messages (for {@code Any} fields). */
  static JsonFormat.TypeRegistry registry(MethodDescriptor method) {
    return JsonFormat.TypeRegistry.newBuilder().add(method.getInputType()).add(method.getOutputType()).build();
  }

  /** The request: {@code data} is JSON, {@code @FILE} a file of JSON, {@code @-} JSON on standard input. */
  static DynamicMessage request(MethodDescriptor method, String data, InputStream stdin) {
    String json;
    try {
      if (data.equals("@-")) {
        json = new String(stdin.readAllBytes(), StandardCharsets.UTF_8);
      } else if (data.startsWith("@")) {
        json = Files.readString(ConnectionOptions.readable(Path.of(data.substring(1)), "-d"), StandardCharsets.UTF_8);
      } else {
        json = data;
      }
    } catch (IOException e) {
      throw new CliException("-d: " + e.getMessage(), e);
    }
    DynamicMessage.Builder builder = DynamicMessage.newBuilder(method.getInputType());
    try {
      JsonFormat.parser().usingTypeRegistry(registry(method)).merge(json.isBlank() ? "{}" : json, builder);
    } catch (InvalidProtocolBufferException e) {
      throw new CliException("-d: not a " + method.getInputType().getFullName() + " in JSON: " + e.getMessage(), e);
    }
    return builder.build();
  }
}
