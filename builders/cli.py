"""The `gbhub` console script: one subcommand per stage, each a thin layer over library calls."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from builders.errors import GBHubError

# Each module exposes `register(subparsers)`, adding its subcommands with `set_defaults(func=...)`;
# `func(args)` returns an exit status. Heavy imports (torch, transformers) stay inside the functions.
COMMAND_MODULES = (
    "builders.commands",
    "builders.audit.commands",
    "hub_cards.commands",
    "training.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gbhub",
        description="Genomic sequence-classification benchmarks as Hugging Face datasets.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gbhub` with `argv` (default: `sys.argv[1:]`) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except GBHubError as err:
        print(f"gbhub {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `gbhub list | head`
        sys.stderr.close()
        return 0
    except OSError as err:  # a path, a permission, a full disk: say which, without a traceback (-v logs it)
        logging.getLogger(__name__).debug("gbhub %s failed", args.command, exc_info=True)
        print(f"gbhub {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
