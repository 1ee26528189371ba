/** Side-by-side load runs against gRPC-java and a raw Netty ceiling. Not written yet: see the benchmarks issue. */
package dev.ferry.benchmarks;
