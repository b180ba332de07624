"""The Hub-layout folder contract: paths, the feature schema, splits, provenance and atomic writes.

A Hub-layout folder is what `push_to_hub` would write, produced locally (DESIGN.md, "Data contract"):

    README.md                                  the dataset card (YAML `configs:` + `dataset_info:`)
    <config>/<split>-NNNNN-of-NNNNN.parquet    the data, one or more shards per split
    provenance/<config>.json                   where each config came from (read by the card)
    audit/<config>.json                        the leakage/shortcut audit (optional)
    images/<config>_<kind>.png                 the card's plots
    specs/<config>.yaml, specs/<config>/       a user-made benchmark's spec and its input files (optional)
    baselines/leaderboard.{json,png}           results of models on these configs (`gbhub leaderboard`)
    .gbhub.lock                                while a gbhub process writes the folder (one writer)
    .gbhub-journal.json                        while a config swap or the card is pending (see `recover`)

Every module that reads or writes such a folder goes through this one; nobody else spells these paths.
Writing a config: the Parquet is streamed into a hidden staging folder, a journal names the swap, the
folder is renamed into place with its provenance, and the card is rendered by the command layer's
callable (`card_transaction`); an interrupted write is completed by the next writer (`recover`), and a
reader can ask whether the card is current (`check_card`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence

from gbhub.builders.errors import GBHubError, OutputWriteError, os_error_message
from gbhub.builders.locks import UNOWNED_GRACE_S, claim, folder_lock, owner_alive, scratch_dir

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

logger = logging.getLogger(__name__)

# `datasets` (about 2 s to import) is imported inside the three functions that build tables, so that
# the constants here stay cheap for `gbhub --help` and the command parsers that read them.

#: The published splits, in this order. `test` is upstream test unchanged; `validation` a stratified,
#: seeded `VALIDATION_FRACTION` of upstream train; `train` the rest.
SPLITS = ("train", "validation", "test")
#: The default seed of every seeded choice the project makes (validation split, subsets, training).
DEFAULT_SEED = 42
VALIDATION_FRACTION = 0.1
# Rows per Parquet row group. The dataset viewer reads whole row groups; 5,000 rows keep each group
# at a few MB for 200-500 bp benchmarks and under ~25 MB uncompressed for the longest (drosophila,
# a few kb), far below datasets' 100 MB target, so pages of the viewer load quickly.
ROW_GROUP_ROWS = 5_000

CARD_FILE = "README.md"
JOURNAL_FILE = ".gbhub-journal.json"
STAGED_PROVENANCE = ".provenance.json"  # inside a staging folder, moved to provenance/ by the swap
PROVENANCE_DIR = "provenance"
AUDIT_DIR = "audit"
IMAGES_DIR = "images"
SPECS_DIR = "specs"
BASELINES_DIR = "baselines"
#: Keys every provenance record has (the card cannot be rendered without them).
REQUIRED_PROVENANCE_KEYS = ("config", "pretty_name", "description", "classes", "citations", "license")


class LayoutError(GBHubError, ValueError):
    """A Hub-layout folder is missing a file or holds an inconsistent one; says how to fix it."""


# ------------------------------------------------------------------------------------------------ schema

#: The columns of every published config, in order; a regression benchmark's side features follow them.
CORE_COLUMNS = ("id", "sequence", "label", "region", "start", "end", "strand")
_COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class RegressionTarget:
    """The label schema of a regression benchmark: its float target(s) and its named numeric side features.

    One target makes `label` a `Value("float32")`; several (e.g. one per tissue) a fixed-length float32 list,
    in `targets` order. Each side feature is a `float32` column of its own, after `strand`, in
    `side_features` order (e.g. the 8 mRNA half-life features of Xpresso).

    Attributes:
        targets: the target names (at least one).
        side_features: the side-feature column names (letters, digits, `_`, `.`, `-`; not a core column).
        description: what the target is, for the card (units, transform).
    """

    targets: tuple[str, ...] = ("target",)
    side_features: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self):
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "side_features", tuple(self.side_features))
        if not self.targets:
            raise LayoutError("a regression target needs at least one target name")
        names = [*self.targets, *self.side_features]
        bad = [n for n in names if not _COLUMN_NAME.match(str(n))]
        if bad:
            raise LayoutError(f"target/side-feature name {bad[0]!r} is not a column name: use letters, digits, "
                              "'_', '.' or '-' (at most 64, starting with a letter)")
        if len(set(names)) != len(names):
            raise LayoutError(f"target and side-feature names must be distinct, got {names}")
        clash = [n for n in self.side_features if n in CORE_COLUMNS]
        if clash:
            raise LayoutError(f"side feature {clash[0]!r} clashes with a core column ({', '.join(CORE_COLUMNS)}): "
                              "rename it")

    @property
    def num_targets(self) -> int:
        """Number of float targets per row."""
        return len(self.targets)

    def to_json(self) -> dict:
        """The provenance record of the schema (`target` key)."""
        return {"kind": "regression", "targets": list(self.targets), "side_features": list(self.side_features),
                "description": self.description}

    @classmethod
    def from_json(cls, record: Mapping | None) -> "RegressionTarget | None":
        """The schema a provenance's `target` record describes, or None for a classification config."""
        if not record:
            return None
        return cls(tuple(record["targets"]), tuple(record.get("side_features") or ()), record.get("description", ""))


def label_feature(schema: "Sequence[str] | RegressionTarget"):
    """The `label` feature of a schema: a `ClassLabel`, a float32 `Value`, or a fixed-length float32 list."""
    import datasets  # lazy: see the note at the top

    if isinstance(schema, RegressionTarget):
        if schema.num_targets == 1:
            return datasets.Value("float32")
        return datasets.List(datasets.Value("float32"), length=schema.num_targets)
    return datasets.ClassLabel(names=list(schema))


def benchmark_features(class_names: "Sequence[str] | RegressionTarget") -> "datasets.Features":
    """The published schema, declared once.

    Args:
        class_names: the class names of a classification benchmark (`label` a `ClassLabel` carrying them),
            or a `RegressionTarget` (`label` float32 target(s), then one float32 column per side feature).
    """
    import datasets  # lazy: see the note at the top

    columns = {
        "id": datasets.Value("string"),
        "sequence": datasets.Value("string"),
        "label": label_feature(class_names),
        "region": datasets.Value("string"),
        "start": datasets.Value("int64"),
        "end": datasets.Value("int64"),
        "strand": datasets.Value("string"),
    }
    if isinstance(class_names, RegressionTarget):
        columns.update({name: datasets.Value("float32") for name in class_names.side_features})
    return datasets.Features(columns)


def side_feature_columns(features) -> list[str]:
    """The side-feature columns of a config's features: numeric columns after the core ones, in order."""
    out = []
    for name, feature in features.items():
        dtype = getattr(feature, "dtype", "")
        if name not in CORE_COLUMNS and (dtype.startswith("float") or dtype.startswith("int") or dtype == "bool"):
            out.append(name)
    return out


# ------------------------------------------------------------------------------------------------- paths


def shard_name(split: str, index: int = 0, total: int = 1) -> str:
    """`<split>-NNNNN-of-NNNNN.parquet`, the Hub's shard naming."""
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def split_pattern(config: str, split: str) -> str:
    """The `data_files` glob of one split, relative to the folder (what the card's YAML lists)."""
    return f"{config}/{split}-*.parquet"


def split_files(out_dir: str | os.PathLike, config: str, split: str) -> list[Path]:
    """The Parquet shards of one split of `config`, sorted."""
    return sorted(Path(out_dir).glob(split_pattern(config, split)))


def card_path(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / CARD_FILE


def provenance_path(out_dir: str | os.PathLike, config: str) -> Path:
    return Path(out_dir) / PROVENANCE_DIR / f"{config}.json"


def audit_path(out_dir: str | os.PathLike, config: str) -> Path:
    return Path(out_dir) / AUDIT_DIR / f"{config}.json"


def spec_path(out_dir: str | os.PathLike, config: str) -> Path:
    """The declarative spec of a user-made benchmark (`gbhub create`), from which `gbhub build --spec` rebuilds it."""
    return Path(out_dir) / SPECS_DIR / f"{config}.yaml"


def spec_inputs_dir(out_dir: str | os.PathLike, config: str) -> Path:
    """The folder holding the input files (BED) a spec names, next to the spec."""
    return Path(out_dir) / SPECS_DIR / config


def baselines_path(out_dir: str | os.PathLike, name: str) -> Path:
    """A file of the stored leaderboard (`baselines/<name>`), which the card's Baselines section reads."""
    return Path(out_dir) / BASELINES_DIR / name


def image_path(config: str, kind: str) -> str:
    """Path of one of a config's card images, relative to the folder (as the card links it)."""
    return f"{IMAGES_DIR}/{config}_{kind}.png"


def configs_in(out_dir: str | os.PathLike) -> list[str]:
    """Configs present in a Hub-layout folder (those with a provenance file and Parquet)."""
    out = Path(out_dir)
    return sorted(
        p.stem for p in (out / PROVENANCE_DIR).glob("*.json") if any((out / p.stem).glob("*.parquet"))
    )


# ---------------------------------------------------------------------------------------- atomic writes


def _new_file_mode() -> int:
    """The mode `open()` gives a new file under the current umask (0644 under the usual 022)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, mode: int | None = None) -> Iterator[Path]:
    """Yield a unique temporary path next to `path`; on success rename it onto `path`, else remove it.

    A reader (or an interrupted writer) sees the old file or the new one, never half of one. The file
    gets `mode`, by default the mode of any new file (like the Parquet next to it: 0644 under the
    usual umask), not `mkstemp`'s private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _new_file_mode() if mode is None else mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text (LF line ends) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, data, *, sort_keys: bool = True) -> Path:
    """Write JSON (indented, sorted keys by default: equal data give equal bytes) atomically."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=sort_keys, allow_nan=False) + "\n")


# ------------------------------------------------------------------------------------------- provenance


def read_provenance(out_dir: str | os.PathLike, config: str,
                    required: Sequence[str] = REQUIRED_PROVENANCE_KEYS) -> dict:
    """Read and check `provenance/<config>.json`.

    Raises:
        LayoutError: the file is missing, not a JSON object, or lacks a `required` key.
    """
    path = provenance_path(out_dir, config)
    try:
        prov = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(
            f"{path} not found: build the config first (`gbhub build {config} --out {out_dir}`)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LayoutError(f"cannot read provenance {path}: {err}; rebuild the config with `gbhub build`") from err
    if not isinstance(prov, dict):
        raise LayoutError(f"{path} must hold a JSON object, got {type(prov).__name__}; rebuild with `gbhub build`")
    missing = [k for k in required if k not in prov]
    if missing:
        raise LayoutError(f"{path} lacks {', '.join(missing)}; rebuild the config with `gbhub build {config}`")
    return prov


def record_hub_repo_id(out_dir: str | os.PathLike, repo_id: str) -> dict[Path, bytes]:
    """Record in every config's provenance the Hub dataset repository the folder is pushed to (`hub_repo_id`),
    so that a model trained on the local folder names that dataset in its card.

    Returns:
        `{path: previous bytes}` of the files changed (for `restore_files` when the push fails).
    """
    previous = {}
    for config in configs_in(out_dir):
        path = provenance_path(out_dir, config)
        prov = read_provenance(out_dir, config, required=())
        if prov.get("hub_repo_id") != repo_id:
            previous[path] = path.read_bytes()
            write_json_atomic(path, {**prov, "hub_repo_id": repo_id})
    return previous


def restore_files(previous: Mapping[Path, bytes]) -> None:
    """Put back files as `record_hub_repo_id` (or any caller) found them."""
    for path, data in previous.items():
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)


# ---------------------------------------------------------------------------------------------- Parquet


def parquet_writer(path: str | os.PathLike, features: "datasets.Features"):
    """A `pyarrow.parquet.ParquetWriter` with the settings `datasets.Dataset.to_parquet` uses.

    The schema (with the `huggingface` features metadata), snappy compression with dictionaries, the
    page index and `datasets`' content-defined chunking (`datasets.config.DEFAULT_CDC_OPTIONS`) are the
    same, so that `write_parquet` gives the bytes `to_parquet(path, batch_size=ROW_GROUP_ROWS)` would
    (a test holds them equal). Close it with `close_parquet`.
    """
    import pyarrow.parquet as pq
    from datasets import config as ds_config
    from datasets.arrow_writer import get_parquet_column_options

    schema = features.arrow_schema
    return pq.ParquetWriter(
        str(path), schema=schema, use_content_defined_chunking=ds_config.DEFAULT_CDC_OPTIONS,
        write_page_index=True, **get_parquet_column_options(features, schema),
    )


def close_parquet(writer) -> None:
    """Record the chunking settings in the footer (as `datasets` does) and close the writer."""
    from datasets import config as ds_config

    writer.add_key_value_metadata({"content_defined_chunking": json.dumps(ds_config.DEFAULT_CDC_OPTIONS)})
    writer.close()


def write_parquet(path: str | os.PathLike, features: "datasets.Features", tables: Iterable["pa.Table"],
                  *, progress=None) -> int:
    """Stream `tables` (in order) into one Parquet file of `ROW_GROUP_ROWS`-row groups; return the rows.

    Memory stays at one input table plus one row group, whatever the file size. Rows are cast to the
    schema of `features`. `progress`, when given, is called with the number of rows of each group.
    """
    import pyarrow as pa

    schema = features.arrow_schema
    writer = parquet_writer(path, features)
    rows = 0
    pending: list = []
    buffered = 0
    try:
        for table in tables:
            pending.append(table)
            buffered += table.num_rows
            while buffered >= ROW_GROUP_ROWS:
                joined = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
                writer.write_table(joined.slice(0, ROW_GROUP_ROWS).combine_chunks().cast(schema))
                rest = joined.slice(ROW_GROUP_ROWS)
                pending, buffered = ([rest] if rest.num_rows else []), rest.num_rows
                rows += ROW_GROUP_ROWS
                if progress:
                    progress(ROW_GROUP_ROWS)
        if buffered:  # the last, shorter group (an empty split gets none, as with `to_parquet`)
            joined = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            writer.write_table(joined.combine_chunks().cast(schema))
            rows += joined.num_rows
            if progress:
                progress(joined.num_rows)
    finally:
        close_parquet(writer)
    return rows


def table_slices(table: "pa.Table", size: int = ROW_GROUP_ROWS) -> Iterator["pa.Table"]:
    """Zero-copy slices of `size` rows of an Arrow table."""
    for offset in range(0, table.num_rows, size):
        yield table.slice(offset, size)


# --------------------------------------------------------------------------- writing a config: journal


def _journal_path(out: Path) -> Path:
    return out / JOURNAL_FILE


def read_journal(out_dir: str | os.PathLike) -> dict:
    """The folder's journal: `{"swap": {...} | None, "card_stale": [configs]}`, or `{}` when none.

    An unreadable journal (a crash while writing it cannot leave one: it is written atomically; a
    hand-edited one can) counts as a stale card of unknown configs.
    """
    path = _journal_path(Path(out_dir))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {"swap": None, "card_stale": ["?"]}
    return data if isinstance(data, dict) else {"swap": None, "card_stale": ["?"]}


def _write_journal(out: Path, data: dict) -> None:
    if not data.get("swap") and not data.get("card_stale"):
        with contextlib.suppress(FileNotFoundError):
            _journal_path(out).unlink()
        return
    try:
        write_json_atomic(_journal_path(out), data)
    except OSError as err:
        raise OutputWriteError(os_error_message(err, _journal_path(out))) from None


def _complete_swap(out: Path, swap: dict) -> None:
    """Carry an interrupted config swap to its end (each step is skipped when already done)."""
    config, staging, trash = out / swap["config"], out / swap["staging"], out / swap["trash"]
    if staging.is_dir():
        if config.exists():
            os.replace(config, trash)
        os.replace(staging, config)
    staged = config / STAGED_PROVENANCE
    if staged.exists():
        provenance = provenance_path(out, swap["config"])
        provenance.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, provenance)
    shutil.rmtree(trash, ignore_errors=True)


def _undo_swap(out: Path, swap: dict) -> None:
    """Put the previous config back after a swap failed half-way in this process (best effort)."""
    config, trash = out / swap["config"], out / swap["trash"]
    with contextlib.suppress(OSError):
        if trash.is_dir() and not config.exists():
            os.replace(trash, config)


def _sweep_folder(out: Path) -> None:
    """Remove what interrupted writers left (the caller holds the folder's lock)."""
    for path in sorted(out.glob(".*.staging-*")):
        if path.is_dir() and not owner_alive(path):
            shutil.rmtree(path, ignore_errors=True)
            logger.info("removed %s, left by an interrupted build", path)
    for path in sorted(out.glob(".*.old-*")):
        shutil.rmtree(path, ignore_errors=True)
    now = time.time()
    for folder, locked in ((out, True), (out / PROVENANCE_DIR, True), (out / IMAGES_DIR, True),
                           (out / AUDIT_DIR, False)):
        for path in sorted(folder.glob(".*.tmp")):
            with contextlib.suppress(OSError):  # other writers' temporary files only once surely dead
                if path.is_file() and (locked or now - path.stat().st_mtime > UNOWNED_GRACE_S):
                    path.unlink()


def recover(out_dir: str | os.PathLike, render: Callable[[Path], object] | None = None, *,
            force: bool = False) -> list[str]:
    """Complete what an interrupted writer of `out_dir` left: a config swap, orphaned temporary files.

    The caller holds the folder's lock (`folder_lock`). With `render`, a card left stale (or any card,
    with `force`) is rendered again and the journal cleared.

    Returns:
        The configs whose card is still stale (empty when the card is current).
    """
    out = Path(out_dir)
    journal = read_journal(out)
    try:
        if journal.get("swap"):
            _complete_swap(out, journal["swap"])
            journal["swap"] = None
            _write_journal(out, journal)
        _sweep_folder(out)
    except OSError as err:
        raise OutputWriteError(os_error_message(err, out)) from None
    stale = list(journal.get("card_stale") or [])
    if (stale or force) and render is not None:
        render(out)
        _write_journal(out, {"swap": None, "card_stale": []})
        stale = []
    return stale


def check_card(out_dir: str | os.PathLike) -> None:
    """Raise `LayoutError` saying how to fix it when the card of `out_dir` is stale or missing.

    Stale: a write was interrupted between the config swap and the card (the journal says so).
    Missing: configs are present but `README.md` is not.
    """
    out = Path(out_dir)
    journal = read_journal(out)
    stale = [c for c in journal.get("card_stale") or [] if c != "?"]
    if journal.get("swap") or journal.get("card_stale"):
        what = f" (interrupted while writing {', '.join(stale)})" if stale else ""
        raise LayoutError(f"the dataset card of {out} is out of date{what}: run `gbhub card {out}` to complete it")
    if not card_path(out).is_file() and configs_in(out):
        raise LayoutError(f"{out} has configs but no dataset card ({CARD_FILE}): run `gbhub card {out}`")


_card_renderers: dict[str, Callable[[Path], object]] = {}  # folders inside `card_transaction` in this process


@contextlib.contextmanager
def card_transaction(out_dir: str | os.PathLike, render: Callable[[Path], object], *,
                     command: str | None = None, always: bool = False) -> Iterator[Path]:
    """Write configs of `out_dir` as one transaction whose card `render(out_dir)` draws once at the end.

    Holds the folder's one-writer lock for the block, completes an interrupted earlier write first
    (`recover`), marks the card stale in the journal whenever a config is swapped in, and on leaving
    (normally or by an exception, once anything was swapped) renders the card and clears the mark. A
    process killed inside the block leaves the mark: the next transaction renders the card, and
    `check_card` tells readers to run `gbhub card DIR`.

    Args:
        out_dir: the Hub-layout folder.
        render: draws the card (the command layer's `write_dataset_card`; builders cannot import it).
        command: what the lock file says this process does.
        always: render even when nothing was swapped (`gbhub card`).
    """
    out = Path(out_dir)
    with folder_lock(out, command):
        recover(out)
        key = str(out.resolve())
        outer = key in _card_renderers
        _card_renderers.setdefault(key, render)
        try:
            yield out
        finally:
            if not outer:
                del _card_renderers[key]
                if always or read_journal(out).get("card_stale"):
                    render(out)
                    _write_journal(out, {"swap": None, "card_stale": []})


# ------------------------------------------------------------------------------------------ config swap


def publish_config(
    out_dir: str | os.PathLike,
    config: str,
    fill: Callable[[Path], None],
    provenance: dict,
    *,
    finalize: Callable[[Path], object] | None = None,
) -> Path:
    """Add or replace `config` in `out_dir`: `fill(staging)` writes its Parquet, then it is swapped in.

    Under the folder's one-writer lock: a hidden staging folder (`.<config>.staging-<unique>`, owned by
    this process) is filled, checked (one shard per split), given the provenance, named in the
    journal, and renamed into place; the previous config is removed after. An interruption leaves the
    previous config (before the journal) or a swap the next writer completes (after it); never a
    half-written config.

    The card: with `finalize` (e.g. the command layer's card renderer) it is drawn right after the swap;
    inside a `card_transaction` it is drawn when the transaction ends; otherwise the caller draws it.
    In the first two cases the journal marks it stale until drawn.

    Raises:
        FolderLockedError: another process writes `out_dir`.
        OutputWriteError: a file cannot be written (names the path: disk full, read-only...).
    """
    out = Path(out_dir)
    with folder_lock(out):
        recover(out)
        key = str(out.resolve())
        tracked = finalize is not None or key in _card_renderers
        try:
            with scratch_dir(out, f".{config}.staging-") as staging:
                fill(staging)
                _check_staged(staging, config)
                with atomic_path(staging / STAGED_PROVENANCE) as tmp:
                    tmp.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n", encoding="utf-8")
                claim(staging)
                swap = {"config": config, "staging": staging.name, "trash": f".{config}.old-{uuid.uuid4().hex[:8]}"}
                journal = read_journal(out)
                stale = sorted(set(journal.get("card_stale") or []) | ({config} if tracked else set()))
                _write_journal(out, {"swap": swap, "card_stale": stale})
                try:
                    _complete_swap(out, swap)
                except OSError:
                    _undo_swap(out, swap)
                    _write_journal(out, {"swap": None, "card_stale": journal.get("card_stale") or []})
                    raise
                _write_journal(out, {"swap": None, "card_stale": stale})
        except OSError as err:
            raise OutputWriteError(os_error_message(err, out / config)) from None
        if finalize is not None:
            finalize(out)
            if key not in _card_renderers:
                _write_journal(out, {"swap": None, "card_stale": []})
    return out / config


def _check_staged(staging: Path, config: str) -> None:
    names = sorted(p.name for p in staging.glob("[!.]*.parquet"))
    expected = sorted(shard_name(split) for split in SPLITS)
    if names != expected:
        raise LayoutError(f"{config}: staged {', '.join(names) or 'no Parquet'}, expected {', '.join(expected)}")
    for extra in staging.iterdir():  # scratch files of the writer (e.g. a split plan) stay behind
        if extra.name not in expected and extra.name != ".owner":
            if extra.is_dir():
                shutil.rmtree(extra)
            else:
                extra.unlink()


def write_config(
    out_dir: str | os.PathLike,
    config: str,
    dataset: "datasets.DatasetDict | Mapping[str, datasets.Dataset]",
    provenance: dict,
    *,
    finalize: Callable[[Path], object] | None = None,
) -> Path:
    """Add or replace `config` in the Hub-layout folder `out_dir` from in-memory splits, leaving other
    configs intact (see `publish_config` for the swap, the lock and the card).

    Args:
        out_dir: the folder.
        config: the config name.
        dataset: one `datasets.Dataset` per split of `SPLITS` (all with the same features).
        provenance: the `provenance/<config>.json` record.
        finalize: called with `out_dir` after the swap (the command layer renders the card).

    Returns:
        The config folder.
    """
    def fill(staging: Path) -> None:
        for split in SPLITS:
            part = dataset[split]
            data = part.with_format("arrow")[:] if part._indices is not None else part.data.table
            write_parquet(staging / shard_name(split), part.features, table_slices(data))

    return publish_config(out_dir, config, fill, provenance, finalize=finalize)


def write_hub_folder(
    out_dir: str | os.PathLike,
    config: str,
    splits: dict[str, dict[str, Sequence]],
    names: Sequence[str],
) -> Path:
    """Write in-memory splits as a Hub-layout config that `load_dataset(out_dir, config)` reads.

    For fixtures and ad-hoc data (e.g. a train/test split of a TSV of sequences): no provenance is
    written. Columns absent from a split get defaults (`id` = `<split>_<row>`, `region` = "",
    `start`/`end` = 0/len, `strand` = "+").

    Args:
        out_dir: the folder (created); `<out_dir>/<config>/<split>-00000-of-00001.parquet` is written and
            `<out_dir>/README.md` lists the config's data files in its YAML `configs:`.
        config: config name.
        splits: split name -> columns (`sequence` and `label` at least; labels as class ids, or float
            target(s) for a `RegressionTarget`, whose side features are columns named after them).
        names: class names of the `label` ClassLabel, or a `RegressionTarget`.
    """
    import datasets  # lazy: see the note at the top
    import yaml

    out = Path(out_dir)
    features = benchmark_features(names)
    regression = isinstance(names, RegressionTarget)
    data_files = []
    for split, cols in splits.items():
        seqs = list(cols["sequence"])
        n = len(seqs)
        labels = ([[float(v) for v in x] if names.num_targets > 1 else float(x) for x in cols["label"]]
                  if regression else [int(x) for x in cols["label"]])
        columns = {
            "id": list(cols.get("id", [f"{split}_{i}" for i in range(n)])),
            "sequence": seqs,
            "label": labels,
            "region": list(cols.get("region", [""] * n)),
            "start": list(cols.get("start", [0] * n)),
            "end": list(cols.get("end", [len(s) for s in seqs])),
            "strand": list(cols.get("strand", ["+"] * n)),
        }
        if regression:
            columns.update({name: [float(v) for v in cols[name]] for name in names.side_features})
        path = out / config / shard_name(split)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            datasets.Dataset.from_dict(columns, features=features).to_parquet(str(tmp))
        data_files.append({"split": split, "path": split_pattern(config, split)})
    readme = card_path(out)
    meta = {"configs": []}
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            meta = yaml.safe_load(text.split("---\n", 2)[1]) or meta
    meta["configs"] = [c for c in meta.get("configs", []) if c.get("config_name") != config]
    meta["configs"].append({"config_name": config, "data_files": data_files})
    write_text_atomic(readme, f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n")
    return out
