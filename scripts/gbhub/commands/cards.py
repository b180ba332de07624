"""The `gbhub card`, `gbhub push` and `gbhub push-model` subcommands (thin layers over `hub_cards`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gbhub.builders.errors import GBHubError

# Model runs: Trainer checkpoints (optimizer states) and TensorBoard logs stay local.
MODEL_RUN_IGNORE = ("checkpoint-*", "checkpoint-*/*", "*/checkpoint-*/*", "runs/*", "*/runs/*")


class FolderError(GBHubError, ValueError):
    """The folder given to `card`/`push` is missing or not a built Hub-layout folder."""


def repo_id(text: str) -> str:
    """argparse type: a Hub repository id, checked as `huggingface_hub` checks it (`NAME` or `ORG/NAME`)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError as err:
        raise argparse.ArgumentTypeError(" ".join(str(err).split()).replace(" Use `repo_type` argument if needed.", ""))
    return text


def register(subparsers) -> None:
    """Add this package's subcommands to `subparsers`."""
    card = subparsers.add_parser("card", help="re-render DIR/README.md and its images from the data in DIR",
                                 description="Re-render the dataset card of a built Hub-layout folder "
                                             "(no data is rebuilt); completes a build that was interrupted "
                                             "after its config was written.")
    card.add_argument("dir", type=Path, metavar="DIR", help="a folder written by `gbhub build --out DIR`")
    card.add_argument("--repo-id", type=repo_id, metavar="ORG/NAME",
                      help="repository the card's usage snippets load from")
    card.set_defaults(func=run_card)

    push = subparsers.add_parser("push", help="upload a built dataset folder to the Hub in one commit",
                                 description="Upload DIR (Parquet, card, images, provenance) to a dataset "
                                             "repository in one atomic commit, deleting stale Parquet of the "
                                             "configs it holds. The card is re-rendered first so its snippets "
                                             "name --repo-id.")
    _add_push_arguments(push, "DIR", "a folder written by `gbhub build --out DIR`")
    push.set_defaults(func=run_push)

    push_model = subparsers.add_parser("push-model", help="upload a training run folder to a model repository",
                                       description="Upload a training run (save_pretrained files and model "
                                                   "card) in one commit; checkpoint-*/ and runs/ stay local.")
    _add_push_arguments(push_model, "RUN", "a training run folder")
    push_model.set_defaults(func=run_push_model)


def _add_push_arguments(parser: argparse.ArgumentParser, metavar: str, help_text: str) -> None:
    parser.add_argument("dir", type=Path, metavar=metavar, help=help_text)
    parser.add_argument("--repo-id", type=repo_id, required=True, metavar="ORG/NAME", help="the Hub repository")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--revision", metavar="BRANCH", help="branch to commit to (created when missing)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the operations and sizes; upload nothing and change no local file "
                             "(no token needed)")
    parser.add_argument("--no-progress", action="store_true", help="hide the upload progress bars")


def _built_folder(folder: Path) -> Path:
    if not folder.is_dir():
        raise FolderError(f"{folder} is not a folder; build one first (`gbhub build NAME --out {folder}`)")
    return folder


def run_card(args: argparse.Namespace) -> int:
    """`gbhub card DIR`: complete an interrupted write of DIR, re-render the card and print its path."""
    from gbhub.builders.hub_layout import card_path, recover
    from gbhub.builders.locks import folder_lock
    from gbhub.hub_cards.dataset_card import write_dataset_card

    folder = _built_folder(Path(args.dir))
    with folder_lock(folder, "gbhub card"):
        recover(folder, lambda out: write_dataset_card(out, repo_id=args.repo_id), force=True)
    print(card_path(folder))
    return 0


def run_push(args: argparse.Namespace, api=None) -> int:
    """`gbhub push DIR --repo-id ORG/NAME`: render the card for the repo, then upload DIR in one commit.

    The upload runs under the folder's one-writer lock (no build can swap a config mid-upload). With
    `--dry-run` nothing local changes: the card for the repo is rendered in memory, for its size.
    """
    from gbhub.builders.hub_layout import CARD_FILE, check_card, record_hub_repo_id, recover, restore_files
    from gbhub.builders.locks import folder_lock

    folder = _built_folder(Path(args.dir))
    built = (folder / "provenance").is_dir()
    if args.dry_run:
        overrides = {}
        if built:
            from gbhub.hub_cards.dataset_card import render_card

            try:
                check_card(folder)
            except GBHubError as err:
                print(f"note: {err}")
            overrides[CARD_FILE] = str(render_card(folder, args.repo_id, write_images=False).content).encode()
        return _push(args, "dataset", (), api, overrides)
    if not built:
        return _push(args, "dataset", (), api)
    from gbhub.hub_cards.dataset_card import write_dataset_card

    with folder_lock(folder, f"gbhub push --repo-id {args.repo_id}"):
        recover(folder, lambda out: write_dataset_card(out, repo_id=args.repo_id), force=True)
        # the provenance names the repository (uploaded with it); a model trained on this folder cites it
        previous = record_hub_repo_id(folder, args.repo_id)
        try:
            return _push(args, "dataset", (), api)
        except BaseException:
            restore_files(previous)  # nothing was published: the folder names no repository
            raise


def run_push_model(args: argparse.Namespace, api=None) -> int:
    """`gbhub push-model RUN --repo-id ORG/NAME`: upload a training run in one commit.

    A run trained on a local folder without `--card-dataset-id` has a card with no `model-index` (the Hub
    shows results only for a dataset it knows): that is said before the upload, which still goes ahead.
    """
    import json

    metrics = Path(args.dir) / "metrics.json"
    if metrics.is_file():
        try:
            dataset_id = json.loads(metrics.read_text(encoding="utf-8")).get("card_dataset_id")
        except (ValueError, OSError, AttributeError):
            dataset_id = "?"
        if not dataset_id:
            print(f"note: the model card of {args.dir} names no Hub dataset, so the Hub will show no results "
                  "table for it; train with --card-dataset-id ORG/NAME (the dataset repository the data was "
                  "pushed to) to add one", file=sys.stderr)
    return _push(args, "model", MODEL_RUN_IGNORE, api)


def _push(args: argparse.Namespace, repo_type: str, ignore: tuple[str, ...], api, overrides=None) -> int:
    from gbhub.hub_cards.publish import format_operations, push_folder

    if getattr(args, "no_progress", False):
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()

    result = push_folder(args.dir, args.repo_id, repo_type=repo_type, private=args.private,
                         revision=args.revision, dry_run=args.dry_run, api=api, ignore_patterns=ignore,
                         overrides=overrides)
    if args.dry_run:
        print(format_operations(result, args.repo_id, repo_type, args.revision))
        print("dry run: nothing was uploaded")
    else:
        print(f"pushed {args.dir} to {getattr(result, 'commit_url', None) or args.repo_id}")
    return 0
