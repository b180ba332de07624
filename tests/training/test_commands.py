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
    for flag in ("--dataset", "--max_length", "--max-steps", "--seeds", "--args-json"):
        assert flag in help_text
