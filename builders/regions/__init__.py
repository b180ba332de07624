"""User-made region benchmarks (`gbhub create`): BED input, matched negatives, splits, the written spec."""
