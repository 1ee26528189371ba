package dev.ferry.cli;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.GenericDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import java.util.List;

/** The service definitions the tool works from: the server's reflection, or local files. */
interface Schema {
  /** The full names of the services, sorted. */
  List<String> services();

  /**
   * The file that declares {@code symbol}, built with everything it imports.
   *
   * @throws CliException if there is no such symbol
   */
  FileDescriptor fileContaining(String symbol);

  /** Where the definitions come from, for messages: "127.0.0.1:7070's reflection", "the given files". */
  String source();

  /** A service, method, message or enum by full name; a method as {@code pkg.Service/Method} or {@code pkg.Service.Method}. */
  default GenericDescriptor find(String symbol) {
    String name = symbol.startsWith(".") ? symbol.substring(1) : symbol;
    int slash = name.indexOf('/');
    if (slash > 0) {
      return method(name);
    }
    FileDescriptor file = fileContaining(name);
    GenericDescriptor found = find(file, name);
    if (found == null) {
      throw new CliException(source() + " has no symbol " + name);
    }
    return found;
  }

  /** A method, {@code pkg.Service/Method} or {@code pkg.Service.Method}. */
  default MethodDescriptor method(String name) {
    String n = name.startsWith(".") ? name.substring(1) : name;
    int split = n.indexOf('/');
    if (split < 0) {
      split = n.lastIndexOf('.');
    }
    if (split <= 0 || split == n.length() - 1) {
      throw new CliException("method: \"" + name + "\" (expected: package.Service/Method)");
    }
    String serviceName = n.substring(0, split);
    String methodName = n.substring(split + 1);
    GenericDescriptor service = find(fileContaining(serviceName), serviceName);
    if (!(service instanceof ServiceDescriptor)) {
      throw new CliException(source() + " has no service " + serviceName);
    }
    MethodDescriptor method = ((ServiceDescriptor) service).findMethodByName(methodName);
    if (method == null) {
      throw new CliException("service " + serviceName + " has no method " + methodName + " (it has "
          + ((ServiceDescriptor) service).getMethods().stream().map(MethodDescriptor::getName).toList() + ")");
    }
    return method;
  }

  /** {@code fullName} among the declarations of {@code file}, nested ones included; null if absent. */
  static GenericDescriptor find(FileDescriptor file, String fullName) {
    for (ServiceDescriptor s : file.getServices()) {
      if (s.getFullName().equals(fullName)) {
        return s;
      }
      for (MethodDescriptor m : s.getMethods()) {
        if (m.getFullName().equals(fullName)) {
          return m;
        }
      }
    }
    for (Descriptor m : file.getMessageTypes()) {
      GenericDescriptor found = find(m, fullName);
      if (found != null) {
        return found;
      }
    }
    for (EnumDescriptor e : file.getEnumTypes()) {
      if (e.getFullName().equals(fullName)) {
        return e;
      }
    }
    return null;
  }

  private static GenericDescriptor find(Descriptor message, String fullName) {
    if (message.getFullName().equals(fullName)) {
      return message;
    }
    for (Descriptor nested : message.getNestedTypes()) {
      GenericDescriptor found = find(nested, fullName);
      if (found != null) {
        return found;
      }
    }
    for (EnumDescriptor e : message.getEnumTypes()) {
      if (e.getFullName().equals(fullName)) {
        return e;
      }
    }
    return null;
  }
}
