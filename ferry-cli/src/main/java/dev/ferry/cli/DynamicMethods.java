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
import java.util.ArrayList;
import java.util.List;

/** Calling a method known only from its descriptor: messages from JSON, a Ferry method descriptor. */
final class DynamicMethods {
  private DynamicMethods() {}

  /** The Ferry method descriptor of {@code method}: its wire name, kind, and parsers of its message types. */
  static dev.ferry.MethodDescriptor<DynamicMessage, DynamicMessage> of(MethodDescriptor method) {
    return dev.ferry.MethodDescriptor.of(method.getService().getFullName() + "/" + method.getName(), type(method),
        DynamicMessage.getDefaultInstance(method.getInputType()).getParserForType(),
        DynamicMessage.getDefaultInstance(method.getOutputType()).getParserForType());
  }

  static dev.ferry.MethodDescriptor.Type type(MethodDescriptor method) {
    if (method.isClientStreaming()) {
      return method.isServerStreaming() ? dev.ferry.MethodDescriptor.Type.BIDI_STREAMING
          : dev.ferry.MethodDescriptor.Type.CLIENT_STREAMING;
    }
    return method.isServerStreaming() ? dev.ferry.MethodDescriptor.Type.SERVER_STREAMING
        : dev.ferry.MethodDescriptor.Type.UNARY;
  }

  /** A JSON type registry that knows the method's messages (for {@code Any} fields). */
  static JsonFormat.TypeRegistry registry(MethodDescriptor method) {
    return JsonFormat.TypeRegistry.newBuilder().add(method.getInputType()).add(method.getOutputType()).build();
  }

  /** The request: {@code data} is JSON, {@code @FILE} a file of JSON, {@code @-} JSON on standard input. */
  static DynamicMessage request(MethodDescriptor method, String data, InputStream stdin) {
    List<DynamicMessage> requests = requests(method, data, stdin);
    if (requests.size() != 1) {
      throw new CliException("-d: " + method.getFullName() + " takes one request, got " + requests.size()
          + " JSON objects");
    }
    return requests.get(0);
  }

  /**
   * The requests of a call: {@code data} as in {@link #request}, holding any number of JSON objects one
   * after the other (whitespace between them, as a client-streaming call takes them); none reads as one
   * empty object for a method that takes one request.
   */
  static List<DynamicMessage> requests(MethodDescriptor method, String data, InputStream stdin) {
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
    List<String> objects = splitObjects(json);
    if (objects.isEmpty() && !method.isClientStreaming()) {
      objects = List.of("{}");
    }
    List<DynamicMessage> messages = new ArrayList<>();
    for (String object : objects) {
      DynamicMessage.Builder builder = DynamicMessage.newBuilder(method.getInputType());
      try {
        JsonFormat.parser().usingTypeRegistry(registry(method)).merge(object, builder);
      } catch (InvalidProtocolBufferException e) {
        throw new CliException("-d: not a " + method.getInputType().getFullName() + " in JSON"
            + (objects.size() > 1 ? " (object " + (messages.size() + 1) + ")" : "") + ": " + e.getMessage(), e);
      }
      messages.add(builder.build());
    }
    return messages;
  }

  /**
   * Cuts {@code json} into its top-level values: each object (or other value) ends where its brackets
   * close outside a string. Only the cutting is done here; each part is parsed, and its errors reported,
   * by protobuf's JSON parser.
   */
  static List<String> splitObjects(String json) {
    List<String> parts = new ArrayList<>();
    int depth = 0;
    int start = -1;
    boolean inString = false;
    for (int i = 0; i < json.length(); i++) {
      char c = json.charAt(i);
      if (inString) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inString = false;
        }
        continue;
      }
      if (Character.isWhitespace(c) && depth == 0) {
        if (start >= 0) {
          parts.add(json.substring(start, i));
          start = -1;
        }
        continue;
      }
      if (start < 0) {
        start = i;
      }
      if (c == '"') {
        inString = true;
      } else if (c == '{' || c == '[') {
        depth++;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        parts.add(json.substring(start, i + 1));
        start = -1;
      }
    }
    if (start >= 0) {
      parts.add(json.substring(start)); // unbalanced or a bare value: the parser says what is wrong
    }
    return parts;
  }
}
