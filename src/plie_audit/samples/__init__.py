"""Generated sample justificatifs for the demo, the tests and the benchmarks (no real data)."""
