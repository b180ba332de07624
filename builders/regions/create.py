"""`gbhub create` and `gbhub build --spec`: BED regions + a reference -> a Hub-layout config with spec and audit."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from gbhub import __version__
from gbhub.builders.assemblies import canonical_contig
from gbhub.builders.build import write_plan_config
from gbhub.builders.errors import ChecksumError
from gbhub.builders.genome import Genome, n_runs, soft_mask
from gbhub.builders.hub_layout import SPLITS, RegressionTarget, spec_path
from gbhub.builders.plan import PLAN_COLUMNS, QUANTILE_BINS, quantile_strata
from gbhub.builders.references import REFERENCES, ResolvedReference
from gbhub.builders.regions.bed import BedError, BedRegions, read_bed, resize
from gbhub.builders.regions.negatives import Layout, NegativeOptions, Positives, merge, sample_negatives
from gbhub.builders.regions.reference import detect_assembly, resolve_named_reference  # noqa: F401 (re-exported)
from gbhub.builders.regions.spec import (
    NEGATIVE_CLASS,
    SPLIT_METHODS,
    InputFile,
    RegionSpec,
    SpecError,
    SplitSpec,
    TargetSpec,
    content_sha256,
    input_paths,
    read_spec,
    relative_copy,
    write_spec,
)
from gbhub.builders.regions.splits import (
    SplitError,
    chromosome_split,
    holdout_contigs,
    overlap_clusters,
    random_split,
)

logger = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
GENERATED_TABLE = "generated negatives"


@dataclass
class CreateResult:
    """What `create_benchmark` / `build_from_spec` wrote.

    Attributes:
        config_dir: the config's Parquet folder.
        spec_file: `specs/<config>.yaml`.
        audit_file: `audit/<config>.json`, or None when not audited.
        counts: rows per split and class (a regression benchmark: rows per split under the target's name).
        negatives: the match report of generated negatives, or None.
    """

    config_dir: Path
    spec_file: Path
    audit_file: Path | None
    counts: dict[str, dict[str, int]]
    negatives: dict | None


def create_benchmark(
    name: str,
    classes: dict[str, str | os.PathLike],
    reference: str,
    out_dir: str | os.PathLike,
    *,
    fasta: str | os.PathLike | None = None,
    exclude: list[str | os.PathLike] = (),
    width: int | None = None,
    summit_column: int | None = None,
    negatives: NegativeOptions | None = None,
    split: SplitSpec = SplitSpec(),
    seed: int = 42,
    pretty_name: str = "",
    description: str = "",
    license: str = "other",
    citation: str = "",
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
    progress: bool = True,
    audit: bool = True,
    target: TargetSpec | None = None,
) -> CreateResult:
    """Make benchmark `name` from BED files and write it, its spec and its audit into `out_dir`.

    Args:
        name: config name.
        classes: `{class name: BED}`. With one class, negatives are generated (class `negative`).
        reference: a reference key (`gbhub references`), an assembly name (`GRCh38`), or a name of your own.
        out_dir: Hub-layout folder (other configs are kept).
        fasta: the reference FASTA (needed unless `reference` is a registry key, which is then downloaded).
        exclude: BEDs no negative may touch (blacklists, promoters, exons...).
        width: resize regions to this many bp around the summit (`summit_column`) or the centre.
        summit_column: 1-based BED column with the summit's offset from start (narrowPeak: 10).
        negatives: how negatives are drawn (default `NegativeOptions()`); ignored with several classes.
        split: chromosome hold-out (default: the assembly's `_chromsplit` contigs) or random.
        seed: seed of every random choice.
        pretty_name, description, license, citation: for the card.
        cache_dir, num_proc, progress: as `gbhub build`.
        audit: run the leakage/shortcut audit after writing (classes only: the audit compares classes).
        target: make a regression benchmark instead: the one BED's column `target.column` becomes the float32
            `label` named `target.name`; no negatives are generated; a random split is stratified on the
            target's deciles.

    Raises:
        GBHubError: bad BED (file, line, fix), unknown contigs, impossible splits or negatives.
    """
    if not _NAME.match(name):
        raise SpecError(f"benchmark name {name!r}: use letters, digits, '_', '.', '-' (it names the config folder)")
    if not classes:
        raise SpecError("give at least one BED: --positives FILE or --class NAME=FILE")
    for cls in classes:
        if not _NAME.match(cls) or cls.startswith("exclude-"):
            raise SpecError(f"class name {cls!r}: use letters, digits, '_', '.', '-' (not starting with 'exclude-')")
    if target is not None:
        if len(classes) != 1:
            raise SpecError(f"a regression benchmark (--target) is made from one BED, got {len(classes)}: give "
                            "--positives FILE only")
        if exclude:
            raise SpecError("--exclude shapes generated negatives, and a regression benchmark (--target) has none: "
                            "drop --exclude")
        if target.column < 4:
            raise SpecError(f"--target-column {target.column}: columns 1-3 are contig, start and end; the target is "
                            "column 4 or later (BED5/BED6 score: 5)")
        RegressionTarget((target.name,))  # a bad target name fails here, before anything is read
    generate = len(classes) == 1 and target is None
    if generate and NEGATIVE_CLASS in classes:
        raise SpecError(f"the only class is {NEGATIVE_CLASS!r}: give the positive regions, negatives are generated")
    if split.method not in SPLIT_METHODS:
        raise SplitError(f"--split {split.method!r}: choose {' or '.join(SPLIT_METHODS)}")
    if width is not None and width < 1:
        raise SpecError(f"--width {width}: a width is a whole number of bp >= 1")
    class_paths = {c: Path(p) for c, p in sorted(classes.items())}
    exclude_paths = [Path(p) for p in exclude]
    spec = RegionSpec(
        name=name,
        classes={c: InputFile(relative_copy_of(name, c), content_sha256(p, str(p)), p.name)
                 for c, p in class_paths.items()},
        reference={"key": reference, "assembly": "", "sha256": ""},
        pretty_name=pretty_name or name,
        description=description,
        license=license,
        citation=citation,
        width=width,
        summit_column=summit_column,
        exclude=tuple(InputFile(relative_copy_of(name, f"exclude-{i}"), content_sha256(p, str(p)), p.name)
                      for i, p in enumerate(exclude_paths)),
        negatives=(negatives or NegativeOptions()) if generate else None,
        split=split,
        seed=seed,
        target=target,
    )
    return _build(spec, class_paths, exclude_paths, out_dir, fasta=fasta, cache_dir=cache_dir,
                  num_proc=num_proc, progress=progress, audit=audit, rebuild=False)


def relative_copy_of(name: str, kind: str) -> str:
    return relative_copy(RegionSpec(name=name, classes={}, reference={}), kind)


def build_from_spec(
    spec_file: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    fasta: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
    progress: bool = True,
    audit: bool = True,
) -> CreateResult:
    """Rebuild a `gbhub create` benchmark from its spec (`specs/<config>.yaml`): same bytes as when made.

    Raises:
        ChecksumError: an input copy or the reference FASTA differs from what the spec records.
    """
    spec = read_spec(spec_file)
    classes, exclude = input_paths(spec, Path(spec_file))
    return _build(spec, classes, exclude, out_dir, fasta=fasta, cache_dir=cache_dir, num_proc=num_proc,
                  progress=progress, audit=audit, rebuild=True)


# ------------------------------------------------------------------------------------------- the build


def _build(spec: RegionSpec, class_paths: dict[str, Path], exclude_paths: list[Path], out_dir, *, fasta,
           cache_dir, num_proc, progress, audit, rebuild) -> CreateResult:
    key = spec.reference["key"]
    resolved, assembly = resolve_named_reference(key, fasta, cache_dir=cache_dir, progress=progress)
    if rebuild and resolved.sha256 != spec.reference.get("sha256"):
        raise ChecksumError(f"the reference FASTA {resolved.fasta} has sha256 {resolved.sha256}, but the benchmark "
                            f"was made on {spec.reference.get('sha256')}: pass that FASTA (--reference {key}=PATH)")
    spec = replace(spec, reference={"key": key, "assembly": assembly, "sha256": resolved.sha256})
    genome = resolved.genome
    layout = Layout(genome)
    class_names = spec.class_names
    label_of = {c: i for i, c in enumerate(class_names)}
    schema = None
    if spec.target is not None:
        source = next(iter(spec.classes.values())).source
        schema = RegressionTarget((spec.target.name,), (),
                                  f"column {spec.target.column} of `{source}`, one value per region")

    # regions of the given classes
    given = {}
    for cls, path in class_paths.items():
        regions, summits = read_bed(path, genome, source=spec.classes[cls].source, summit_column=spec.summit_column,
                                    score_column=spec.target.column if spec.target else None)
        if spec.width:
            regions = resize(regions, spec.width, summits, {n: int(layout.lengths[i]) for n, i in layout.index.items()})
        given[cls] = regions
    excluded = [read_bed(p, genome, source=f.source, strict=False)[0] for p, f in zip(exclude_paths, spec.exclude)]

    # splits by contig, or one pool for a random split
    if spec.split.method == "chromosome":
        holdouts = holdout_contigs(
            genome, assembly,
            {"validation": list(spec.split.validation_contigs), "test": list(spec.split.test_contigs)}
            if spec.split.validation_contigs else None)
        spec = replace(spec, split=replace(spec.split, validation_contigs=tuple(holdouts["validation"]),
                                           test_contigs=tuple(holdouts["test"])))
        contig_split = dict(zip(layout.names, chromosome_split(layout.names, holdouts)))
        pools = {i: s for i, s in enumerate(SPLITS)}
    else:
        holdouts, contig_split, pools = None, None, {0: "all"}
    pool_of_split = {s: i for i, s in pools.items()}

    frames = []
    for cls, regions in given.items():
        frames.append(_class_frame(cls, regions.score if schema else label_of[cls], regions, layout))
    report = None
    if spec.negatives is not None:
        positives = pd.concat(frames, ignore_index=True)
        neg_frame, report = _negatives(spec, genome, resolved, layout, positives, excluded, contig_split, pools,
                                       pool_of_split, label_of[NEGATIVE_CLASS], progress)
        frames.append(neg_frame)
    rows = pd.concat(frames, ignore_index=True)

    if spec.split.method == "chromosome":
        split = rows["contig"].map(contig_split).to_numpy(object)
        clusters = None
    else:
        cluster = overlap_clusters(rows["flat"].to_numpy(), rows["flat"].to_numpy() + (rows["end"] - rows["start"]).to_numpy())
        # classes, or the target's deciles (each overlap cluster goes with its rows' most frequent decile)
        strata = quantile_strata(rows["label"].to_numpy(np.float64)) if schema else rows["label"].to_numpy(np.int64)
        split = random_split(cluster, strata, seed=np.random.SeedSequence([spec.seed, 2]),
                             validation=spec.split.validation_fraction, test=spec.split.test_fraction)
        clusters = {"clusters": int(cluster.max()) + 1 if len(cluster) else 0,
                    "rows_in_shared_clusters": int((np.bincount(cluster)[cluster] > 1).sum())}
    rows["split"] = split
    counts = _counts(rows, class_names) if schema is None else {
        s: {spec.target.name: int((rows["split"] == s).sum())} for s in SPLITS}
    _check_splits(counts, spec, holdouts)
    within = rows["label"].to_numpy() if schema is None else np.zeros(len(rows), dtype=np.int64)  # file order
    order = np.lexsort((np.arange(len(rows)), within,
                        pd.Categorical(rows["split"], categories=list(SPLITS)).codes))
    plan = rows.iloc[order].reset_index(drop=True).assign(genome=str(genome.path))[PLAN_COLUMNS]

    provenance = _provenance(spec, resolved, assembly, class_names, counts, report, holdouts, clusters,
                             {c: len(r) for c, r in given.items()}, schema)
    target = write_plan_config(out_dir, spec.name, plan, schema or class_names, provenance, cache_dir=cache_dir,
                               num_proc=num_proc, progress=progress)
    spec_file = write_spec(out_dir, spec, class_paths, exclude_paths)
    audit_file = None
    if audit and schema is None:  # the audit compares classes; a regression benchmark has none
        from gbhub.builders.audit.pipeline import audit_config

        _, audit_file = audit_config(out_dir, spec.name)
    return CreateResult(target, spec_file, audit_file, counts, report)


def _class_frame(cls: str, label, regions: BedRegions, layout: Layout) -> pd.DataFrame:
    names = regions.name
    usable = (names is not None and len(set(names)) == len(names)
              and not any(n in ("", ".") for n in names))
    ids = names if usable else np.array([f"{cls}_{i}" for i in range(len(regions))], dtype=object)
    contig_index = np.array([layout.index[c] for c in regions.contig], dtype=np.int64)
    return pd.DataFrame({
        "label": label, "id": ids, "region": regions.region, "contig": regions.contig,
        "start": regions.start, "end": regions.end, "strand": regions.strand, "row": regions.line,
        "table": regions.source, "flat": layout.offsets[contig_index] + regions.start,
    })


def _negatives(spec: RegionSpec, genome: Genome, resolved: ResolvedReference, layout: Layout, positives: pd.DataFrame,
               excluded: list[BedRegions], contig_split, pools, pool_of_split, label: int, progress):
    options = spec.negatives
    if options.background not in ("positive-contigs", "genome"):
        raise SpecError(f"--background {options.background!r}: choose positive-contigs or genome")
    lengths = (positives["end"] - positives["start"]).to_numpy(np.int64)
    if spec.split.method == "chromosome":
        pos_pool = positives["contig"].map(lambda c: pool_of_split[contig_split[c]]).to_numpy(np.int64)
        contig_pool = np.array([pool_of_split[contig_split[n]] for n in layout.names], dtype=np.int64)
    else:
        pos_pool = np.zeros(len(positives), dtype=np.int64)
        contig_pool = np.zeros(len(layout.names), dtype=np.int64)
    with_positives = np.zeros((len(pools), len(layout.names)), dtype=bool)
    contig_index = positives["contig"].map(layout.index).to_numpy(np.int64)
    with_positives[pos_pool, contig_index] = True
    pool_contigs = {}
    for pool in pools:
        allowed = contig_pool == pool
        if options.background == "positive-contigs":
            allowed &= with_positives[pool]
        pool_contigs[pool] = np.flatnonzero(allowed)
    # runs of N longer than a window may hold are never drawn from
    allowed_run = int(np.floor(options.max_n_fraction * lengths.min() + 1e-9)) if len(lengths) else 0
    n_s, n_e = n_runs(genome, progress=progress)
    long = (n_e - n_s) > allowed_run
    ex_s = [n_s[long]] + [layout.offsets[[layout.index[c] for c in r.contig]] + r.start for r in excluded]
    ex_e = [n_e[long]] + [layout.offsets[[layout.index[c] for c in r.contig]] + r.end for r in excluded]
    excluded_flat = merge(np.concatenate(ex_s).astype(np.int64), np.concatenate(ex_e).astype(np.int64))
    mask = None
    if options.repeat_tolerance is not None:
        mask = soft_mask(genome, resolved.fasta, progress=progress)
        if len(mask[0]) == 0:
            logger.info("the reference has no soft-masked (lower-case) bases: repeats are not matched")
            mask = None
    where = np.array([f"{t}, line {r} ({g}:{a}-{b})" for t, r, g, a, b in
                      zip(positives["table"], positives["row"], positives["region"], positives["start"], positives["end"])],
                     dtype=object)
    drawn = sample_negatives(
        genome, Positives(positives["flat"].to_numpy(np.int64), lengths, pos_pool, where), pool_contigs, excluded_flat,
        options, seed=spec.seed, soft_mask=mask, pool_names=pools, progress=progress)
    contig = layout.contig_of(drawn.flat)
    record = layout.names[contig]
    region = spell_like(record, positives["contig"].to_numpy(object), positives["region"].to_numpy(object))
    minus_share = float((positives["strand"] == "-").mean()) if len(positives) else 0.0
    strands = np.where(np.random.default_rng([spec.seed, 1]).random(len(drawn.flat)) < minus_share, "-", "+")
    start = drawn.flat - layout.offsets[contig]
    frame = pd.DataFrame({
        "label": label, "id": [f"{NEGATIVE_CLASS}_{i}" for i in range(len(start))], "region": region,
        "contig": record, "start": start, "end": start + drawn.length, "strand": strands.astype(object),
        "row": np.arange(1, len(start) + 1), "table": GENERATED_TABLE, "flat": drawn.flat,
    })
    return frame, drawn.report


def spell_like(records: np.ndarray, contigs: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """The region names of `records` (the reference's contig names) in the given regions' spelling.

    A contig the regions name keeps their spelling (`contigs[i]` spelled `regions[i]`); another contig follows
    their convention when it is one: UCSC (`chr5`, `chrM`) when every region name starts with `chr`, Ensembl
    (`5`, `MT`) when none does. Only chromosome-like names are respelled (no `_` or `.`: scaffolds such as
    `KI270728.1` or `chrUn_KI270728v1` have no counterpart to spell); with a mixed convention, or for those,
    the reference's name is kept. Every spelling resolves to the same contig (`Genome.resolve`).
    """
    spelled = dict(zip(contigs, regions))
    styles = {str(r)[:3].lower() == "chr" for r in set(regions)}
    ucsc = styles.pop() if len(styles) == 1 else None

    def name(record: str) -> str:
        if record in spelled:
            return spelled[record]
        key = canonical_contig(record)
        if ucsc is None or "_" in key or "." in key:
            return record
        if ucsc:
            return "chrM" if key == "MT" else f"chr{key}"
        return key

    return np.array([name(r) for r in records], dtype=object)


def _counts(rows: pd.DataFrame, class_names) -> dict[str, dict[str, int]]:
    table = pd.crosstab(rows["split"], rows["label"])
    return {s: {c: int(table.at[s, i]) if s in table.index and i in table.columns else 0
                for i, c in enumerate(class_names)} for s in SPLITS}


def _check_splits(counts, spec: RegionSpec, holdouts) -> None:
    for split in SPLITS:
        for cls, n in counts[split].items():
            if n:
                continue
            if holdouts is not None:
                where = (f"the {split} contigs ({', '.join(holdouts[split])})" if split != "train"
                         else "the contigs that are not held out")
                fix = "choose other contigs with --split-contigs, or --split random"
            else:
                where, fix = f"the random {split} split", "give more regions or larger --validation/--test fractions"
            if spec.target is not None:  # a regression benchmark: every split needs rows
                raise SplitError(f"no region lies on {where}: every split needs regions; {fix}")
            raise SplitError(f"class {cls!r} has no region on {where}: every split needs every class; {fix}")


# ------------------------------------------------------------------------------------------- provenance


def _provenance(spec: RegionSpec, resolved: ResolvedReference, assembly: str, class_names, counts, report,
                holdouts, clusters, given_counts, schema: RegressionTarget | None = None) -> dict:
    key = spec.reference["key"]
    registry = REFERENCES.get(key)
    split_record = ({"method": "chromosome", "validation": holdouts["validation"], "test": holdouts["test"]}
                    if holdouts is not None else
                    {"method": "random", "validation_fraction": spec.split.validation_fraction,
                     "test_fraction": spec.split.test_fraction, "seed": spec.seed, **clusters,
                     **({"strata": f"target quantiles ({QUANTILE_BINS} bins)"} if schema else {})})
    record = {
        "config": spec.name,
        "pretty_name": spec.pretty_name or spec.name,
        "description": describe(spec, assembly, counts, report, split_record, given_counts),
        "classes": list(class_names),
        "class_references": {c: key for c in class_names},
        "references": {key: {
            "url": registry.url if registry else "local FASTA (identified by its sha256)",
            "assembly": assembly,
            "kind": "genome",
            "sha256": resolved.sha256,
            "source": resolved.source,
        }},
        "citations": [spec.citation] if spec.citation else [],
        "license": spec.license,
        "homepage": None,
        "upstream": None,
        "package_version": __version__,
        "validation": None,
        "parent": None,
        "variant_note": None,
        "splits": {s: {"num_examples": sum(counts[s].values())} for s in SPLITS},
        "created": {
            "spec": spec_path(".", spec.name).as_posix(),
            "inputs": {c: {"source": f.source, "sha256": f.sha256, "regions": given_counts[c]}
                       for c, f in spec.classes.items()},
            "exclude": [{"source": f.source, "sha256": f.sha256} for f in spec.exclude],
            "width": spec.width,
            "summit_column": spec.summit_column,
            "split": split_record,
            "class_balance": counts,
            "negatives": report,
        },
    }
    if schema is not None:  # the regression contract: `target` after `classes`, no class references
        record = {k: v for k, v in record.items() if k != "class_references"}
        ordered = {}
        for k, v in record.items():
            ordered[k] = v
            if k == "classes":
                ordered["target"] = schema.to_json()
                ordered["class_references"] = {}
        record = ordered
        record["created"]["target"] = {"name": spec.target.name, "column": spec.target.column}
    return record


def describe(spec: RegionSpec, assembly: str, counts, report, split_record, given_counts) -> str:
    """The card's description of a made benchmark: inputs, negatives, splits and the achieved match (Q-Q)."""
    key = spec.reference["key"]
    parts = [spec.description.strip()] if spec.description.strip() else []
    sized = (f", each resized to {spec.width} bp around its "
             f"{'summit (column ' + str(spec.summit_column) + ')' if spec.summit_column else 'centre'}"
             if spec.width else "")
    inputs = "; ".join(f"`{c}`: {given_counts[c]:,} regions of `{f.source}`" for c, f in spec.classes.items())
    parts.append(f"Made with `gbhub create` from BED regions ({inputs}){sized}, on the reference `{key}` "
                 f"({assembly}, sha256 `{spec.reference['sha256'][:16]}…`). Seed `{spec.seed}`.")
    if spec.target is not None:
        parts.append(f"**Target**: `label` is the float32 `{spec.target.name}`, read from column {spec.target.column} "
                     "of each region's BED line; no negatives are generated (a regression benchmark).")
    if report is not None:
        options = spec.negatives
        where = ("the contigs holding positives of the same split" if options.background == "positive-contigs"
                 else "every contig of the same split")
        excluded = ", ".join(f"`{f.source}`" for f in spec.exclude)
        matched = f"GC content within ±{report['tolerance']['gc']:g}"
        if report["tolerance"]["repeat"] is not None:
            matched += f" and soft-masked repeat fraction within ±{report['tolerance']['repeat']:g}"
        elif report["soft_masked_reference"] is False:
            matched += " (the reference is not soft-masked, so repeats are not matched)"
        widened = sum(report["widened"].values())
        if widened:
            matched += (f"; {widened:,} of them ({widened / max(report['negatives'], 1):.1%}) come from neighbouring "
                        f"bins, within GC ±{report['achieved_tolerance']['gc']:g}, where the background had too few "
                        "windows in the positive's own bin")
        parts.append(
            f"**Negatives** (`{NEGATIVE_CLASS}`): {report['negatives']:,} background windows, {options.ratio} per "
            f"positive, drawn from {where}, never within {options.margin:,} bp of a positive"
            f"{', nor in ' + excluded if excluded else ''}, "
            f"{'with no N' if not options.max_n_fraction else f'with at most {options.max_n_fraction:.1%} N'}; matched "
            f"to the positives on exact length and {matched}. Q-Q of positives vs negatives, all splits "
            "(rows: quantiles; last row: the Kolmogorov-Smirnov statistic):\n\n" + qq_table(report))
    if split_record["method"] == "chromosome":
        parts.append(f"**Splits**: whole contigs held out, so no contig and no overlapping pair of regions is in "
                     f"two splits: validation {', '.join(split_record['validation'])}; test "
                     f"{', '.join(split_record['test'])}; every other contig is train. These splits replace the "
                     "upstream convention described under *Splits* above.")
    else:
        strata = "on the target's deciles" if spec.target is not None else "by class"
        parts.append(f"**Splits**: random, stratified {strata}: {split_record['test_fraction']:.0%} test, "
                     f"{split_record['validation_fraction']:.0%} validation, the rest train (seed `{spec.seed}`); "
                     f"overlapping regions are kept in one split ({split_record['rows_in_shared_clusters']:,} rows "
                     "overlap another). These splits replace the upstream convention described under *Splits* above.")
    parts.append(f"Rebuild it from the BED files byte for byte: `gbhub build --spec "
                 f"{spec_path('.', spec.name).as_posix()} --reference {key}=FASTA --out DIR`.")
    return "\n\n".join(parts)


def qq_table(report: dict) -> str:
    """Markdown table of the positives' and negatives' quantiles of each matched feature."""
    data = report["all"]
    features = [f for f in ("gc", "repeat", "length") if f in data]
    titles = {"gc": "GC", "repeat": "repeat", "length": "length (bp)"}
    header = "| Quantile | " + " | ".join(f"{titles[f]} pos. | {titles[f]} neg." for f in features) + " |"
    lines = [header, "|---:|" + "---:|" * (2 * len(features))]

    def cell(feature, value):
        return f"{value:,.0f}" if feature == "length" else f"{value:.3f}"

    for i, q in enumerate(report["quantiles"]):
        cells = []
        for f in features:
            pos, neg = data[f]["positive"], data[f]["negative"]
            cells += [cell(f, pos[i]) if pos else "–", cell(f, neg[i]) if neg else "–"]
        lines.append(f"| {q:g} | " + " | ".join(cells) + " |")
    lines.append("| KS | " + " | ".join(f"{data[f]['ks']:.3f} | " for f in features) + "|")
    return "\n".join(lines)


__all__ = ["CreateResult", "create_benchmark", "build_from_spec", "BedError", "SpecError", "SplitError"]
