"""Benchmark definitions (the registry) and the coordinate -> sequence engine."""
