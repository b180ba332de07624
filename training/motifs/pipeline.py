"""`gbhub motifs RUN`: a trained run's first-layer filters -> PPMs -> MEME, JASPAR matches, logos, card section."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gbhub.builders.hub_layout import DEFAULT_SEED, write_json_atomic
from gbhub.training.motifs.filters import (
    MIN_SITES,
    MotifError,
    activation_ppms,
    consensus,
    enumeration_ppms,
    filter_importance,
    information_content,
)
from gbhub.training.motifs.jaspar import (
    DEFAULT_COLLECTION,
    DEFAULT_RELEASE,
    DEFAULT_TAX_GROUP,
    load_motifs,
    releases,
    tomtom,
)
from gbhub.training.motifs.output import write_logo, write_meme, write_table
from gbhub.training.motifs.summary import MOTIFS_DIR, Q_THRESHOLD, SUMMARY_FILE, model_digest

logger = logging.getLogger(__name__)

METHODS = ("activation", "enumeration")


@dataclass
class MotifOptions:
    """What `gbhub motifs` does (each field is one of its flags).

    Attributes:
        method: `activation` (Basset's sites, default) or `enumeration` (the paper's k-mers).
        split: the dataset split whose sequences are scanned (and that ranks the filters).
        max_sequences: scan a seeded random subset of at most this many sequences (None: all).
        seed: seed of that subset.
        threshold_fraction: Basset's 0.5 in `mean + f * (max - mean)`.
        pseudocount: added to each base count.
        min_sites: filters with fewer sites are dropped.
        top: filters shown (with logos) in the card, the most important first.
        jaspar_release, jaspar_collection, jaspar_tax_group: the database (pyjaspar, offline).
    """

    method: str = "activation"
    split: str = "test"
    max_sequences: int | None = 2000
    seed: int = DEFAULT_SEED
    threshold_fraction: float = 0.5
    pseudocount: float = 0.5
    min_sites: int = MIN_SITES
    top: int = 10
    jaspar_release: str = DEFAULT_RELEASE
    jaspar_collection: str = DEFAULT_COLLECTION
    jaspar_tax_group: str | None = DEFAULT_TAX_GROUP


def load_run_model(run_dir: str | Path):
    """The model of a run folder (any recipe whose model registers with the transformers Auto classes)."""
    from transformers import AutoModelForSequenceClassification

    import gbhub.training.models.cnn  # noqa: F401  (registers the Auto classes)
    import gbhub.training.models.deepenhancer  # noqa: F401

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise MotifError(f"{run_dir} holds no trained model (config.json): pass a run folder of `gbhub train`")
    return AutoModelForSequenceClassification.from_pretrained(run_dir).eval()


def discover(run_dir: str | Path, dataset: str, config: str, options: MotifOptions | None = None, *,
             out: str | Path | None = None, progress: bool = True) -> dict:
    """Read the filters of a run's model as motifs, match them to JASPAR and write the results.

    Writes into `out` (default `RUN/motifs/`): `filters.meme` (filters with at least `min_sites` sites),
    `filters.tsv` (every filter: sites, information, importance, best JASPAR match with p, q and E),
    `logos/filter_NNN.png` (the `top` most important kept filters) and `summary.json`; then renders the
    run's model card again with a motif section (when `out` is the run's own `motifs/`). `progress` shows
    progress bars over the scanned sequences.

    Returns:
        The summary (also in `summary.json`).

    Raises:
        MotifError: a model without a first convolution over one-hot DNA, or bad options.
        DatasetInputError: the dataset or split cannot be loaded.
    """
    import torch

    from gbhub.training import data as tdata
    from gbhub.training import encoding

    options = options or MotifOptions()
    if options.method not in METHODS:
        raise MotifError(f"unknown method {options.method!r}: expected one of {', '.join(METHODS)}")
    if options.jaspar_release not in releases():  # before the model and the data are loaded
        raise MotifError(f"unknown JASPAR release {options.jaspar_release!r}: expected one of {', '.join(releases())}")
    run_dir = Path(run_dir)
    model = load_run_model(run_dir)
    dsd = tdata.load_splits(dataset, config)
    if options.split not in dsd:
        raise MotifError(f"{dataset} [{config}] has no split {options.split!r}: expected one of {', '.join(dsd)}")
    ds = dsd[options.split]
    if options.max_sequences is not None and options.max_sequences < ds.num_rows:
        ds = ds.shuffle(seed=options.seed).select(range(options.max_sequences)).flatten_indices()
    names = tdata.label_names(dsd)
    if [model.config.id2label[i] for i in range(model.config.num_labels)] != names:
        raise MotifError(f"the model's classes {list(model.config.id2label.values())} are not {config}'s {names}: "
                         "pass the dataset the run was trained on")
    table = tdata.arrow_table(ds)
    sequences = table.column("sequence").to_pylist()
    labels = torch.from_numpy(np.array(table.column("label").to_numpy(zero_copy_only=False), dtype=np.int64))

    if options.method == "activation":
        ppms = activation_ppms(model, sequences, threshold_fraction=options.threshold_fraction,
                               pseudocount=options.pseudocount, progress=progress)
    else:
        ppms = enumeration_ppms(model, pseudocount=options.pseudocount)
    width = int(getattr(model.config, "input_length", 0)) or max(len(s) for s in sequences)
    input_ids = torch.from_numpy(encoding.encode(sequences, width).ids).long()  # the model's input width
    importance = filter_importance(model, input_ids, labels, progress=progress)
    information = information_content(ppms.ppms)
    kept = np.flatnonzero(ppms.kept(options.min_sites))
    database = load_motifs(options.jaspar_release, options.jaspar_collection, options.jaspar_tax_group)
    matches = tomtom([ppms.ppms[i] for i in kept], database) if len(kept) else None

    out = Path(out) if out is not None else run_dir / MOTIFS_DIR
    names_of = {int(i): f"filter_{int(i):03d}" for i in range(len(ppms.sites))}
    rows, kept_set = [], set(kept.tolist())
    for i in range(len(ppms.sites)):
        row = {"filter": i, "name": names_of[i], "sites": int(ppms.sites[i]), "kept": i in kept_set,
               "information_bits": float(information[i]), "importance": float(importance[i]),
               "consensus": consensus(ppms.ppms[i]), "threshold": float(ppms.threshold[i])}
        if row["kept"]:
            best = matches.best(int(np.searchsorted(kept, i)))
            row.update({"match_id": best["matrix_id"], "match_name": best["name"], "match_p": best["p_value"],
                        "match_q": best["q_value"], "match_e": best["e_value"], "match_strand": best["strand"]})
        else:
            row.update({"match_id": "", "match_name": "", "match_p": np.nan, "match_q": np.nan, "match_e": np.nan,
                        "match_strand": ""})
        rows.append(row)
    write_meme(out / "filters.meme", {names_of[int(i)]: ppms.ppms[i] for i in kept},
               {names_of[int(i)]: int(ppms.sites[i]) for i in kept})
    write_table(out / "filters.tsv", rows)
    ranked = sorted((r for r in rows if r["kept"]), key=lambda r: -r["importance"])[: options.top]
    for row in ranked:
        logo = out / "logos" / f"{row['name']}.png"
        write_logo(logo, ppms.ppms[row["filter"]], title=f"filter {row['filter']}: {row['match_name']} "
                   f"(q = {row['match_q']:.2g})")
        try:
            row["logo"] = str(logo.relative_to(run_dir))
        except ValueError:
            row["logo"] = str(logo)
    summary = {
        "run": str(run_dir), "dataset": dataset, "config": config, "split": options.split,
        "method": options.method, "threshold_fraction": options.threshold_fraction, "pseudocount": options.pseudocount,
        "min_sites": options.min_sites, "n_sequences": len(sequences), "seed": options.seed,
        "n_filters": len(rows), "n_kept": int(len(kept)),
        "n_matched": int(sum(1 for r in rows if r["kept"] and r["match_q"] < Q_THRESHOLD)),
        "kernel_size": int(ppms.ppms.shape[2]),
        "database": {"release": options.jaspar_release, "collection": options.jaspar_collection,
                     "tax_group": options.jaspar_tax_group, "n_motifs": len(database)},
        "model_sha256": model_digest(run_dir),
        "top": [{k: r[k] for k in ("filter", "name", "sites", "information_bits", "importance", "consensus", "logo",
                                   "match_id", "match_name", "match_p", "match_q", "match_e")} for r in ranked],
    }
    write_json_atomic(out / SUMMARY_FILE, summary, sort_keys=False)
    if out.resolve() == (run_dir / MOTIFS_DIR).resolve() and (run_dir / "metrics.json").is_file():
        from gbhub.training.run import rewrite_card

        rewrite_card(run_dir)
    return summary
