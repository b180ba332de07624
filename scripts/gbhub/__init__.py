"""genomic-benchmarks-hub: genomic sequence benchmarks as Hugging Face datasets, with baselines and cards.

The installed packages live under this namespace: `gbhub.builders` (benchmarks and the coordinate ->
sequence engine), `gbhub.hub_cards` (dataset and model cards, publishing), `gbhub.training` (recipes on
one training design) and `gbhub.commands` (the `gbhub` console script's subcommands). This module
imports nothing, so `import gbhub.builders` stays light.
"""

__version__ = "0.2.0"
