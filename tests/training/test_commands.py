"""gbhub.commands.train: the `train` subcommands register without importing the training stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gbhub.cli import build_parser


def test_building_the_parser_imports_no_transformers():
    """`gbhub list` builds every parser: the `train` leaves must not pull in transformers/torch until used."""
    code = "import sys, gbhub.cli as c; c.build_parser(); print(sorted({'transformers', 'torch'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_train_cnn_flags_are_populated_on_use():
    help_text = build_parser()._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0].choices[
        "cnn"].format_help()
    for flag in ("--dataset", "--max-length-bp", "--max-steps", "--seeds", "--args-json", "--selection-metric",
                 "--long-sequences", "--precision"):
        assert flag in help_text
    assert "(default: False)" not in help_text and "--max_length" not in help_text


def test_every_recipe_shares_the_run_flags_with_the_same_meaning():
    """Flag parity: the same concept has the same flag, choices and type in every recipe."""
    import argparse

    from gbhub.training.args import DataArguments, RunArguments
    from gbhub.training.recipes import RECIPES

    train = build_parser()._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0].choices
    shared = {f.name for cls in (DataArguments, RunArguments) for f in __import__("dataclasses").fields(cls)}
    seen = {}
    for name in RECIPES:
        actions = {a.dest: a for a in train[name]._actions if not isinstance(a, argparse._HelpAction)}
        assert shared <= set(actions), (name, shared - set(actions))
        for dest in shared - {"protocol"}:
            a = actions[dest]
            key = (tuple(a.option_strings), a.choices and tuple(a.choices), getattr(a.type, "__name__", None))
            assert seen.setdefault(dest, key) == key, (name, dest)
        assert all("_" not in s for a in actions.values() for s in a.option_strings), name
