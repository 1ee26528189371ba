package dev.ferry.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.FerryException;
import dev.ferry.client.FerryChannel;
import dev.ferry.server.FerryServer;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Ferry's public API is exactly what is meant to be API: an internal type cannot become public API by
 * accident.
 *
 * <ul>
 *   <li>The types a user can reach in the protocol, server and client modules are exactly those listed
 *       in {@code public-api.txt} (a class made public, or a new public class, fails here until it is
 *       added to the list on purpose), and all live in the exported API packages.
 *   <li>No public or protected signature of an API type mentions a type of {@code dev.ferry.internal}
 *       or a Ferry type a user cannot reach (Armeria's rule: a public API never refers to an internal
 *       type).
 *   <li>Each module exports its API packages to everyone and its internal packages only to Ferry's
 *       own modules.
 * </ul>
 */
class PublicApiTest {
  private static final Set<String> API_PACKAGES =
      Set.of("dev.ferry", "dev.ferry.server", "dev.ferry.server.auth", "dev.ferry.client", "dev.ferry.client.auth");
  private static final Set<String> FERRY_MODULES = Set.of("dev.ferry.protocol", "dev.ferry.server", "dev.ferry.client");

  @Test
  void theTypesUsersCanReachAreExactlyTheApprovedOnes() throws Exception {
    Set<String> reachable = new TreeSet<>();
    for (Class<?> type : allClasses()) {
      if (isReachable(type)) {
        reachable.add(type.getName());
      }
    }
    Set<String> approved = approvedApi();

    assertThat(reachable).as("public types not in public-api.txt: make them package-private, or add them "
        + "to the list if they are meant to be API").isSubsetOf(approved);
    assertThat(approved).as("types in public-api.txt that are not public API (any more)").isSubsetOf(reachable);
    assertThat(reachable).allSatisfy(name -> assertThat(API_PACKAGES)
        .as("%s is reachable but not in an API package", name).contains(packageOf(name)));
  }

  @Test
  void noApiSignatureMentionsAnInternalOrUnreachableFerryType() throws Exception {
    List<String> leaks = new ArrayList<>();
    for (Class<?> type : allClasses()) {
      if (!isReachable(type)) {
        continue;
      }
      check(type.getName() + " extends", type.getGenericSuperclass(), leaks);
      for (Type i : type.getGenericInterfaces()) {
        check(type.getName() + " implements", i, leaks);
      }
      for (Field f : type.getDeclaredFields()) {
        if (visible(f)) {
          check(type.getName() + "." + f.getName(), f.getGenericType(), leaks);
        }
      }
      for (Constructor<?> c : type.getDeclaredConstructors()) {
        if (visible(c) && !type.isEnum()) {
          for (Type p : c.getGenericParameterTypes()) {
            check(type.getName() + " constructor", p, leaks);
          }
        }
      }
      for (Method m : type.getDeclaredMethods()) {
        if (visible(m) && !m.isSynthetic() && !m.isBridge()) {
          String where = type.getName() + "." + m.getName() + "()";
          check(where, m.getGenericReturnType(), leaks);
          for (Type p : m.getGenericParameterTypes()) {
            check(where, p, leaks);
          }
          for (Type e : m.getGenericExceptionTypes()) {
            check(where, e, leaks);
          }
        }
      }
    }
    assertThat(leaks).as("API signatures that mention types users cannot reach").isEmpty();
  }

  @Test
  void modulesExportTheirApiToEveryoneAndTheirInternalsOnlyToFerry() throws Exception {
    for (Class<?> anchor : List.of(FerryException.class, FerryServer.class, FerryChannel.class)) {
      ModuleDescriptor module = descriptor(anchor);
      assertThat(FERRY_MODULES).contains(module.name());
      for (ModuleDescriptor.Exports e : module.exports()) {
        if (e.isQualified()) {
          assertThat(e.source()).as("only internal packages are exported to chosen modules").contains(".internal");
          assertThat(FERRY_MODULES).as("%s exported to", e.source()).containsAll(e.targets());
        } else {
          assertThat(API_PACKAGES).as("%s is exported to everyone", e.source()).contains(e.source());
        }
      }
      assertThat(module.packages().stream().filter(API_PACKAGES::contains))
          .as("every API package of %s is exported", module.name())
          .allSatisfy(p -> assertThat(module.exports()).anySatisfy(e -> {
            assertThat(e.source()).isEqualTo(p);
            assertThat(e.isQualified()).isFalse();
          }));
    }
  }

  // ---- helpers ----

  private static void check(String where, Type type, List<String> leaks) {
    check(where, type, leaks, new java.util.HashSet<>());
  }

  private static void check(String where, Type type, List<String> leaks, Set<Type> seen) {
    if (!seen.add(type)) {
      return; // a type variable bounded by itself, as in B extends TlsBuilder<B>
    }
    if (type instanceof Class<?>) {
      Class<?> c = (Class<?>) type;
      while (c.isArray()) {
        c = c.getComponentType();
      }
      if (c.getName().startsWith("dev.ferry.") && !isReachable(c)) {
        leaks.add(where + " mentions " + c.getName());
      }
    } else if (type instanceof ParameterizedType) {
      ParameterizedType p = (ParameterizedType) type;
      check(where, p.getRawType(), leaks, seen);
      for (Type a : p.getActualTypeArguments()) {
        check(where, a, leaks, seen);
      }
    } else if (type instanceof WildcardType) {
      for (Type b : ((WildcardType) type).getUpperBounds()) {
        check(where, b, leaks, seen);
      }
      for (Type b : ((WildcardType) type).getLowerBounds()) {
        check(where, b, leaks, seen);
      }
    } else if (type instanceof GenericArrayType) {
      check(where, ((GenericArrayType) type).getGenericComponentType(), leaks, seen);
    } else if (type instanceof TypeVariable<?>) {
      for (Type b : ((TypeVariable<?>) type).getBounds()) {
        check(where, b, leaks, seen);
      }
    }
  }

  /** Public or protected (protected members of a public non-final class are API to subclasses). */
  private static boolean visible(Member m) {
    int mod = m.getModifiers();
    return Modifier.isPublic(mod) || Modifier.isProtected(mod) && !Modifier.isFinal(m.getDeclaringClass().getModifiers());
  }

  /** Whether code outside Ferry can name {@code type}: it and every type around it are public. */
  private static boolean isReachable(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getEnclosingClass()) {
      if (!Modifier.isPublic(c.getModifiers()) || c.isAnonymousClass() || c.isLocalClass() || c.isSynthetic()) {
        return false;
      }
    }
    return API_PACKAGES.contains(type.getPackageName());
  }

  private static String packageOf(String className) {
    return className.substring(0, className.lastIndexOf('.'));
  }

  private static Set<String> approvedApi() throws IOException {
    try (InputStream in = PublicApiTest.class.getResourceAsStream("/public-api.txt")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip)
          .filter(l -> !l.isEmpty() && !l.startsWith("#")).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  /** Every class of the protocol, server and client modules, loaded without initialising it. */
  private static List<Class<?>> allClasses() throws Exception {
    List<Class<?>> classes = new ArrayList<>();
    for (Class<?> anchor : List.of(FerryException.class, FerryServer.class, FerryChannel.class)) {
      Path root = location(anchor);
      List<String> names;
      if (Files.isDirectory(root)) {
        try (Stream<Path> files = Files.walk(root)) {
          names = files.filter(p -> p.toString().endsWith(".class") && !p.endsWith("module-info.class"))
              .map(p -> root.relativize(p).toString()).collect(Collectors.toList());
        }
      } else {
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(root.toFile())) {
          names = jar.stream().map(java.util.jar.JarEntry::getName)
              .filter(n -> n.endsWith(".class") && !n.endsWith("module-info.class") && !n.startsWith("META-INF/"))
              .collect(Collectors.toList());
        }
      }
      for (String n : names) {
        String className = n.substring(0, n.length() - ".class".length()).replace('/', '.').replace('\\', '.');
        classes.add(Class.forName(className, false, PublicApiTest.class.getClassLoader()));
      }
    }
    return classes;
  }

  private static Path location(Class<?> anchor) throws URISyntaxException {
    return Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static ModuleDescriptor descriptor(Class<?> anchor) throws URISyntaxException {
    Set<ModuleReference> found = ModuleFinder.of(location(anchor)).findAll();
    assertThat(found).as("a module-info in the module of %s", anchor.getName()).hasSize(1);
    return found.iterator().next().descriptor();
  }
}
