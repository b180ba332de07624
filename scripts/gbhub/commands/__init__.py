"""The `gbhub` subcommands: one module per stage, each a thin layer over library calls."""
