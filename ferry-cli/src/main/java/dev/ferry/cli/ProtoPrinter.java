package dev.ferry.cli;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/** Writes descriptors back as {@code .proto} declarations (without comments: reflection carries none). */
final class ProtoPrinter {
  private final StringBuilder out = new StringBuilder();

  static String service(ServiceDescriptor service) {
    ProtoPrinter p = new ProtoPrinter();
    p.line(0, "service " + service.getName() + " {");
    for (MethodDescriptor m : service.getMethods()) {
      p.line(1, rpc(m));
    }
    p.line(0, "}");
    return p.out.toString();
  }

  static String rpc(MethodDescriptor m) {
    return "rpc " + m.getName() + "(" + (m.isClientStreaming() ? "stream " : "") + m.getInputType().getFullName()
        + ") returns (" + (m.isServerStreaming() ? "stream " : "") + m.getOutputType().getFullName() + ");";
  }

  static String message(Descriptor message) {
    ProtoPrinter p = new ProtoPrinter();
    p.message(0, message);
    return p.out.toString();
  }

  static String enumType(EnumDescriptor e) {
    ProtoPrinter p = new ProtoPrinter();
    p.enumType(0, e);
    return p.out.toString();
  }

  private void message(int depth, Descriptor message) {
    line(depth, "message " + message.getName() + " {");
    Set<OneofDescriptor> printed = new HashSet<>();
    for (FieldDescriptor f : message.getFields()) {
      OneofDescriptor oneof = f.getRealContainingOneof();
      if (oneof == null) {
        line(depth + 1, field(f));
      } else if (printed.add(oneof)) {
        line(depth + 1, "oneof " + oneof.getName() + " {");
        for (FieldDescriptor member : oneof.getFields()) {
          line(depth + 2, field(member));
        }
        line(depth + 1, "}");
      }
    }
    for (Descriptor nested : message.getNestedTypes()) {
      if (!nested.getOptions().getMapEntry()) {
        message(depth + 1, nested);
      }
    }
    for (EnumDescriptor e : message.getEnumTypes()) {
      enumType(depth + 1, e);
    }
    line(depth, "}");
  }

  private void enumType(int depth, EnumDescriptor e) {
    line(depth, "enum " + e.getName() + " {");
    for (EnumValueDescriptor v : e.getValues()) {
      line(depth + 1, v.getName() + " = " + v.getNumber() + ";");
    }
    line(depth, "}");
  }

  private static String field(FieldDescriptor f) {
    String label = "";
    if (f.isMapField()) {
      Descriptor entry = f.getMessageType();
      return "map<" + type(entry.findFieldByNumber(1)) + ", " + type(entry.findFieldByNumber(2)) + "> " + f.getName()
          + " = " + f.getNumber() + ";";
    }
    boolean proto2 = !"proto3".equals(f.getFile().toProto().getSyntax()) && !"editions".equals(
        f.getFile().toProto().getSyntax());
    if (f.isRepeated()) {
      label = "repeated ";
    } else if (f.isRequired()) {
      label = "required ";
    } else if (f.toProto().getProto3Optional() || proto2) {
      label = "optional ";
    }
    return label + type(f) + " " + f.getName() + " = " + f.getNumber() + ";";
  }

  private static String type(FieldDescriptor f) {
    switch (f.getType()) {
      case MESSAGE:
      case GROUP:
        return f.getMessageType().getFullName();
      case ENUM:
        return f.getEnumType().getFullName();
      default:
        return f.getType().name().toLowerCase(Locale.ROOT);
    }
  }

  private void line(int depth, String text) {
    out.append("  ".repeat(depth)).append(text).append('\n');
  }
}
