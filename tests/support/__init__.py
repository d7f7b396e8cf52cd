"""Support code for the tests and benchmarks (not part of the student package)."""
