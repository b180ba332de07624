"""Subcommands of this package for the `gbhub` console script (placeholder until implemented)."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add this package's subcommands to `subparsers`."""
