"""argparse value types shared by the subcommands: one spelling of each error, checked before any work."""

from __future__ import annotations

import argparse
from typing import Callable


def number(kind: type, check: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    """An argparse type parsing `kind` and refusing values failing `check` with "expected <expected>, got '...'"."""
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not check(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return convert


positive_int = number(int, lambda v: v >= 1, "a whole number >= 1")
seed_int = number(int, lambda v: 0 <= v < 2**32, f"a whole number from 0 to {2**32 - 1}")  # numpy's seed range
fraction = number(float, lambda v: 0 < v < 1, "a number between 0 and 1")
non_negative = number(float, lambda v: v >= 0, "a number >= 0")
