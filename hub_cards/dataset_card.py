"""The dataset card (`README.md`) of a Hub-layout folder: YAML metadata and a body computed from the data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import DatasetInfo, Features, SplitDict, SplitInfo
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from gbhub.builders.audit.report import render_known_issues
from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import (
    SPLITS,
    audit_path,
    card_path,
    configs_in,
    image_path,
    read_provenance,
    split_files,
    split_pattern,
    write_text_atomic,
)
from gbhub.hub_cards import plots
from gbhub.hub_cards import regression_card as rc
from gbhub.hub_cards import stats as st
from gbhub.hub_cards.leaderboard import render_baselines_section

TAGS = ["biology", "genomics", "dna", "dna-sequences", "sequence-classification", "genomic-benchmarks"]
COLLECTION_NAME = "Genomic Benchmarks"
DEFAULT_REPO_ID = "<org>/genomic-benchmarks"
DNABERT_MAX_TOKENS = 512  # DNABERT-6's positions
DNABERT_K = 6
#: bp one DNABERT-6 input covers: 512 tokens = [CLS] + 510 overlapping 6-mers + [SEP], and 510 6-mers starting at
#: consecutive bases span 510 + 6 - 1 = 515 bp (the window `gbhub train dnabert` reports as `window_bp`).
DNABERT_MAX_BP = DNABERT_MAX_TOKENS - 2 + DNABERT_K - 1
#: The config `load_dataset(repo)` loads without a config name, when present: a real human benchmark of
#: fixed-length (251 bp) sequences, two nearly balanced classes, sequences that fit every model here in one
#: input (DNABERT-6 reads 515 bp), the config of the README's examples and a row of the paper's Table 2. Other
#: folders get their first faithful (non-variant) config by name.
PREFERRED_DEFAULT_CONFIGS = ("human_nontata_promoters",)


class CardError(GBHubError, ValueError):
    """A Hub-layout folder cannot be described: missing or inconsistent provenance, no data."""


@dataclass
class ConfigEntry:
    """Everything the card says about one config.

    Attributes:
        name: config name (the folder holding its Parquet).
        provenance: the `provenance/<name>.json` object.
        info: the `datasets.DatasetInfo` written to the YAML `dataset_info`.
        stats: statistics computed from the Parquet.
        splits: split names present, in `train, validation, test` order.
        regression: the target and side features of a regression config (its `stats` then treat all rows as
            one class, for lengths and GC); None for a classification config.
    """

    name: str
    provenance: dict
    info: DatasetInfo
    stats: st.ConfigStats
    splits: list[str]
    regression: rc.RegressionStats | None = None


def _read_split(files: list[Path]) -> tuple[pa.Table, Features]:
    features = Features.from_arrow_schema(pq.read_schema(files[0]))
    tables = [pq.read_table(f).cast(features.arrow_schema) for f in files]
    return pa.concat_tables(tables), features


def describe_config(out_dir: Path, config: str) -> ConfigEntry:
    """Compute the `DatasetInfo` and statistics of one config from its Parquet and provenance.

    Raises:
        CardError: no split, features differ between splits, or class names differ from the provenance.
    """
    out_dir = Path(out_dir)
    prov = read_provenance(out_dir, config)
    split_infos, columns, features, download_size = [], {}, None, 0
    schema, targets, side = None, {}, {}
    for split in SPLITS:
        files = split_files(out_dir, config, split)
        if not files:
            continue
        table, split_features = _read_split(files)
        if features is not None and split_features != features:
            raise CardError(f"{config}/{split} has features {split_features}, other splits have {features}; "
                            f"rebuild with `gbhub build {config}`")
        features = split_features
        schema = rc.schema_of(prov, features)
        split_infos.append(SplitInfo(name=split, num_bytes=table.nbytes, num_examples=table.num_rows))
        if schema is not None:  # regression: target statistics of their own; lengths and GC as one class
            targets[split], side[split] = rc.split_values(table, schema)
            table = rc.without_label(table)
        columns[split] = st.split_columns(table)
        download_size += sum(f.stat().st_size for f in files)
    if features is None:
        raise CardError(f"{out_dir / config} has no {'/'.join(SPLITS)}-*.parquet; rebuild with `gbhub build {config}`")
    if schema is not None:
        regression = rc.RegressionStats(schema, targets, side)
        _check_recorded_counts(config, prov, split_infos)
        splits = SplitDict()
        for info in split_infos:
            splits.add(info)
        info = DatasetInfo(config_name=config, features=features, splits=splits, download_size=download_size,
                           dataset_size=sum(i.num_bytes for i in split_infos))
        return ConfigEntry(name=config, provenance=prov, info=info, stats=st.summarize(("all",), columns),
                           splits=[i.name for i in split_infos], regression=regression)
    names = list(getattr(features.get("label"), "names", []) or [])
    if names != list(prov["classes"]):
        raise CardError(f"{config}: Parquet label names {names} differ from provenance classes {prov['classes']}; "
                        f"rebuild with `gbhub build {config}`")
    _check_recorded_counts(config, prov, split_infos)
    splits = SplitDict()
    for info in split_infos:
        splits.add(info)
    dataset_size = sum(i.num_bytes for i in split_infos)
    info = DatasetInfo(config_name=config, features=features, splits=splits,
                       download_size=download_size, dataset_size=dataset_size)
    return ConfigEntry(name=config, provenance=prov, info=info, stats=st.summarize(names, columns),
                       splits=[i.name for i in split_infos])


def _check_recorded_counts(config: str, prov: dict, split_infos: list[SplitInfo]) -> None:
    """Refuse a provenance whose recorded split sizes differ from the Parquet (a stale or mixed folder)."""
    recorded = prov.get("splits") or {}
    for info in split_infos:
        expected = (recorded.get(info.name) or {}).get("num_examples")
        if expected is not None and expected != info.num_examples:
            raise CardError(f"{config}/{info.name}: provenance records {expected} rows, the Parquet holds "
                            f"{info.num_examples}; rebuild with `gbhub build {config}`")


def default_config(entries: list[ConfigEntry]) -> str:
    """The config marked `default: true`: the first of `PREFERRED_DEFAULT_CONFIGS` present, else the first
    faithful (non-variant) config by name, else the first config."""
    names = [e.name for e in entries]
    faithful = [e.name for e in entries if not e.provenance.get("parent")] or names
    return next((n for n in PREFERRED_DEFAULT_CONFIGS if n in faithful), faithful[0])


def card_title(entries: list[ConfigEntry]) -> str:
    """The card's `pretty_name` and H1: the collection's name, or the config's when the folder holds one
    benchmark (with or without its variants)."""
    faithful = [e for e in entries if not e.provenance.get("parent")] or entries
    return faithful[0].provenance["pretty_name"] if len(faithful) == 1 else COLLECTION_NAME


def card_data(entries: list[ConfigEntry]) -> DatasetCardData:
    """The YAML metadata, with `configs` and `dataset_info` written by `datasets`' own serialisers."""
    faithful = [e for e in entries if not e.provenance.get("parent")] or entries
    licenses = sorted({e.provenance["license"] for e in entries})
    default = default_config(entries)
    data = DatasetCardData(
        pretty_name=card_title(entries),
        license=licenses[0] if len(licenses) == 1 else licenses,
        tags=TAGS + (["regression"] if any(e.regression for e in entries) else []),
        task_categories=["text-classification"],
        size_categories=[st.size_category(sum(e.stats.num_sequences for e in faithful))],
        source_datasets=sorted({"original" if e.provenance.get("upstream") is None else "extended" for e in entries}),
    )
    MetadataConfigs({
        e.name: {**({"default": True} if e.name == default else {}),
                 "data_files": [{"split": s, "path": split_pattern(e.name, s)} for s in e.splits]}
        for e in entries
    }).to_dataset_card_data(data)
    # One list item per config, always (each item is `DatasetInfo._to_yaml_dict()`, what `datasets` writes):
    # `DatasetInfosDict.to_dataset_card_data` would write a lone config as a mapping instead, so the shape
    # of the YAML would change when a second config is built into the folder.
    data["dataset_info"] = [{"config_name": e.name, **_info_yaml(e.info)} for e in entries]
    return data


def _info_yaml(info: DatasetInfo) -> dict:
    yaml_dict = info._to_yaml_dict()  # the exact form `datasets` writes and reads back
    yaml_dict.pop("config_name", None)
    return yaml_dict


def render_body(entries: list[ConfigEntry], out_dir: Path, repo_id: str | None = None) -> str:
    """The Markdown body of the card, every figure computed from the data in `out_dir`.

    Args:
        entries: the configs, sorted by name.
        out_dir: the Hub-layout folder (for images and audit reports).
        repo_id: the Hub repository the snippets load from (a placeholder when `None`).
    """
    repo = repo_id or DEFAULT_REPO_ID
    default = next(e for e in entries if e.name == default_config(entries))
    sections = [
        _intro(entries),
        "## Overview\n\n" + _overview_table(entries) + "\n\n" + OVERVIEW_NOTE,
        _usage(default, repo),
        SPLITS_NOTE,
        # The leaderboard's "## Baselines" section (`baselines/leaderboard.json`, "" when there is none).
        render_baselines_section(out_dir),
        "## Configs\n\n" + "\n\n".join(_config_section(e, out_dir, repo) for e in entries),
        _citation_section(entries),
    ]
    return "\n\n".join(s.strip() for s in sections) + "\n"


def _cell(value) -> str:
    """Escape a value for a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _fmt(value: float, digits: int = 2) -> str:
    if value != value:  # NaN
        return "–"
    if value == float("inf"):
        return "∞"
    return f"{value:,.{digits}f}"


def _table(header: list[str], align: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _intro(entries: list[ConfigEntry]) -> str:
    names = ", ".join(f"[`{e.name}`](#{_anchor(e.name)})" for e in entries)
    total = sum(e.stats.num_sequences for e in entries)
    upstream = [e for e in entries if e.provenance.get("upstream")]
    origin = ("from the upstream coordinate tables at a pinned commit" if len(upstream) == len(entries) else
              "from coordinate tables generated in code" if not upstream else
              "from the upstream coordinate tables at a pinned commit (generated in code where *Provenance* says so)")
    lineage = ("The collection follows *Genomic Benchmarks* (Grešová et al., BMC Genomic Data 2023). It was "
               if upstream else "It is not part of *Genomic Benchmarks*: it was ")
    regression = sum(1 for e in entries if e.regression)
    kind, label = (("sequence-classification", "with its class in `label` (a `ClassLabel`)") if not regression else
                   ("sequence-regression", "with its float target(s) in `label` and any side features in columns "
                    "of their own") if regression == len(entries) else
                   ("sequence-classification and regression", "with its class in `label` (a `ClassLabel`), or "
                    "its float target(s) for a regression config"))
    return (f"# {card_title(entries)}\n\n"
            f"DNA {kind} benchmarks as Parquet, one config per benchmark ({len(entries)} "
            f"config{'s' if len(entries) != 1 else ''}, {total:,} sequences): {names}. Each row is an interval "
            "(`region`: a contig or transcript; 0-based, half-open `start`/`end`; `strand`) and the upper-case "
            f"`sequence` it resolves to on the reference named under *Provenance*, {label}.\n\n"
            f"{lineage}built with `genomic-benchmarks-hub` {origin}; every number and figure on this card is "
            "computed from the Parquet files in this repository.")


def _anchor(name: str) -> str:
    return name.lower().replace(" ", "-")


OVERVIEW_NOTE = (
    "Columns as in Table 1 of the Genomic Benchmarks paper: *class ratio* is the size of the biggest class "
    "divided by the size of the smallest; *median length* and *standard deviation* (population, ddof=0) are "
    "over the lengths (bp) of all sequences of all classes. The `all` row of a config covers its three splits.")

SPLITS_NOTE = (
    "## Splits\n\n"
    "`test` is the upstream test split, unchanged. `validation` is a stratified, seeded sample of the upstream "
    "train split (the fraction and seed are listed per config under *Provenance*) and `train` is the rest, so "
    "`train` ∪ `validation` is exactly the upstream train split. Select models on `validation`; report `test`. "
    "Variant configs (a *Variant of* note under their name) say how their splits differ.")


def _overview_table(entries: list[ConfigEntry]) -> str:
    rows = []
    for e in entries:
        s = e.stats
        classes = "regression" if e.regression else s.num_classes  # no classes, no class ratio
        rows.append([f"`{e.name}`", "all", f"{s.num_sequences:,}", classes,
                     "–" if e.regression else _fmt(s.class_ratio), _fmt(s.median_length, 1), _fmt(s.length_std)])
        for split in e.splits:
            r = s.split_rows[split]
            rows.append(["", split, f"{r['num_sequences']:,}", classes, "–" if e.regression else _fmt(r["class_ratio"]),
                         _fmt(r["median_length"], 1), _fmt(r["length_std"])])
    return _table(["Name", "Split", "# of sequences", "# of classes", "Class ratio", "Median length",
                   "Standard deviation"], ["---", "---", "---:", "---:", "---:", "---:", "---:"], rows)


def _usage(entry: ConfigEntry, repo: str) -> str:
    if entry.regression:
        return rc.usage_section(entry.name, repo, entry.regression.schema)
    code = TRAINER_SNIPPET.format(repo=repo, config=entry.name)
    return ("## Usage\n\n"
            "Every config loads with plain `datasets` (Parquet, no loading script); `label` carries the class "
            f"names, so `id2label` comes from the data. `load_dataset(\"{repo}\")` without a config name loads "
            f"`{entry.name}`, the default: " + _default_note(entry.name) + "\n\n"
            "Fine-tuning a DNA language model with the `Trainer`, with the project's DNA tokenizer and metrics "
            "(`pip install \"genomic-benchmarks-hub[train]\"`):\n\n"
            f"```python\n{code}```\n\n"
            "`DNATokenizer` turns raw sequences into the checkpoint's ids: overlapping k-mers computed in numpy for "
            "a DNABERT k-mer vocabulary (checked identical to the checkpoint's own tokenizer), the checkpoint's own "
            "tokenizer for any other (Nucleotide Transformer 6-mers, character-level, BPE). It truncates to the "
            f"model's length: DNABERT-6 reads {DNABERT_MAX_TOKENS} tokens, {DNABERT_MAX_BP} bp (`[CLS]` + "
            f"{DNABERT_MAX_TOKENS - 2} overlapping 6-mers + `[SEP]`). `gbhub train dnabert` (or `gbhub train lm "
            "--model CHECKPOINT`) reads longer sequences as overlapping windows instead. `trainer_compute_metrics` "
            "scores with the project's `evaluate` module (accuracy, F1, MCC, AUROC, AUPRC), which expects class "
            "probabilities: it applies the softmax to the `Trainer`'s logits.")


DEFAULT_REASON = ("fixed-length 251 bp human sequences in two nearly balanced classes, one input of every model "
                  "here (DNABERT-6 included)")


def _default_note(name: str) -> str:
    """Why `name` is the default config (what the card says under *Usage*)."""
    preferred = PREFERRED_DEFAULT_CONFIGS[0]
    if name == preferred:
        return f"{DEFAULT_REASON}."
    return (f"the first non-variant config by name, as this repository has no `{preferred}` (the default when it "
            f"is built: {DEFAULT_REASON}).")

TRAINER_SNIPPET = '''from datasets import load_dataset
from transformers import (AutoModelForSequenceClassification, DataCollatorWithPadding, Trainer,
                          TrainingArguments)

from gbhub.training.metrics_util import trainer_compute_metrics
from gbhub.training.tokenizers import DNATokenizer

ds = load_dataset("{repo}", "{config}")
names = ds["train"].features["label"].names
checkpoint = "zhihan1996/DNA_bert_6"
tokenizer = DNATokenizer.from_pretrained(checkpoint)  # raw DNA -> overlapping 6-mer ids, 512 tokens
tokenized = ds.map(tokenizer, batched=True)  # reads `sequence`, adds input_ids and attention_mask
model = AutoModelForSequenceClassification.from_pretrained(
    checkpoint, num_labels=len(names),
    id2label=dict(enumerate(names)), label2id={{name: i for i, name in enumerate(names)}})
trainer = Trainer(
    model=model,
    args=TrainingArguments("dnabert6-{config}", eval_strategy="epoch", num_train_epochs=1),
    train_dataset=tokenized["train"],
    eval_dataset=tokenized["validation"],
    processing_class=tokenizer,  # saved with the model (the checkpoint's own tokenizer files)
    data_collator=DataCollatorWithPadding(tokenizer),  # pads each batch; `label` becomes `labels`
    compute_metrics=trainer_compute_metrics,  # softmax of the logits -> accuracy, f1, mcc, auroc, auprc
)
trainer.train()
print(trainer.evaluate(tokenized["test"], metric_key_prefix="test"))
'''

CONFIG_SNIPPET = '''from datasets import load_dataset

ds = load_dataset("{repo}", "{config}")
names = ds["train"].features["label"].names  # {names}
'''


def _config_section(e: ConfigEntry, out_dir: Path, repo: str) -> str:
    prov = e.provenance
    images = plots.image_paths(e.name)
    alt = plots.alt_texts(e.name, e.stats)
    parts = [f"### {e.name}", f"**{prov['pretty_name']}**"]
    if prov.get("parent"):
        note = (prov.get("variant_note") or "").strip()
        parts.append(f"> Variant of [`{prov['parent']}`](#{_anchor(prov['parent'])}). {note}".rstrip())
    if e.regression:  # a target's distribution and side-feature correlations instead of class counts
        classes = rc.target_section(e.name, prov, e.regression)
        snippet = rc.usage_snippet(repo, e.name, e.regression.schema)
    else:
        classes = "#### Classes and splits\n\n" + _class_table(e)
        snippet = CONFIG_SNIPPET.format(repo=repo, config=e.name, names=list(e.stats.classes))
    parts += [
        prov["description"].strip(),
        classes,
        f"![{alt['length']}]({images['length']})\n\n"
        f"![{alt['gc']}]({images['gc']})",
        "#### Usage\n\n```python\n" + snippet + "```\n\n" + ("" if e.regression else _truncation_note(e)),
        "#### Citation\n\n" + "\n\n".join(f"```bibtex\n{c.strip()}\n```" for c in prov["citations"]),
        "#### Provenance\n\n" + _provenance(e),
        "#### Known issues\n\n" + known_issues(out_dir, e.name, regression=e.regression is not None),
    ]
    return "\n\n".join(p.strip() for p in parts if p.strip())


def _class_table(e: ConfigEntry) -> str:
    s, refs = e.stats, e.provenance.get("class_references") or {}
    rows = []
    for i, name in enumerate(s.classes):
        per_split = [s.split_class_counts[split][name] for split in e.splits]
        rows.append([i, f"`{name}`", f"`{refs[name]}`" if name in refs else "–",
                     *(f"{n:,}" for n in per_split), f"{sum(per_split):,}", _fmt(s.gc_by_class[name], 3)])
    totals = [sum(s.split_class_counts[split].values()) for split in e.splits]
    rows.append(["", "**total**", "", *(f"{n:,}" for n in totals), f"{sum(totals):,}", ""])
    return _table(["Label", "Class", "Reference", *e.splits, "Total", "Mean GC fraction"],
                  ["---:", "---", "---", *(["---:"] * len(e.splits)), "---:", "---:"], rows)


def _truncation_note(e: ConfigEntry) -> str:
    lengths = np.concatenate(list(e.stats.lengths_by_class.values()))
    longer = int((lengths > DNABERT_MAX_BP).sum())
    if not longer:
        return (f"All sequences fit one DNABERT-6 input ({DNABERT_MAX_TOKENS} tokens = {DNABERT_MAX_BP} bp; the "
                f"longest here is {int(lengths.max(initial=0)):,} bp).")
    return (f"{longer:,} of {lengths.size:,} sequences ({longer / lengths.size:.1%}) are longer than one DNABERT-6 "
            f"input ({DNABERT_MAX_TOKENS} tokens = {DNABERT_MAX_BP} bp): the tokenizer of *Usage* above truncates "
            "them; `gbhub train dnabert` reads them as overlapping windows.")


def _provenance(e: ConfigEntry) -> str:
    prov = e.provenance
    lines = []
    upstream = prov.get("upstream")
    if upstream:
        lines.append(f"- Coordinate tables: {upstream['repository']} at commit `{upstream['commit']}`.")
    elif (prov.get("sources") or {}).get("files"):
        lines.append("- Gene table and TSS coordinates: the source files listed below.")
    else:
        lines.append("- Coordinate tables: generated in code by `genomic-benchmarks-hub` (no upstream tables).")
    validation = prov.get("validation") or {}
    if validation:
        strata = f"stratified on {validation['strata']}" if validation.get("strata") else "stratified by class"
        lines.append(f"- Validation split: {validation.get('fraction', 0):.0%} of upstream train, "
                     f"{strata if validation.get('stratified') else 'not stratified'}, "
                     f"seed `{validation.get('seed')}`.")
    lines.append(f"- Built with `genomic-benchmarks-hub` version `{prov.get('package_version', 'unknown')}`; "
                 f"license `{prov['license']}`" + (f"; homepage {prov['homepage']}." if prov.get("homepage") else "."))
    out = ["\n".join(lines)]
    if (prov.get("windows") or {}).get("anchor") == "TSS" or prov.get("sources"):  # TSS windows, source files
        out.append(rc.sources_provenance(prov))
    if upstream and upstream.get("tables"):
        out.append(_table(["Coordinate table", "sha256"], ["---", "---"],
                          [[f"`{path}`", f"`{sha}`"] for path, sha in sorted(upstream["tables"].items())]))
    references = prov.get("references") or {}
    if references:
        rows = [[f"`{key}`", ref.get("assembly", "–"), ref.get("kind", "–"), ref.get("url", "–"),
                 ref.get("source", "–"), f"`{ref['sha256']}`" if ref.get("sha256") else "not recorded"]
                for key, ref in sorted(references.items())]
        out.append(_table(["Reference", "Assembly", "Kind", "URL", "Source", "sha256 of the FASTA used"],
                          ["---"] * 6, rows))
    return "\n\n".join(out)


def known_issues(out_dir: Path, config: str, *, regression: bool = False) -> str:
    """The "Known issues" text of a config: its audit report, or a note that it has not been audited."""
    path = audit_path(out_dir, config)
    if not path.is_file() and regression:  # `gbhub audit` compares classes: it refuses a float label
        return ("This regression config has not been audited: the leakage and shortcut audit compares classes, "
                "and `label` here is a float target. Duplicates and overlaps across splits are not checked.")
    if not path.is_file():
        return (f"This benchmark has not been audited yet for leakage (duplicates or overlaps across splits) "
                f"or shortcuts (length, GC content). Run `gbhub audit {config}` and re-render the card.")
    try:
        audit = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CardError(f"cannot read audit report {path}: {err}; re-run `gbhub audit {config}`") from err
    return render_known_issues(audit).strip()


def _citation_section(entries: list[ConfigEntry]) -> str:
    upstream = [e for e in entries if e.provenance.get("upstream")]
    first = [e.provenance["citations"][0].strip() for e in (upstream or entries) if e.provenance["citations"]]
    if not first:
        return ""
    if upstream:
        lead = ("If you use these datasets, cite the Genomic Benchmarks paper and the original source of each "
                "benchmark you use (listed in its section above):")
    else:
        lead = "These configs were generated in code by `genomic-benchmarks-hub`; if you use them, cite it:"
    return f"## Citation\n\n{lead}\n\n```bibtex\n{first[0]}\n```"


def render_card(out_dir: Path, repo_id: str | None = None, *, write_images: bool = True) -> DatasetCard:
    """Build the `DatasetCard` of `out_dir`, writing the images it references unless `write_images` is false.

    Raises:
        CardError: no config in `out_dir`, or a config's provenance and data disagree.
    """
    out_dir = Path(out_dir)
    configs = configs_in(out_dir)
    if not configs:
        raise CardError(f"{out_dir} has no config (expected provenance/<config>.json and <config>/<split>-*.parquet); "
                        "build one with `gbhub build NAME --out DIR`")
    entries = [describe_config(out_dir, c) for c in configs]
    if write_images:
        written = {rel for e in entries for rel in plots.write_config_plots(out_dir, e.name, e.stats).values()}
        written |= {rc.write_target_plot(out_dir, e.name, e.regression) for e in entries if e.regression}
        _remove_stale_images(out_dir, written)
        rc.remove_stale_target_plots(out_dir, written)
    data = card_data(entries)
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{render_body(entries, out_dir, repo_id)}")


def _remove_stale_images(out_dir: Path, keep: set[str]) -> None:
    """Delete card images of configs no longer in the folder (only files named like ours)."""
    for kind in plots.IMAGE_KINDS:
        for path in out_dir.glob(image_path("*", kind)):
            if path.relative_to(out_dir).as_posix() not in keep:
                path.unlink()


def write_dataset_card(out_dir: Path | str, repo_id: str | None = None) -> Path:
    """Render `out_dir/README.md` and its images from the configs present, and return the card's path.

    Args:
        out_dir: a Hub-layout folder (`<config>/<split>-*.parquet` and `provenance/<config>.json`).
        repo_id: the Hub repository the usage snippets load from (a placeholder when `None`).

    Raises:
        CardError: no config in `out_dir`, or a config's provenance and data disagree.
    """
    out_dir = Path(out_dir)
    card = render_card(out_dir, repo_id)
    path = write_text_atomic(card_path(out_dir), str(card.content))
    DatasetCard.load(path)  # validates the YAML the Hub will read
    return path

