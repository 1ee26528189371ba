package dev.ferry.examples.secure;

import dev.ferry.server.ServerTls;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;

/**
 * A server's TLS material from a PKCS#12 key store, as {@code keytool} makes it (see the README's
 * "Real certificates"): PEM files from {@code openssl} go to {@code keyCertChain(crt, key)} instead.
 */
public final class KeyStoreTls {
  private KeyStoreTls() {}

  /** Mutual TLS with the key and chain in {@code keyStore}, trusting client certificates from {@code clientCa}. */
  public static ServerTls serverTls(Path keyStore, char[] password, Path clientCa)
      throws IOException, GeneralSecurityException {
    // [keystore-tls]
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      store.load(in, password);
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, password);
    ServerTls tls = ServerTls.builder()
        .keyManager(keys)                          // the key and its certificate chain
        .trustRoots(clientCa)                      // the CA that issues client certificates
        .clientAuth(ServerTls.ClientAuth.REQUIRE)  // mutual TLS
        .build();
    // [keystore-tls]
    return tls;
  }
}
