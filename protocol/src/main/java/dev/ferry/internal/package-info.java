/**
 * Ferry's wire protocol, as its server and client share it: frames and their codec, the preface and
 * SETTINGS handshake, heartbeats, call headers, the write queue, transports. <b>Not API:</b> these types
 * are public only so that Ferry's own modules can use them; the module exports this package to those
 * modules only, and any of it may change in any release. PROTOCOL.md specifies the protocol itself.
 */
package dev.ferry.internal;
