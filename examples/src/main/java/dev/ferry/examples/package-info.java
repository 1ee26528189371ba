/** Runnable programs a new user copies from. Not written yet: see the examples issue. */
package dev.ferry.examples;
