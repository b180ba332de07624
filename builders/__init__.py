"""Benchmark definitions (the registry) and the coordinate -> sequence engine."""

__version__ = "0.1.0"
