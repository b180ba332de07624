"""`gbhub train dnabert`: flags generated from `DNABertArguments`, an optional JSON overlay, and the entry point."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Sequence

# training.dnabert imports only numpy at module level (torch/transformers load inside its functions),
# so registering the subcommand keeps `gbhub --help` fast.
from gbhub.training.dnabert import DNABertArguments, arguments_dict, parse_seeds

EXAMPLE = """\
example (smoke run, CPU):
  gbhub train dnabert --dataset DIR --config synthetic --out runs/dnabert \\
      --model zhihan1996/DNA_bert_6 --max-steps 20 --max-train-samples 256
"""


def _flag_type(field: dataclasses.Field):
    """The argparse `type` of a dataclass field (Optional[X] -> X; seeds -> comma list)."""
    if field.name == "seeds":
        return parse_seeds
    hint = typing.get_type_hints(DNABertArguments)[field.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per `DNABertArguments` field, with its help text and default.

    Defaults are `SUPPRESS`ed in the namespace so that an `--args-json` file can supply values that the
    command line did not give (command line > JSON > dataclass default).
    """
    parser.add_argument("--args-json", metavar="FILE", help="JSON file of arguments (flags given here override it)")
    for field in dataclasses.fields(DNABertArguments):
        flag = "--" + field.name.replace("_", "-")
        meta = dict(field.metadata)
        default = field.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        help_text = meta.get("help", "")
        if default not in ("", None, False):
            help_text += f" (default: {shown})"
        kwargs = {"help": help_text, "default": argparse.SUPPRESS, "dest": field.name}
        if _flag_type(field) is bool:
            kwargs["action"] = "store_true"
        else:
            kwargs["type"] = _flag_type(field)
            kwargs["metavar"] = field.name.upper() if "choices" not in meta else None
            if "choices" in meta:
                kwargs["choices"] = meta["choices"]
        parser.add_argument(flag, **kwargs)


def arguments_from_namespace(ns: argparse.Namespace) -> DNABertArguments:
    """Merge `--args-json` (if any) and the flags given on the command line into `DNABertArguments`."""
    names = {f.name for f in dataclasses.fields(DNABertArguments)}
    given = {k: v for k, v in vars(ns).items() if k in names}
    if getattr(ns, "args_json", None):
        return DNABertArguments.from_json(ns.args_json, **given)
    return DNABertArguments(**given)


def run(ns: argparse.Namespace) -> int:
    """Entry point of `gbhub train dnabert`: fine-tune, then print where the run is and its test metrics."""
    args = arguments_from_namespace(ns)
    from gbhub.training.dnabert import fine_tune

    record = fine_tune(args)
    if record:
        test = record["metrics"]["test"]
        shown = ", ".join(f"{k} {v:.4f}" for k, v in test.items() if v is not None and k != "loss")
        print(f"DNABERT run written to {args.out} (seed {record['selected_seed']} selected on validation)")
        print(f"test: {shown}")
        if len(args.seeds) > 1:
            acc = record["summary"]["test"]["accuracy"]
            print(f"test accuracy over seeds {','.join(map(str, args.seeds))}: {acc['mean']:.4f} ± {acc['std']:.4f}")
    return 0


def register(train_subparsers) -> None:
    """Add the `dnabert` subcommand to the `gbhub train` subparsers."""
    parser = train_subparsers.add_parser(
        "dnabert",
        help="fine-tune a DNABERT k-mer checkpoint with the transformers Trainer",
        description="Fine-tune DNABERT on one benchmark config: k-mer windows, per-epoch validation, best "
        "epoch selected on validation, one final test evaluation, model card.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gbhub train dnabert` alone (tests call `main([...])`); errors print one line, exit status 2."""
    import sys

    from gbhub.builders.errors import GBHubError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["dnabert"]:
        argv = ["dnabert", *argv]
    parser = argparse.ArgumentParser(prog="gbhub train")
    register(parser.add_subparsers(dest="train_command", required=True))
    ns = parser.parse_args(argv)
    try:
        return run(ns)
    except GBHubError as err:
        print(f"gbhub train dnabert: error: {err}", file=sys.stderr)
        return 2


__all__ = ["register", "main", "run", "add_arguments", "arguments_from_namespace", "arguments_dict"]


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main())
