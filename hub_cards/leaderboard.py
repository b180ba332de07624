"""The leaderboard: run folders and model cards grouped by config and split protocol, beside the published figures.

Sources (`read_sources`): a run folder of `gbhub train` (its `metrics.json`: every seed's metrics), a folder
holding run folders, a model card (`README.md` with a `model-index`, ours or anyone's), or a Hub model id
(its `metrics.json` when it is one of ours, else its card's `model-index`, through `huggingface_hub`). Run
folders are read as files: this module does not import `gbhub.training`.

Grouping (`build_board`): one row per (benchmark config, split protocol, model, training protocol, settings,
data fingerprint). Rows that differ in any of these are never averaged together; within a row the seeds of
every run are pooled (a seed met twice is counted once) and each metric is reported as mean ± sample
standard deviation with the number of seeds. A model card gives one value per metric (one model, no seeds).

Split protocol: `upstream` (the published split), `leakfree` or `chromsplit` (the audit's variants), read
from the config's provenance (`variant.kind`, `parent`) when the dataset folder is at hand, else from the
config name's suffix. Published figures (`data/published_accuracy.csv`, with the protocol each source states)
are shown on the upstream split only. Leak figures come from the audit report of each config
(`audit_leak_figures`, the one reader of that report here).
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import SPLITS, audit_path, baselines_path, configs_in, read_provenance
from gbhub.hub_cards.model_card import CARD_METRICS, HUB_METRIC_IDS

SCHEMA_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"
PUBLISHED_CSV = DATA_DIR / "published_accuracy.csv"
#: Split protocols, in display order, and the config-name suffix of each variant.
SPLIT_PROTOCOLS = ("upstream", "leakfree", "chromsplit")
VARIANT_SUFFIXES = {"leakfree": "_leakfree", "chromsplit": "_chromsplit"}
#: Metrics bounded in [0, 1] (shown in percent; a card value above 1 is read as a percentage).
PERCENT_METRICS = ("accuracy", "f1", "mcc", "auroc", "auprc")
#: A leak figure is flagged from this fraction of the test split on.
LEAK_FLAG_MIN_FRACTION = 0.01
#: Run settings that do not change what a run computes (left out when comparing runs).
NOT_SETTINGS = frozenset({"seeds", "eval_batch_size", "cpu", "torch_threads", "num_workers", "keep_checkpoints",
                          "args_json", "no_progress", "resume", "out", "card_dataset_id"})
# Leaderboard files (in `--out`, and in a dataset folder's `baselines/`).
MARKDOWN_FILE, JSON_FILE, PLOT_FILE = "leaderboard.md", "leaderboard.json", "leaderboard.png"
_HEADLINE = "test_vs_train_validation"
_SEED_DIR = re.compile(r"seed-\d+$")


class LeaderboardError(GBHubError, ValueError):
    """A source cannot be read as a run or a model card, or a leaderboard file is unusable; says how to fix it."""


# ------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Result:
    """One model's results on one config, as read from one source.

    Attributes:
        source: the run folder, card path or Hub id it was read from.
        kind: `run` (our `metrics.json`: one value per seed) or `card` (a `model-index`: one model).
        config: the benchmark config it was evaluated on (a variant's own name, e.g. `x_leakfree`).
        model: the recipe (`cnn`) or the card's model name.
        protocol: the training protocol (`paper`, `extended`, ...); "" when the source does not say.
        settings: the run's arguments that change its result (JSON values), for grouping; {} for cards.
        fingerprint: sha256 of the data the run was trained and scored on, when recorded.
        dataset: where the data was (a local folder or a Hub id), when recorded.
        seeds: one label per seed (`"1"`, ...); `("card",)` for a card.
        values: `{split: {metric: (value per seed, ...)}}`, fractions for `PERCENT_METRICS`, None when undefined.
    """

    source: str
    kind: str
    config: str
    model: str
    protocol: str
    settings: Mapping[str, Any]
    fingerprint: str | None
    dataset: str | None
    seeds: tuple[str, ...]
    values: Mapping[str, Mapping[str, tuple[float | None, ...]]]


def read_run(path: str | Path) -> Result:
    """A run folder of `gbhub train` (or its `metrics.json`) as a `Result` with every seed's metrics.

    Raises:
        LeaderboardError: no readable `metrics.json`, or one that lacks the fields a run writes.
    """
    path = Path(path)
    file = path / "metrics.json" if path.is_dir() else path
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LeaderboardError(f"{file} not found: pass a run folder of `gbhub train`, a model card or a Hub "
                               "model id") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LeaderboardError(f"cannot read {file} as JSON ({err}); re-run the training or leave it out") from err
    missing = [k for k in ("recipe", "config", "metrics") if k not in record]
    if not isinstance(record, dict) or missing:
        raise LeaderboardError(f"{file} is not the metrics.json of a `gbhub train` run (it lacks "
                               f"{', '.join(missing) or 'its fields'}); pass run folders, cards or Hub ids")
    per_seed = record.get("per_seed") or {str(record.get("seed", record.get("selected_seed", "?"))): record["metrics"]}
    seeds = tuple(sorted(per_seed, key=_seed_order))
    splits = sorted({s for m in per_seed.values() for s in m}, key=_split_order)
    values = {}
    for split in splits:
        metrics = _ordered_metrics({k for m in per_seed.values() for k in m.get(split, {})})
        values[split] = {k: tuple(_number(per_seed[s].get(split, {}).get(k)) for s in seeds) for k in metrics}
    hp = dict(record.get("hyperparameters") or {})
    settings = {k: v for k, v in {**hp, **(record.get("model_arguments") or {}), **_data_settings(record)}.items()
                if k not in NOT_SETTINGS}
    return Result(source=str(file.parent), kind="run", config=str(record["config"]), model=str(record["recipe"]),
                  protocol=str(hp.get("protocol") or ""), settings=settings,
                  fingerprint=record.get("dataset_fingerprint"), dataset=record.get("dataset"),
                  seeds=seeds, values=values)


def _data_settings(record: Mapping[str, Any]) -> dict:
    """The data arguments of a run that change its result, as `metrics.json` records them at its top level:
    `max_train_samples`, and `side_features` (the columns the model read; a record without it predates side
    features and read none)."""
    return {"max_train_samples": record.get("max_train_samples"),
            "side_features": list(record.get("side_features") or [])}


def read_card(path_or_id: str | Path, *, source: str | None = None, loader: Callable | None = None) -> list[Result]:
    """The `model-index` results of a model card (a `README.md` path, or a Hub model id), one `Result` per config.

    Test-split results are kept (a result without a split counts as test). Metric ids are mapped back to
    ours (`matthews_correlation` -> `mcc`, ...); a bounded metric above 1 is read as a percentage.

    Args:
        path_or_id: a card file, or a Hub model id (`ModelCard.load` downloads its README).
        source: the name the results are listed under (default: `path_or_id`).
        loader: `ModelCard.load` or a stand-in (tests).

    Raises:
        LeaderboardError: the card cannot be read, or has no `model-index` test results.
    """
    from huggingface_hub import ModelCard
    from huggingface_hub.utils import HfHubHTTPError

    load = loader or ModelCard.load
    source = source or str(path_or_id)
    try:
        card = load(str(path_or_id))
    except (OSError, ValueError, HfHubHTTPError) as err:
        raise LeaderboardError(f"cannot read the model card of {source}: {_first_line(err)}; pass a README.md with "
                               "a model-index, or a Hub model id (needs the network)") from err
    data = card.data
    results = [r for r in (data.eval_results or []) if (r.dataset_split or "test") == "test"]
    if not results:
        raise LeaderboardError(f"the model card of {source} has no model-index test results; nothing to compare "
                               "(a card lists them under `model-index: results:` in its YAML)")
    ours = {hub: key for key, hub in HUB_METRIC_IDS.items()}
    by_config: dict[str, dict[str, float | None]] = {}
    for r in results:
        config = r.dataset_config or r.dataset_name or r.dataset_type
        key = ours.get(r.metric_type, r.metric_type)
        value = _number(r.metric_value)
        if value is not None and key in PERCENT_METRICS and abs(value) > 1:
            value /= 100.0  # a card written in percent
        by_config.setdefault(str(config), {})[key] = value
    model = data.model_name or getattr(data, "model_index_name", None) or _name_of(source)
    return [Result(source=source, kind="card", config=config, model=str(model), protocol="", settings={},
                   fingerprint=None, dataset=_card_dataset(results, config), seeds=("card",),
                   values={"test": {k: (metrics[k],) for k in _ordered_metrics(metrics)}})
            for config, metrics in sorted(by_config.items())]


def read_sources(sources: Sequence[str], *, hub_download: Callable | None = None,
                 card_loader: Callable | None = None) -> list[Result]:
    """Every result of `sources`: run folders, folders of runs, card files, Hub model ids (in that order of checks).

    Args:
        sources: paths or Hub ids, as given on the command line.
        hub_download: `huggingface_hub.hf_hub_download` or a stand-in (tests).
        card_loader: `ModelCard.load` or a stand-in (tests).

    Raises:
        LeaderboardError: a source that is none of these, naming it.
    """
    results: list[Result] = []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            runs = run_folders(path)
            if runs:
                results += [read_run(run) for run in runs]
            elif (path / "README.md").is_file():
                results += read_card(path / "README.md", source=str(path), loader=card_loader)
            else:
                raise LeaderboardError(f"{source} holds no run folder (metrics.json) and no model card (README.md); "
                                       "pass the --out folder of `gbhub train` or `gbhub baselines`")
        elif path.is_file():
            results += [read_run(path)] if path.suffix == ".json" else read_card(path, loader=card_loader)
        elif _is_hub_id(source):
            results += _read_hub_model(source, hub_download, card_loader)
        else:
            raise LeaderboardError(f"{source} is neither a folder, a file nor a Hub model id (ORG/NAME); pass a run "
                                   "folder of `gbhub train`, a model card or a Hub model id")
    return results


def run_folders(root: str | Path) -> list[Path]:
    """Run folders under `root` (those holding a `metrics.json`), sorted; a multi-seed run's `seed-<n>/` and
    `checkpoint-*` folders are part of their run, not runs of their own."""
    root = Path(root)
    found = []
    for file in sorted(root.rglob("metrics.json")):
        folder = file.parent
        rel = folder.relative_to(root).parts
        if any(p.startswith("checkpoint-") or p.startswith(".") for p in rel):
            continue
        if _SEED_DIR.match(folder.name) and (folder.parent / "metrics.json").is_file():
            continue
        found.append(folder)
    return found


def _read_hub_model(repo_id: str, hub_download: Callable | None, card_loader: Callable | None) -> list[Result]:
    """A Hub model: its `metrics.json` when it is a `gbhub` run (every seed), else its card's `model-index`."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RemoteEntryNotFoundError

    download = hub_download or hf_hub_download
    try:
        file = download(repo_id, "metrics.json")
    except (EntryNotFoundError, RemoteEntryNotFoundError):
        file = None
    except Exception as err:  # noqa: BLE001 - offline, no such repo, no rights: one line with the fix
        raise LeaderboardError(f"cannot read Hub model {repo_id}: {_first_line(err)}; check the id and the network "
                               "(or download the repository and pass its folder)") from err
    if file is not None:
        result = read_run(file)
        return [Result(**{**result.__dict__, "source": repo_id})]
    return read_card(repo_id, source=repo_id, loader=card_loader)


# ------------------------------------------------------------------------------------------------ helpers


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _seed_order(seed: str):
    return (0, int(seed), "") if str(seed).isdigit() else (1, 0, str(seed))


def _split_order(split: str):
    return (SPLITS.index(split), split) if split in SPLITS else (len(SPLITS), split)


def _ordered_metrics(keys: Iterable[str]) -> list[str]:
    keys = set(keys) - {"loss"}
    known = [k for k in CARD_METRICS if k in keys]
    return known + sorted(keys - set(known))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _is_hub_id(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", text))


def _name_of(source: str) -> str:
    path = Path(source)
    return path.parent.name if path.name == "README.md" else path.name


def _card_dataset(results, config: str) -> str | None:
    for r in results:
        if (r.dataset_config or r.dataset_name or r.dataset_type) == config and r.dataset_type:
            return str(r.dataset_type)
    return None


def split_protocol(config: str, provenance: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """`(base config, split protocol)` of a config: from its provenance (`variant.kind`, `parent`) when given,
    else from its name's suffix (`x_leakfree` -> `("x", "leakfree")`)."""
    if provenance and provenance.get("parent"):
        kind = (provenance.get("variant") or {}).get("kind")
        if kind in VARIANT_SUFFIXES:
            return str(provenance["parent"]), kind
    for kind, suffix in VARIANT_SUFFIXES.items():
        if config.endswith(suffix) and len(config) > len(suffix):
            return config[: -len(suffix)], kind
    return config, "upstream"


def split_label(split: str, provenance: Mapping[str, Any] | None = None) -> str:
    """The split protocol as tables name it: a config's own split is `upstream` only when its provenance says
    it was built from upstream's tables, or when there is no provenance to ask (the name is all there is);
    a config made otherwise (`synthetic`, a re-split of published sequences) is on its `own split`."""
    if split == "upstream" and provenance is not None and not provenance.get("upstream"):
        return "own split"
    return split


# ------------------------------------------------------------------------------------------------ audit


def audit_leak_figures(report: Mapping[str, Any] | None) -> dict[str, Any]:
    """The leak figures of one audit report (`audit/<config>.json`), tolerating every missing key.

    The one place that reads the report here, so a schema extension touches one function. Keys read, all
    of the `test_vs_train_validation` pair (test rows counted): `overlap.pairs.*.overlapping`,
    `overlapping_fraction`, `rows`; `duplicates.across_splits.*.exact`, `exact_fraction`, `rc`, `rc_fraction`;
    `near_duplicates.pairs.*.near_duplicates`, `near_duplicate_fraction`; the shortcut probes named in
    `SHORTCUT_NAMES` (`auroc`, `flag`), from `shortcuts.features.<name>` (schema 1) or, when applicable,
    `shortcuts.probes.<name>` (schema 2); plus `schema_version`.

    Returns:
        `{"test_rows", "overlap", "exact", "rc", "near"}` as `{"count", "fraction"}` (or None when absent),
        `"shortcuts": {name: {"auroc", "flag"}}` and `"schema_version"`.
    """
    report = report if isinstance(report, Mapping) else {}

    def dig(*keys):
        node: Any = report
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node

    def figure(section: tuple, count: str, fraction: str):
        count_v, fraction_v = dig(*section, count), _number(dig(*section, fraction))
        if count_v is None and fraction_v is None:
            return None
        return {"count": int(count_v) if isinstance(count_v, (int, float)) else None, "fraction": fraction_v}

    rows = dig("overlap", "pairs", _HEADLINE, "rows")
    if rows is None:
        rows = dig("duplicates", "across_splits", _HEADLINE, "rows")
    shortcuts = {}
    for name in SHORTCUT_NAMES:
        entry = dig("shortcuts", "features", name)  # schema 1
        if not isinstance(entry, Mapping):
            entry = dig("shortcuts", "probes", name)  # schema 2: a probe the data allowed (`applicable`)
            if not isinstance(entry, Mapping) or entry.get("applicable") is False:
                continue
        shortcuts[name] = {"auroc": _number(entry.get("auroc")), "flag": entry.get("flag")}
    return {
        "schema_version": report.get("schema_version"),
        "test_rows": int(rows) if isinstance(rows, (int, float)) else None,
        "overlap": figure(("overlap", "pairs", _HEADLINE), "overlapping", "overlapping_fraction"),
        "exact": figure(("duplicates", "across_splits", _HEADLINE), "exact", "exact_fraction"),
        "rc": figure(("duplicates", "across_splits", _HEADLINE), "rc", "rc_fraction"),
        "near": figure(("near_duplicates", "pairs", _HEADLINE), "near_duplicates", "near_duplicate_fraction"),
        "shortcuts": shortcuts,
    }


#: The shortcut probes the board reads, in display order. Flagged ones (`fail`/`warn`) are shown except k-mer
#: composition, which may be the genuine biology a model should learn (schema 2 has more probes: base and
#: dinucleotide shares, k-mer spectrum and per-position windows, left out for the same reason).
SHORTCUT_NAMES = {"length": "length alone", "exact_length": "exact length", "gc": "GC content alone",
                  "genomic_bin": "genomic position", "contig": "contig alone", "strand": "strand alone",
                  "letters": "non-ACGT letters", "n_content": "N content", "kmer3": "3-mer composition"}
NOT_FLAGGED_SHORTCUTS = frozenset({"kmer3"})


def leak_flags(figures: Mapping[str, Any]) -> list[str]:
    """Short warnings from `audit_leak_figures`: e.g. "test overlaps train by 49.2%"."""
    flags = []
    texts = (("overlap", "test overlaps train by {:.1%}"),
             ("exact", "{:.1%} of test identical to train"),
             ("rc", "{:.1%} of test reverse complements of train"),
             ("near", "{:.1%} of test near-duplicates of train"))
    for key, text in texts:
        entry = figures.get(key) or {}
        if entry.get("fraction") is not None and entry["fraction"] >= LEAK_FLAG_MIN_FRACTION:
            flags.append(text.format(entry["fraction"]))
    shortcuts = {k: v for k, v in (figures.get("shortcuts") or {}).items() if k in SHORTCUT_NAMES}
    for name, entry in sorted(shortcuts.items(), key=lambda kv: list(SHORTCUT_NAMES).index(kv[0])):
        if entry.get("flag") in ("fail", "warn") and name not in NOT_FLAGGED_SHORTCUTS and entry.get("auroc") is not None:
            flags.append(f"shortcut: {SHORTCUT_NAMES[name]} AUROC {entry['auroc']:.3f} ({entry['flag']})")
    return flags


# ------------------------------------------------------------------------------------------------ published


@dataclass(frozen=True)
class Published:
    """One published figure (`data/published_accuracy.csv`): top-1 test accuracy on the upstream split."""

    config: str
    model: str
    accuracy: float  # fraction
    protocol: str
    source: str
    verified: str


def published_results(path: str | Path = PUBLISHED_CSV) -> list[Published]:
    """The published figures shipped with the package, sorted by config, then as listed."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = [Published(r["dataset"], r["model"], float(r["top1_accuracy_percent"]) / 100.0, r["protocol"], r["source"],
                     r.get("verified", "")) for r in rows]
    return sorted(out, key=lambda p: p.config)


# ------------------------------------------------------------------------------------------------ grouping


@dataclass
class Entry:
    """One row of the leaderboard: a model on one config and split protocol, its seeds pooled.

    Attributes:
        base: the benchmark (the parent config of a variant).
        split: `upstream`, `leakfree` or `chromsplit`.
        config: the config the results are on.
        model, protocol, kind: as in `Result`.
        label: the model's display name, unique within (base, split).
        seeds: the pooled seed labels.
        stats: `{split: {metric: {"mean", "std", "n"}}}` (std None for a single value).
        sources: where the seeds came from.
        duplicate_seeds: seeds met in more than one source (counted once: the first source, sorted).
        settings, fingerprint: the group's run settings and data fingerprint.
        split_label: how the split is named in tables (`split_label`): `upstream`, `own split`, or the variant.
    """

    base: str
    split: str
    config: str
    model: str
    protocol: str
    kind: str
    label: str
    seeds: list[str]
    stats: dict
    sources: list[str]
    duplicate_seeds: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    fingerprint: str | None = None
    split_label: str = ""


def summarize(values: Sequence[float | None]) -> dict | None:
    """`{"mean", "std", "n"}` of the defined values (sample std, ddof 1; None for one value); None when none."""
    defined = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if defined.size == 0:
        return None
    return {"mean": float(defined.mean()), "std": float(defined.std(ddof=1)) if defined.size > 1 else None,
            "n": int(defined.size)}


def group_results(results: Sequence[Result], provenances: Mapping[str, Mapping] | None = None) -> list[Entry]:
    """Pool results into leaderboard rows; results differing in config, split protocol, model, protocol,
    settings or data are kept apart. Sorted by base config, split protocol, label."""
    provenances = provenances or {}
    groups: dict[tuple, list[Result]] = {}
    for r in sorted(results, key=lambda r: (r.config, r.model, r.source)):
        base, split = split_protocol(r.config, provenances.get(r.config))
        identity = (r.source,) if r.kind == "card" else (json.dumps(r.settings, sort_keys=True, default=str), r.fingerprint)
        groups.setdefault((base, split, r.config, r.kind, r.model, r.protocol, *identity), []).append(r)
    entries = []
    for key, members in groups.items():
        base, split, config, kind, model, protocol = key[:6]
        seen: dict[str, dict] = {}
        duplicates = []
        for r in members:
            for i, seed in enumerate(r.seeds):
                if seed in seen and kind == "run":
                    duplicates.append(seed)
                    continue
                label = seed if kind == "run" else f"{r.source}"
                seen[label] = {split_: {m: v[i] for m, v in metrics.items()} for split_, metrics in r.values.items()}
        seeds = sorted(seen, key=_seed_order)
        stats = {}
        for s in sorted({s for v in seen.values() for s in v}, key=_split_order):
            metrics = _ordered_metrics({m for v in seen.values() for m in v.get(s, {})})
            stats[s] = {m: st for m in metrics
                        if (st := summarize([seen[x].get(s, {}).get(m) for x in seeds])) is not None}
        entries.append(Entry(base=base, split=split, config=config, model=model, protocol=protocol, kind=kind,
                             label=model + (f" ({protocol})" if protocol else ""), seeds=seeds, stats=stats,
                             sources=sorted({r.source for r in members}), duplicate_seeds=sorted(set(duplicates)),
                             settings=dict(members[0].settings), fingerprint=members[0].fingerprint))
    for e in entries:
        e.split_label = split_label(e.split, provenances.get(e.config))
    _distinguish(entries)
    return sorted(entries, key=lambda e: (e.base, SPLIT_PROTOCOLS.index(e.split), e.label, e.config))


def _distinguish(entries: list[Entry]) -> None:
    """Make labels unique within (base, split): name the settings (or the data) in which same-named rows differ."""
    clashes: dict[tuple, list[Entry]] = {}
    for e in entries:
        clashes.setdefault((e.base, e.split, e.label), []).append(e)
    for same in clashes.values():
        if len(same) < 2:
            continue
        keys = sorted({k for e in same for k in e.settings
                       if len({json.dumps(x.settings.get(k), default=str) for x in same}) > 1})
        data_differs = len({e.fingerprint for e in same}) > 1
        for e in same:
            parts = [f"{k}={_setting_text(e.settings.get(k))}" for k in keys]
            if data_differs:
                parts.append(f"data {str(e.fingerprint)[:8]}")
            if e.kind == "card" or not parts:
                parts.append(e.sources[0])
            e.label = f"{e.label} [{', '.join(parts)}]"


def _setting_text(value) -> str:
    """A setting as a label names it: a list as its items joined by commas (`none` when empty)."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return str(value)


# ------------------------------------------------------------------------------------------------ the board


def build_board(results: Sequence[Result], *, dataset: str | Path | None = None, audits: Mapping[str, Mapping] | None = None,
                provenances: Mapping[str, Mapping] | None = None, published: Sequence[Published] | None = None,
                metric: str | None = None) -> dict:
    """The leaderboard as a JSON-ready object (what every renderer reads).

    Args:
        results: from `read_sources`.
        dataset: a local Hub-layout folder whose provenance and audit reports describe the configs (each run's
            recorded dataset folder is used when this is None and the folder exists).
        audits: `{config: audit report}` to use instead of reading them (e.g. downloaded from the Hub).
        provenances: `{config: provenance}` likewise.
        published: the published figures (default: the packaged ones).
        metric: the requested headline metric of the plot and of the split comparison, used for every benchmark
            that has it (`headline_metric`); the others keep their own (accuracy for classification, R² for
            regression). Refused when no result has it.

    Returns:
        `{"schema_version", "metric", "headline_metrics", "entries", "published", "leakage", "comparisons",
        "configs"}`: `metric` the requested metric (default: accuracy when a classification result is present,
        else R²), `headline_metrics` `{benchmark: its headline metric}`; entries as dicts (sorted), published
        figures of the configs present, leak figures and flags per config, and the upstream-vs-variant
        comparisons (each on its benchmark's headline metric).
    """
    audits = dict(audits or {})
    provenances = dict(provenances or {})
    configs = sorted({r.config for r in results})
    for config in configs:
        folders = [Path(dataset)] if dataset is not None else [Path(r.dataset) for r in results
                                                                 if r.config == config and r.dataset]
        for folder in folders:
            if not folder.is_dir():
                continue
            if config not in provenances:
                try:
                    provenances[config] = read_provenance(folder, config, required=())
                except GBHubError:
                    pass
            if config not in audits and audit_path(folder, config).is_file():
                report = _read_json(audit_path(folder, config))
                if report is not None:
                    audits[config] = report
    entries = group_results(results, provenances)
    present = {m for e in entries for m in e.stats.get("test", {})}
    if metric is not None and entries and metric not in present:
        raise LeaderboardError(f"--metric {metric}: no result has a test {metric}; choose among "
                               f"{', '.join(_ordered_metrics(present))}")
    bases = sorted({e.base for e in entries})
    headline = {base: headline_metric({m for e in entries if e.base == base for m in e.stats.get("test", {})}, metric)
                for base in bases}
    metric = metric or headline_metric(present)
    shown = [p for p in (published_results() if published is None else published) if p.config in bases]
    leakage = {}
    for config in sorted(audits):
        figures = audit_leak_figures(audits[config])
        checked = [k for k in ("overlap", "exact", "rc", "near") if figures[k] is not None] + sorted(figures["shortcuts"])
        leakage[config] = {"figures": figures, "flags": leak_flags(figures), "checked": checked}
    return {
        "schema_version": SCHEMA_VERSION,
        "metric": metric,
        "headline_metrics": headline,
        "configs": sorted({(e.base, e.split, e.config) for e in entries}),
        "entries": [_entry_json(e) for e in entries],
        "published": [p.__dict__ for p in shown],
        "leakage": leakage,
        "comparisons": split_comparisons(entries, headline),
    }


def _entry_json(e: Entry) -> dict:
    return {"base": e.base, "split_protocol": e.split, "split_label": e.split_label, "config": e.config, "model": e.model, "protocol": e.protocol,
            "kind": e.kind, "label": e.label, "seeds": e.seeds, "n_seeds": len(e.seeds) if e.kind == "run" else None,
            "stats": e.stats, "sources": e.sources, "duplicate_seeds": e.duplicate_seeds, "settings": e.settings,
            "dataset_fingerprint": e.fingerprint}


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def split_comparisons(entries: Sequence[Entry], metric: str | Mapping[str, str] = "accuracy") -> list[dict]:
    """The same model (same label) on the upstream split and on `_leakfree` / `_chromsplit`, side by side, on
    `metric` (one for every benchmark, or `{benchmark: metric}`, accuracy for a benchmark it lacks).

    Returns:
        One dict per (base, model) present on at least two split protocols: `{"base", "label", "metric",
        "<protocol>": {"config", "mean", "std", "n"}, "gap_<variant>": variant mean - upstream mean, "base_split":
        the upstream entry's `split_label` (`upstream`, or `own split` for a config not built from upstream)}`.
    """
    by_model: dict[tuple, dict[str, Entry]] = {}
    for e in entries:
        by_model.setdefault((e.base, e.label), {})[e.split] = e
    rows = []
    for (base, label), splits in sorted(by_model.items()):
        if len(splits) < 2:
            continue
        chosen = metric if isinstance(metric, str) else metric.get(base, "accuracy")
        row: dict[str, Any] = {"base": base, "label": label, "metric": chosen}
        for protocol, e in splits.items():
            st = e.stats.get("test", {}).get(chosen)
            row[protocol] = {"config": e.config, **st} if st else None
            if protocol == "upstream":
                row["base_split"] = e.split_label or "upstream"
        upstream = row.get("upstream")
        for variant in ("leakfree", "chromsplit"):
            if upstream and row.get(variant):
                row[f"gap_{variant}"] = row[variant]["mean"] - upstream["mean"]
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------ Markdown


def format_stat(st: Mapping[str, Any] | None, metric: str, *, digits: int = 1) -> str:
    """`"84.6 ± 0.4 (5)"` (percent for bounded metrics), `"84.6 (1)"` for a single value, `–` when absent."""
    if not st:
        return "–"
    scale = 100.0 if metric in PERCENT_METRICS else 1.0
    digits = digits if metric in PERCENT_METRICS else 3
    text = f"{st['mean'] * scale:.{digits}f}"
    if st.get("std") is not None:
        text += f" ± {st['std'] * scale:.{digits}f}"
    return f"{text} ({st['n']})"


def format_gap(gap: float | None, metric: str, *, digits: int = 1) -> str:
    """A difference of two means as `format_stat` shows them: `"-10.0"` points for bounded metrics, `"-0.042"` for
    the others (R², MSE, ...), `–` when absent."""
    if gap is None:
        return "–"
    if metric in PERCENT_METRICS:
        return f"{gap * 100.0:+.{digits}f}"
    return f"{gap:+.3f}"


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], align: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def headline_metric(present: Iterable[str], requested: str | None = None) -> str:
    """The headline metric of a benchmark whose results have the test metrics `present`: `requested` when they
    have it, else accuracy (classification), else R² (regression), else the first present; accuracy for none."""
    present = set(present)
    return next((m for m in (requested, "accuracy", "r2", *_ordered_metrics(present)) if m in present), "accuracy")


def board_headline(board: Mapping[str, Any], base: str) -> str:
    """A benchmark's headline metric on a board (a board without `headline_metrics` has one for all: `metric`)."""
    return (board.get("headline_metrics") or {}).get(base) or board["metric"]


def board_metrics(board: Mapping[str, Any], base: str | None = None) -> list[str]:
    """The test metrics any entry (of benchmark `base`, when given) has, in card order; with published figures of
    `base` on the board, accuracy among them."""
    metrics = {m for e in board["entries"] if base is None or e["base"] == base for m in e["stats"].get("test", {})}
    if base is not None and any(p["config"] == base for p in board.get("published") or []):
        metrics.add("accuracy")
    return _ordered_metrics(metrics) or ["accuracy"]


def render_config_tables(board: Mapping[str, Any], bases: Sequence[str] | None = None, *, heading: str = "##",
                         title: str = "{base}") -> str:
    """Per benchmark: our rows and the published figures (test split), leak flags, and the split comparison;
    the columns are the metrics of that benchmark's rows (a classification and a regression benchmark do not
    share columns).

    Args:
        board: from `build_board` (or `read_board`).
        bases: the benchmarks to render (default: every one with a row).
        heading: the Markdown heading level of each benchmark.
        title: the heading text, `{base}` replaced by the benchmark's name.
    """
    bases = sorted({e["base"] for e in board["entries"]}) if bases is None else list(bases)
    leakage = board.get("leakage") or {}
    parts = []
    for base in bases:
        entries = [e for e in board["entries"] if e["base"] == base]
        if not entries:
            continue
        metrics = board_metrics(board, base)
        rows = []
        for e in entries:
            rows.append([e["label"], _number_kind(e), f"{e.get('split_label') or e['split_protocol']} (`{e['config']}`)",
                         _leak_cell(leakage.get(e["config"])),
                         *(format_stat(e["stats"].get("test", {}).get(m), m) for m in metrics)])
        for p in board.get("published") or []:
            if p["config"] == base:
                rows.append([f"{p['model']} (published)", p["protocol"], f"upstream (`{base}`)", _leak_cell(leakage.get(base)),
                             *(f"{100 * p['accuracy']:.1f}" if m == "accuracy" else "–" for m in metrics)])
        header = ["Model", "Kind of number", "Split protocol (config)", "Test-set leakage (audit)",
                  *(CARD_METRICS.get(m, m) for m in metrics)]
        part = [f"{heading} {title.format(base=base)}", "", _table(header, ["---"] * 4 + ["---:"] * len(metrics), rows)]
        comparison = [c for c in board.get("comparisons") or [] if c["base"] == base]
        if comparison:
            part += ["", _comparison_table(comparison)]
        parts.append("\n".join(part))
    return "\n\n".join(parts)


def _split_name(e: Mapping[str, Any]) -> str:
    """`upstream split`, `own split`, `leakfree split`: the entry's split as tables and legends name it."""
    name = e.get("split_label") or e["split_protocol"]
    return name if name.endswith(" split") else f"{name} split"


def _number_kind(e: Mapping[str, Any]) -> str:
    if e["kind"] == "card":
        return "one model (model card)"
    n = len(e["seeds"])
    protocol = f"{e['protocol']} protocol, " if e["protocol"] else ""
    return f"{protocol}mean ± std over {n} seeds" if n > 1 else f"{protocol}1 seed"


def _leak_cell(leakage: Mapping[str, Any] | None) -> str:
    """The leak flags of a config's audit, "none found", or why there are none to show."""
    if leakage is None:
        return "not audited"
    if leakage.get("flags"):
        return "; ".join(f"⚠ {f}" for f in leakage["flags"])
    return "none found" if leakage.get("checked", True) else "no leak figures in the audit report"


def _comparison_table(rows: Sequence[Mapping[str, Any]]) -> str:
    metric = rows[0]["metric"]
    name = CARD_METRICS.get(metric, metric)
    body = []
    for c in rows:
        cells = [c["label"]]
        for protocol in SPLIT_PROTOCOLS:
            cells.append(format_stat(c.get(protocol), metric) if c.get(protocol) else "–")
        for variant in ("leakfree", "chromsplit"):
            cells.append(format_gap(c.get(f"gap_{variant}"), metric))
        body.append(cells)
    bases = {c.get("base_split", "upstream") for c in rows}
    base = "upstream split" if bases == {"upstream"} else "own split" if bases == {"own split"} else "upstream or own split"
    header = ["Model", f"{base} ({name})", "`_leakfree`", "`_chromsplit`", "gap, leak-free", "gap, chromsplit"]
    unit = ", points" if metric in PERCENT_METRICS else ""
    return (f"Same model, {base} vs the audit's variants (test {name}; gap = variant − {base}{unit}):\n\n"
            + _table(header, ["---"] + ["---:"] * 5, body))


LEGEND = (
    "Test split; classification values in percent (MCC ×100), regression values as they are (R², r, ρ, MSE, MAE): mean ± sample standard deviation over seeds, with the number of "
    "seeds in parentheses. Rows of different configs, split protocols, training protocols, settings or data are "
    "never averaged together. *Kind of number* says what each figure is: a best-of-sweep figure is not a seed "
    "mean. Published figures are top-1 accuracy as printed by their source, on the upstream split; *Test-set "
    "leakage* comes from the config's audit report (`gbhub audit`), and a figure on a leaking split measures "
    "recall of near-copies as much as generalisation.")


def render_markdown(board: Mapping[str, Any]) -> str:
    """The leaderboard document (`leaderboard.md`)."""
    parts = ["# Leaderboard", "", LEGEND, "", render_config_tables(board)]
    sources = sorted({(p["model"], p["source"], p["verified"]) for p in board.get("published") or []})
    if sources:
        parts += ["", "## Sources of the published figures", ""]
        parts += [f"- {model}: {source} ({verified})." for model, source, verified in sources]
    runs = sorted({s for e in board["entries"] for s in e["sources"]})
    parts += ["", "## Runs and cards read", ""] + [f"- `{s}`" for s in runs]
    return "\n".join(parts).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------ plot


def plot_board(board: Mapping[str, Any], path: str | Path, bases: Sequence[str] | None = None) -> Path | None:
    """Per benchmark, our rows (mean with ± std error bars, one colour per split protocol) and the published
    figures as markers, on each benchmark's headline metric (`board_headline`); a byte-reproducible PNG. None
    when there is nothing to plot."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    bases = sorted({e["base"] for e in board["entries"]}) if bases is None else list(bases)
    panels = []
    for base in bases:
        metric = board_headline(board, base)
        ours = [e for e in board["entries"] if e["base"] == base and e["stats"].get("test", {}).get(metric)]
        published = [p for p in board.get("published") or [] if p["config"] == base and metric == "accuracy"]
        if ours or published:
            panels.append((base, metric, ours, published))
    if not panels:
        return None
    colours = {"upstream": "tab:blue", "leakfree": "tab:orange", "chromsplit": "tab:green"}
    markers = ["D", "s", "^", "v", "P", "X"]
    models = sorted({p["model"] for _, _, _, pub in panels for p in pub})
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig = Figure(figsize=(4.6 * ncols, 3.2 * nrows), dpi=100)
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax in axes.flat[len(panels):]:
            ax.set_visible(False)
        for ax, (base, metric, ours, published) in zip(axes.flat, panels):
            scale = 100.0 if metric in PERCENT_METRICS else 1.0
            labels = sorted({e["label"] for e in ours})
            for e in ours:
                st = e["stats"]["test"][metric]
                x = labels.index(e["label"]) + (SPLIT_PROTOCOLS.index(e["split_protocol"]) - 1) * 0.2
                ax.errorbar(x, st["mean"] * scale, yerr=(st["std"] or 0.0) * scale, fmt="o", capsize=3,
                            color=colours[e["split_protocol"]], label=f"ours, {_split_name(e)}")
            ticks = list(labels)
            if published:  # one slot right of ours: the published figures, one marker per model
                ticks.append("published")
                for p in published:
                    ax.plot([len(labels)], [p["accuracy"] * scale], linestyle="none",
                            marker=markers[models.index(p["model"]) % len(markers)], color="0.3", label=p["model"])
            ax.set_xticks(range(len(ticks)))
            ax.set_xticklabels(ticks, fontsize="small", rotation=15)
            ax.set_xlim(-0.6, len(ticks) - 0.4)
            ax.set_title(base, fontsize="medium")
            ax.set_ylabel(f"test {CARD_METRICS.get(metric, metric)}" + (" (%)" if scale == 100.0 else ""))
            handles, names = ax.get_legend_handles_labels()
            unique = dict(zip(names, handles))
            ax.legend(unique.values(), unique.keys(), fontsize="x-small", frameon=False)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
        tmp.replace(path)
    return path


# ------------------------------------------------------------------------------------------------ files


def write_board(board: Mapping[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write `leaderboard.md`, `leaderboard.json` and `leaderboard.png` (when there is something to plot)."""
    from gbhub.builders.hub_layout import write_json_atomic, write_text_atomic

    out = Path(out_dir)
    written = {"markdown": write_text_atomic(out / MARKDOWN_FILE, render_markdown(board)),
               "json": write_json_atomic(out / JSON_FILE, board)}
    plot = plot_board(board, out / PLOT_FILE)
    if plot is not None:
        written["plot"] = plot
    elif (out / PLOT_FILE).exists():
        (out / PLOT_FILE).unlink()
    return written


def store_in_dataset(board: Mapping[str, Any], dataset_dir: str | Path) -> dict[str, Path]:
    """Keep the board in a Hub-layout folder (`baselines/`), where `gbhub card` renders its Baselines section."""
    from gbhub.builders.hub_layout import write_json_atomic

    written = {"json": write_json_atomic(baselines_path(dataset_dir, JSON_FILE), board)}
    present = set(configs_in(dataset_dir))
    plot = plot_board(board, baselines_path(dataset_dir, PLOT_FILE),
                      bases=sorted({e["base"] for e in board["entries"] if e["config"] in present}))
    if plot is not None:
        written["plot"] = plot
    return written


def read_board(path: str | Path) -> dict:
    """A `leaderboard.json` written by `write_board` or `store_in_dataset`.

    Raises:
        LeaderboardError: unreadable, or another schema version.
    """
    board = _read_json(Path(path))
    if board is None or board.get("schema_version") != SCHEMA_VERSION:
        raise LeaderboardError(f"{path} is not a leaderboard of schema {SCHEMA_VERSION}; re-run `gbhub leaderboard` "
                               "or `gbhub baselines`")
    return board


def render_baselines_section(dataset_dir: str | Path) -> str:
    """The dataset card's "Baselines" section from `baselines/leaderboard.json`, for the configs in the folder
    ("" when no leaderboard was stored there)."""
    path = baselines_path(dataset_dir, JSON_FILE)
    if not path.is_file():
        return ""
    board = read_board(path)
    present = set(configs_in(dataset_dir))
    kept = [e for e in board["entries"] if e["config"] in present]
    if not kept:
        return ""
    board = {**board, "entries": kept,
             "comparisons": [c for c in board.get("comparisons") or []
                             if all(c[p]["config"] in present for p in SPLIT_PROTOCOLS if c.get(p))]}
    bases = sorted({e["base"] for e in kept})
    plot = baselines_path(dataset_dir, PLOT_FILE)
    names = " or ".join(dict.fromkeys(CARD_METRICS.get(m, m) if m != "accuracy" else m
                                      for m in (board_headline(board, b) for b in bases)))
    image = (f"\n\n![Test {names} per benchmark: ours with ± std error bars, published figures as markers]"
             f"({plot.relative_to(Path(dataset_dir)).as_posix()})") if plot.is_file() else ""
    return ("## Baselines\n\n"
            "Models trained on these configs (`gbhub baselines`, `gbhub leaderboard`), beside the published figures. "
            + LEGEND + image + "\n\n" + render_config_tables(board, bases, heading="###", title="Baselines on `{base}`"))
