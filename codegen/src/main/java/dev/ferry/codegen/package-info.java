/**
 * The protoc plugin that turns {@code .proto} services into Ferry server bases and client stubs.
 * Not written yet: see the codegen issue.
 */
package dev.ferry.codegen;
