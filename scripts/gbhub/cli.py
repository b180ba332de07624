"""The `gbhub` console script: one subcommand per stage, each a thin layer over library calls."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from gbhub import __version__
from gbhub.builders.errors import GBHubError, os_error_message
from gbhub.commands import audit, cards, create, data, leaderboard, motifs, train

# Each module exposes `register(subparsers)`, adding its subcommands with `set_defaults(func=...)`;
# `func(args)` returns an exit status. The command modules import the heavy libraries (datasets,
# torch, transformers) inside the functions that run a command, so `gbhub --help` stays fast.
COMMAND_MODULES = (data, audit, cards, train, motifs, leaderboard, create)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gbhub",
        description="Genomic sequence benchmarks as Hugging Face datasets: build, audit, card, push, train.",
    )
    parser.add_argument("--version", action="version", version=f"gbhub {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log gbhub's debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


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
    args = build_parser().parse_args(argv)
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
