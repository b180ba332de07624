"""Baselines on the benchmarks: encoders, models, the Accelerate loop, the Trainer fine-tune, metrics."""
