package dev.ferry.codegen;

/** A source text builder with javadoc helpers. */
final class Code {
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
