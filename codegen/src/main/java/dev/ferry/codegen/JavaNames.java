package dev.ferry.codegen;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The Java names protobuf-java gives to the messages of a set of {@code .proto} files, following its
 * rules for {@code java_package}, {@code java_multiple_files}, {@code java_outer_classname} and nested
 * types; and the identifier helpers the generator needs.
 */
final class JavaNames {
  static final Set<String> KEYWORDS = Set.of(
      "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
      "continue", "default", "do", "double", "else", "enum", "extends", "final", "finally", "float",
      "for", "goto", "if", "implements", "import", "instanceof", "int", "interface", "long", "native",
      "new", "package", "private", "protected", "public", "return", "short", "static", "strictfp",
      "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try", "void",
      "volatile", "while", "true", "false", "null", "var", "yield", "record", "sealed", "permits",
      "non-sealed", "_");

  /** ".pkg.Message.Nested" -> "com.example.Outer.Message.Nested". */
  private final Map<String, String> messages = new HashMap<>();

  JavaNames(Iterable<FileDescriptorProto> files) {
    for (FileDescriptorProto file : files) {
      String prefix = javaPackage(file);
      if (!file.getOptions().getJavaMultipleFiles()) {
        prefix = qualify(prefix, outerClassName(file));
      }
      String protoPrefix = file.getPackage().isEmpty() ? "." : "." + file.getPackage() + ".";
      for (DescriptorProto m : file.getMessageTypeList()) {
        add(protoPrefix, prefix, m);
      }
    }
  }

  private void add(String protoPrefix, String javaPrefix, DescriptorProto m) {
    String proto = protoPrefix + m.getName();
    String java = qualify(javaPrefix, m.getName());
    messages.put(proto, java);
    for (DescriptorProto nested : m.getNestedTypeList()) {
      add(proto + ".", java, nested);
    }
  }

  /** The Java class of the message {@code protoType} (".pkg.Message"). */
  String messageClass(String protoType) {
    String java = messages.get(protoType);
    if (java == null) {
      throw new GenerationException("unknown message type " + protoType);
    }
    return java;
  }

  /** The Java package of {@code file}: {@code java_package}, else the proto package. */
  static String javaPackage(FileDescriptorProto file) {
    return file.getOptions().hasJavaPackage() ? file.getOptions().getJavaPackage() : file.getPackage();
  }

  /**
   * The outer class protobuf-java generates for {@code file}: {@code java_outer_classname}, else the
   * file's base name in CamelCase, with "OuterClass" appended if a top-level type has that name.
   */
  static String outerClassName(FileDescriptorProto file) {
    if (file.getOptions().hasJavaOuterClassname()) {
      return file.getOptions().getJavaOuterClassname();
    }
    String name = file.getName();
    name = name.substring(name.lastIndexOf('/') + 1);
    if (name.endsWith(".proto")) {
      name = name.substring(0, name.length() - ".proto".length());
    }
    String camel = underscoresToCamelCase(name, true);
    boolean clash = false;
    for (DescriptorProto m : file.getMessageTypeList()) {
      clash |= m.getName().equals(camel);
    }
    for (EnumDescriptorProto e : file.getEnumTypeList()) {
      clash |= e.getName().equals(camel);
    }
    for (ServiceDescriptorProto s : file.getServiceList()) {
      clash |= s.getName().equals(camel);
    }
    return clash ? camel + "OuterClass" : camel;
  }

  /** protoc's conversion: letters after a non-alphanumeric (or a digit) start a new word. */
  static String underscoresToCamelCase(String input, boolean capitalizeFirst) {
    StringBuilder out = new StringBuilder(input.length());
    boolean capitalizeNext = capitalizeFirst;
    for (int i = 0; i < input.length(); i++) {
      char c = input.charAt(i);
      if (c >= 'a' && c <= 'z') {
        out.append(capitalizeNext ? Character.toUpperCase(c) : c);
        capitalizeNext = false;
      } else if (c >= 'A' && c <= 'Z') {
        out.append(i == 0 && !capitalizeFirst ? Character.toLowerCase(c) : c);
        capitalizeNext = false;
      } else if (c >= '0' && c <= '9') {
        out.append(c);
        capitalizeNext = true;
      } else {
        capitalizeNext = true;
      }
    }
    return out.toString();
  }

  /** "SayHello" -> "sayHello"; a Java keyword gets a trailing underscore. */
  static String methodName(String rpcName) {
    String name = rpcName.isEmpty() ? rpcName : Character.toLowerCase(rpcName.charAt(0)) + rpcName.substring(1);
    return KEYWORDS.contains(name) ? name + "_" : name;
  }

  /** "SayHello" -> "SAY_HELLO", "getHTTPStatus" -> "GET_HTTP_STATUS". */
  static String constantName(String rpcName) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < rpcName.length(); i++) {
      char c = rpcName.charAt(i);
      boolean upper = Character.isUpperCase(c);
      if (i > 0 && upper) {
        char prev = rpcName.charAt(i - 1);
        boolean nextLower = i + 1 < rpcName.length() && Character.isLowerCase(rpcName.charAt(i + 1));
        if (Character.isLowerCase(prev) || Character.isDigit(prev) || (Character.isUpperCase(prev) && nextLower)) {
          out.append('_');
        }
      }
      out.append(c == '_' ? '_' : Character.toUpperCase(c));
    }
    return out.toString().replace("__", "_").toUpperCase(Locale.ROOT);
  }

  static String qualify(String pkg, String name) {
    return pkg.isEmpty() ? name : pkg + "." + name;
  }
}
