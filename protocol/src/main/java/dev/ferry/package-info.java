/**
 * The types every Ferry program uses, on both sides: {@link dev.ferry.StatusCode} and
 * {@link dev.ferry.FerryException} (one error model: a status code, a description, trailing metadata),
 * {@link dev.ferry.Metadata}, {@link dev.ferry.MethodDescriptor} (what generated code describes an rpc
 * with), and the TLS options both sides share ({@link dev.ferry.TlsBuilder}, {@link dev.ferry.TlsProvider}).
 */
package dev.ferry;
