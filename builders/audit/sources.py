"""Reading any dataset of labelled sequences for the audit: a Hub-layout folder, a file, or a Hub dataset id."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gbhub.builders.audit.common import FRAME_COLUMNS, AuditError, AuditInput, from_plan, load_config
from gbhub.builders.hub_layout import DEFAULT_SEED, SPLITS, card_path, provenance_path, split_files

SEQUENCE_SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".fa": "fasta",
                     ".fasta": "fasta", ".fna": "fasta", ".fas": "fasta"}
# split names other tools use, mapped to the audit's three
SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
                 "val": "validation", "dev": "validation", "test": "test", "testing": "test", "eval": "test"}
HOLDOUT = 0.3
# the fix named by every error about a row's coordinates
COORDINATE_FIX = ("start must be a whole number >= 0 and end > start, or drop the region/start/end columns to audit "
                  "sequences only")


def file_format(path: str | os.PathLike) -> str | None:
    """`parquet`, `csv`, `tsv` or `fasta` from a file name (`.gz` allowed), or None."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return SEQUENCE_SUFFIXES.get(suffixes[-1]) if suffixes else None


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "dataset"


# ---------------------------------------------------------------------------------------------- tables


def _read_fasta(path: Path) -> pd.DataFrame:
    """`id`, `sequence` and the `key=value` fields of each header (`>ID label=CLASS split=SPLIT`)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    records, header, chunks = [], None, []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            if line.startswith(">"):
                if header is not None:
                    records.append((header, "".join(chunks)))
                header, chunks = line[1:], []
            elif header is None:
                raise AuditError(f"{path}: sequence data before the first '>' header; is it a FASTA file?")
            else:
                chunks.append(line)
    if header is not None:
        records.append((header, "".join(chunks)))
    if not records:
        raise AuditError(f"{path}: no FASTA record found")
    rows = []
    for head, seq in records:
        fields = head.split()
        row = {"id": fields[0] if fields else "", "sequence": seq}
        row.update(dict(f.split("=", 1) for f in fields[1:] if "=" in f))
        rows.append(row)
    return pd.DataFrame(rows)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """The rows of one file of sequences (Parquet, CSV, TSV or FASTA, optionally gzipped) as a DataFrame."""
    path = Path(path)
    kind = file_format(path)
    if not path.is_file():
        raise AuditError(f"{path} not found")
    if kind == "parquet":
        return pq.read_table(path).to_pandas()
    if kind in ("csv", "tsv"):
        return pd.read_csv(path, sep="," if kind == "csv" else "\t", dtype=str, keep_default_na=False)
    if kind == "fasta":
        return _read_fasta(path)
    raise AuditError(f"{path}: unknown file type; give a .parquet, .csv, .tsv or .fa/.fasta file (optionally .gz)")


def _labels(values: pd.Series, where: str, names: list[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer labels and class names: the given names (a ClassLabel's), else the sorted distinct values
    (numerically when every value is an integer)."""
    if names is not None:
        return values.to_numpy(np.int64), tuple(names)
    text = values.astype(str).str.strip()
    if (text == "").any():
        raise AuditError(f"{where}: {int((text == '').sum())} rows have an empty label; label every row")
    distinct = sorted(set(text))
    if all(re.fullmatch(r"-?\d+", v) for v in distinct):
        distinct = sorted(distinct, key=int)
    else:
        try:
            [float(v) for v in distinct]
            if len(distinct) > 20:
                raise AuditError(f"{where}: the label looks continuous ({len(distinct)} distinct numbers); the audit "
                                 "needs classes: bin the label (e.g. at its median) into a column of class names")
        except ValueError:
            pass
    index = {v: i for i, v in enumerate(distinct)}
    return text.map(index).to_numpy(np.int64), tuple(distinct)


def _check_class_ids(labels: np.ndarray, classes: tuple[str, ...], splits: pd.Series | None, where: str,
                     label_column: str) -> None:
    """Refuse ClassLabel ids outside the class names: -1 is how `datasets` marks an unlabelled row."""
    bad = (labels < 0) | (labels >= len(classes))
    if not bad.any():
        return
    value = int(labels[np.argmax(bad)])
    rows = labels == value
    if value != -1:
        raise AuditError(f"{where}: {int(rows.sum()):,} rows have label {value}, but the {label_column!r} ClassLabel "
                         f"has {len(classes)} classes ({', '.join(classes)}); fix the labels or the class names")
    if splits is not None:
        named = splits[rows].astype(str).str.strip().str.lower().map(lambda s: SPLIT_ALIASES.get(s, s))
        counts = named.value_counts()
        order = sorted(counts.index, key=lambda s: (list(SPLITS).index(s) if s in SPLITS else len(SPLITS), s))
        who = " and ".join(f"{int(counts[s]):,} rows of split {s}" for s in order)
    else:
        who = f"{int(rows.sum()):,} rows"
    raise AuditError(f"{where}: {who} have label -1 (unlabelled): drop them, e.g. "
                     f"ds.filter(lambda r: r[{label_column!r}] >= 0)")


def holdout_splits(labels: np.ndarray, fraction: float = HOLDOUT, seed: int = DEFAULT_SEED) -> np.ndarray:
    """`(n,)` `train`/`test`: a stratified, seeded `fraction` of each class held out as test."""
    rng = np.random.default_rng(seed)
    split = np.full(len(labels), "train", dtype=object)
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        split[rows[rng.permutation(len(rows))[: int(round(fraction * len(rows)))]]] = "test"
    return split


def from_frame(name: str, table: pd.DataFrame, *, where: str, sequence_column: str = "sequence",
               label_column: str = "label", split_column: str = "split", class_names: list[str] | None = None,
               holdout: float = HOLDOUT, seed: int = DEFAULT_SEED, source: str | None = None) -> AuditInput:
    """An `AuditInput` over a table of labelled sequences (optional columns `id`, `split`, `region`, `start`,
    `end`, `strand`; without a split column, a stratified seeded `holdout` of each class becomes test)."""
    for column in (sequence_column, label_column):
        if column not in table.columns:
            raise AuditError(f"{where} has no {column!r} column (columns: {', '.join(map(str, table.columns))}); "
                             f"name the right ones with --sequence-column / --label-column")
    if not len(table):
        raise AuditError(f"{where} holds no rows")
    labels, classes = _labels(table[label_column], where, class_names)
    if class_names is not None:
        _check_class_ids(labels, classes, table[split_column] if split_column in table.columns else None, where,
                         label_column)
    if len(classes) < 2:
        raise AuditError(f"{where}: every row has the label {classes[0]!r}; the audit compares at least two classes")
    note = None
    if split_column in table.columns:
        raw = table[split_column].astype(str).str.strip().str.lower()
        unknown = sorted(set(raw) - set(SPLIT_ALIASES))
        if unknown:
            raise AuditError(f"{where}: unknown split name(s) {unknown} in column {split_column!r}; use train, "
                             "validation and test")
        split = raw.map(SPLIT_ALIASES).to_numpy(object)
    else:
        split = holdout_splits(labels, holdout, seed)
        note = (f"no {split_column!r} column: a stratified {holdout:.0%} of each class (seed {seed}) was held out as "
                "test by the audit, the rest is train")
    sequences = table[sequence_column].astype(str).str.upper().to_numpy(object)
    n = len(table)
    sizes = np.array([len(s) for s in sequences], dtype=np.int64)
    region, start, end = _coordinates(table, sizes, where)
    frame = pd.DataFrame({
        "split": split,
        "label": labels,
        "id": table["id"].astype(str).to_numpy(object) if "id" in table.columns else [f"{name}_{i}" for i in range(n)],
        "region": region,
        "start": start,
        "end": end,
        "strand": table["strand"].fillna("").astype(str).to_numpy(object) if "strand" in table.columns else "",
    })
    order = np.argsort(pd.Categorical(frame["split"], categories=list(SPLITS)).codes, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    seq = pa.array(sequences[order].tolist(), pa.large_string())
    single = {i: "unknown" for i in range(len(classes))}
    return AuditInput(name, classes, frame[FRAME_COLUMNS], seq, single, {i: "genome" for i in range(len(classes))},
                      source=source or where, split_note=note)


def _cells(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(values, given, text)` of a `start`/`end` column: float64 values (NaN where empty or not a number),
    whether each cell holds anything, and each cell as written (for messages). An absent column is all empty."""
    n = len(table)
    if column not in table.columns:
        return np.full(n, np.nan), np.zeros(n, bool), np.full(n, "", object)
    raw = table[column]
    given = raw.notna().to_numpy(bool).copy()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        text = raw.astype(object).where(raw.notna(), "").astype(str).str.strip()
        given &= (text != "").to_numpy(bool)
        values = pd.to_numeric(text.where(text != "", np.nan), errors="coerce").to_numpy(np.float64)
    else:
        text = raw.astype(str)
        values = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy(np.float64, na_value=np.nan)
    return values, given, text.to_numpy(object)


def _coordinates(table: pd.DataFrame, sizes: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(region, start, end)` of every row, checked.

    A row either names a locus (region, whole-number start >= 0 and end > start) or none: all three cells empty
    (as `gbhub locate` writes the sequences it could not place), or the placeholder of a folder without
    coordinates (empty region, start 0, end = the sequence's length). Rows without a locus get start 0 and end
    = length and are left out of the coordinate checks.

    Raises:
        AuditError: the first row with some but not all of region/start/end, or a start/end that is not a
            position (naming the row, its id when the table has one, and the column).
    """
    n = len(table)
    if not any(c in table.columns for c in ("region", "start", "end")):
        return np.full(n, "", dtype=object), np.zeros(n, np.int64), sizes
    region = (table["region"].astype(object).where(table["region"].notna(), "").astype(str).str.strip()
              .to_numpy(object) if "region" in table.columns else np.full(n, "", dtype=object))
    start, start_given, start_text = _cells(table, "start")
    end, end_given, end_text = _cells(table, "end")
    named = region != ""
    nothing = ~named & ~start_given & ~end_given
    placeholder = ~named & (start == 0) & (end == sizes)
    full = named & start_given & end_given
    problems = []  # (row mask, message of a row), the first row any mask holds is reported

    def partial(i: int) -> str:
        cells = (("region", named[i]), ("start", start_given[i]), ("end", end_given[i]))
        return (f"{' and '.join(c for c, g in cells if g)} given but {' and '.join(c for c, g in cells if not g)} "
                "empty (a row without a locus leaves all three empty)")

    problems.append((~(nothing | placeholder | full), partial))
    for column, values, text in (("start", start, start_text), ("end", end, end_text)):
        problems.append((full & ~np.isfinite(values), lambda i, c=column, t=text: f"{c} {t[i]!r} is not a number"))
        problems.append((full & np.isfinite(values) & (values != np.floor(values)),
                         lambda i, c=column, t=text: f"{c} {t[i]!r} is not a whole number"))
    problems.append((full & (start < 0), lambda i: f"start {start_text[i]!r} is negative"))
    problems.append((full & ~(end > start) & np.isfinite(start) & np.isfinite(end),
                     lambda i: f"end {end_text[i]!r} is not after start {start_text[i]!r}"))
    first = min((int(np.argmax(mask)) for mask, _ in problems if mask.any()), default=None)
    if first is not None:
        message = next(say(first) for mask, say in problems if mask[first])
        row = f"row {first + 1}" + (f" (id {table['id'].iloc[first]!r})" if "id" in table.columns else "")
        raise AuditError(f"{where}: {row}: {message}; {COORDINATE_FIX}")
    region = np.where(full, region, "").astype(object)
    return (region, np.where(full, start, 0).astype(np.int64),
            np.where(full, end, sizes).astype(np.int64))


# ------------------------------------------------------------------------------------------------ sources


def load_files(paths: list[str | os.PathLike], *, name: str | None = None, **options) -> AuditInput:
    """One dataset from files: one table with a label column, or several FASTA files, one class per file (named
    by the file, as gb-qc reads them), or several tables pooled."""
    paths = [Path(p) for p in paths]
    kinds = {file_format(p) for p in paths}
    name = name or _name(paths[0].name.split(".")[0] if len(paths) == 1 else "_".join(p.name.split(".")[0] for p in paths))
    tables = [read_table(p) for p in paths]
    label_column = options.get("label_column", "label")
    if kinds == {"fasta"} and any(label_column not in t.columns for t in tables):
        if len(paths) == 1:
            raise AuditError(f"{paths[0]}: FASTA headers carry no {label_column}=CLASS; write headers as "
                             f"`>ID {label_column}=CLASS [split=SPLIT]`, or give one FASTA file per class")
        tables = [t.assign(**{label_column: p.name.split(".")[0]}) for p, t in zip(paths, tables)]
    where = ", ".join(str(p) for p in paths)
    return from_frame(name, pd.concat(tables, ignore_index=True), where=where, source=f"file(s) {where}", **options)


def folder_configs(folder: str | os.PathLike) -> list[str]:
    """The configs of a Hub-layout folder: those its card lists, else every sub-folder holding Parquet."""
    import yaml

    folder = Path(folder)
    card = card_path(folder)
    if card.is_file():
        text = card.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            meta = yaml.safe_load(text.split("---\n", 2)[1]) or {}
            names = [c.get("config_name") for c in meta.get("configs") or [] if c.get("config_name")]
            if names:
                return sorted(names)
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and any(p.glob("*.parquet")))


def load_folder(folder: str | os.PathLike, config: str | None = None, **options) -> AuditInput:
    """One config of a Hub-layout folder: through its provenance when it has one, else from its Parquet alone
    (class names from the `label` ClassLabel the Parquet schema records)."""
    import datasets

    folder = Path(folder)
    configs = folder_configs(folder)
    if config is None:
        if len(configs) != 1:
            raise AuditError(f"{folder} holds {len(configs)} configs ({', '.join(configs) or 'none'}); name one with --config")
        config = configs[0]
    if not any(split_files(folder, config, s) for s in SPLITS):
        raise AuditError(f"{folder} has no Parquet for config {config!r} (configs: {', '.join(configs) or 'none'})")
    if provenance_path(folder, config).is_file():
        return load_config(folder, config)
    tables = []
    names = None
    label_column = options.get("label_column", "label")
    for split in SPLITS:
        for path in split_files(folder, config, split):
            table = pq.read_table(path)
            feature = datasets.Features.from_arrow_schema(table.schema).get(label_column)
            if isinstance(feature, datasets.ClassLabel):
                names = feature.names
            tables.append(table.to_pandas().assign(split=split))
    frame = pd.concat(tables, ignore_index=True)
    options = {k: v for k, v in options.items() if k != "split_column"}  # the folder's splits are its files
    return from_frame(config, frame, where=f"{folder}/{config}", class_names=names,
                      source=f"config {config} of {folder} (no provenance: Parquet only)", **options)


def load_tables(name: str, *, coordinates_dir=None, cache_dir=None, seed: int = DEFAULT_SEED,
                progress: bool = True) -> AuditInput:
    """The rows of a registered upstream benchmark from its coordinate tables alone (no reference, no sequences):
    split as `gbhub build` splits them, for the interval audits (overlaps, contigs, length and genomic-position
    probes)."""
    from gbhub.builders.coordinates import fetch_table, read_table
    from gbhub.builders.hub_layout import VALIDATION_FRACTION
    from gbhub.builders.plan import upstream_plan
    from gbhub.builders.registry import get_benchmark

    spec = get_benchmark(name)
    if not spec.upstream:
        raise AuditError(f"{name} has no upstream coordinate tables; audit it with its sequences (drop --intervals-only)")
    tables, names = {}, {}
    for split in ("train", "test"):
        tables[split], names[split] = {}, {}
        for label, cls in enumerate(spec.classes):
            path, _ = fetch_table(name, split, cls, coordinates_dir=coordinates_dir, cache_dir=cache_dir,
                                  progress=progress)
            names[split][label] = f"{name}/{split}/{cls}.csv.gz"
            tables[split][label] = read_table(path, name=names[split][label])
    plan = upstream_plan(tables, names, {i: "" for i in range(len(spec.classes))}, seed=seed,
                         fraction=VALIDATION_FRACTION)
    inp = from_plan(name, plan, spec.classes, dict(spec.class_references))
    inp.source = f"the coordinate tables of {name} (intervals only, no reference)"
    return inp


def load_hub(repo_id: str, config: str | None = None, *, revision: str | None = None, **options) -> AuditInput:
    """One config of a dataset loadable by `datasets.load_dataset` (a Hub id `ORG/NAME`, or a local folder)."""
    import datasets

    try:
        loaded = datasets.load_dataset(repo_id, config, revision=revision)
    except Exception as err:  # datasets raises many kinds: say what was tried
        raise AuditError(f"cannot load {repo_id!r}{f' config {config!r}' if config else ''} with "
                         f"datasets.load_dataset: {err}") from err
    label_column = options.get("label_column", "label")
    frames, names = [], None
    for split_name, ds in loaded.items():
        split = SPLIT_ALIASES.get(split_name.lower())
        if split is None:
            raise AuditError(f"{repo_id}: unknown split {split_name!r}; the audit reads train, validation and test")
        feature = ds.features.get(label_column)
        if isinstance(feature, datasets.ClassLabel):
            names = feature.names
        frames.append(ds.to_pandas().assign(split=split))
    name = _name(config or repo_id.rstrip("/").split("/")[-1])
    options = {k: v for k, v in options.items() if k != "split_column"}  # the dataset's splits are its splits
    return from_frame(name, pd.concat(frames, ignore_index=True), where=repo_id, class_names=names,
                      source=f"{repo_id}{f' (config {config})' if config else ''} via datasets.load_dataset", **options)
