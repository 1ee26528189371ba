/** Built-in client credentials: {@link dev.ferry.client.auth.BearerTokenCredentials}. */
package dev.ferry.client.auth;
