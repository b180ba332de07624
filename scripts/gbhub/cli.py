"""The `gbhub` console script: one subcommand per stage, each a thin layer over library calls."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import TYPE_CHECKING, Sequence

from gbhub import __version__
from gbhub.builders.errors import GBHubError, os_error_message

if TYPE_CHECKING:  # what `build_parser` loads by name (`COMMAND_MODULES`), for readers and import graphs
    from gbhub.commands import audit, cards, create, data, leaderboard, motifs, train  # noqa: F401

# Each module of `gbhub.commands` exposes `register(subparsers)`, adding its subcommands with
# `set_defaults(func=...)`; `func(args)` returns an exit status. The command modules import the heavy
# libraries (datasets, torch, transformers) inside the functions that run a command, and `main` imports
# only the module of the command it runs (the others cost 0.1 s of start-up: the training recipes, the
# audit's parameters...); `gbhub --help`, an unknown command and `build_parser()` register them all.
# tests/test_cli.py checks this table against what each module registers.
COMMAND_MODULES = ("data", "audit", "cards", "train", "motifs", "leaderboard", "create")
COMMANDS = {
    "list": "data", "references": "data", "build": "data", "audit": "audit", "card": "cards", "push": "cards",
    "push-model": "cards", "train": "train", "demo": "train", "motifs": "motifs", "leaderboard": "leaderboard",
    "baselines": "leaderboard", "create": "create", "locate": "create",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `gbhub` parser: with `command` (a subcommand's name), only its module's subcommands are added."""
    parser = argparse.ArgumentParser(
        prog="gbhub",
        description="Genomic sequence benchmarks as Hugging Face datasets: build, audit, card, push, train.",
    )
    parser.add_argument("--version", action="version", version=f"gbhub {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log gbhub's debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES:
        importlib.import_module(f"gbhub.commands.{name}").register(subparsers)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The word naming the subcommand: the first after `gbhub`'s own `-v` (anything else registers all)."""
    return next((word for word in argv if word not in ("-v", "--verbose")), None)


def configure_logging(verbose: bool) -> None:
    """gbhub's own messages at INFO (DEBUG with -v) on stderr; other libraries stay at WARNING.

    The root logger is left alone: `-v` must not turn on the debug output of matplotlib, filelock,
    fsspec and the rest (records still propagate, so an application's own handlers see them too).
    """
    logger = logging.getLogger("gbhub")
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not any(getattr(h, "_gbhub", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._gbhub = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gbhub` with `argv` (default: `sys.argv[1:]`) and return the exit status.

    `--help`, `--version` and usage errors exit through argparse (`SystemExit`, status 0 or 2), as
    every argparse program does; a command's own failures are printed on one line and returned.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command_word(argv)).parse_args(argv)
    configure_logging(args.verbose)
    name = " ".join(filter(None, (args.command, getattr(args, "recipe", None))))  # as argparse's own errors
    try:
        return int(args.func(args) or 0)
    except GBHubError as err:
        print(f"gbhub {name}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `gbhub list | head`
        sys.stderr.close()
        return 0
    except OSError as err:  # a path, a permission, a full disk: say which, without a traceback (-v logs it)
        logging.getLogger(__name__).debug("gbhub %s failed", name, exc_info=True)
        message = str(err) if isinstance(err, FileNotFoundError) else os_error_message(err)  # a write: name a fix
        print(f"gbhub {name}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
