"""Leakage and shortcut audits of built benchmarks, and the leak-free / chromosome-held-out variants."""
