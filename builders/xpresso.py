"""The Xpresso datapack (Agarwal & Shendure 2020) read into gene tables: TSS, median expression, 8 half-life features.

Xpresso's human set is built from three files of its datapack (`DATAPACK`, the folder its README's `wget` fetches):

- `Roadmap_FantomAnnotations.InputData.pM10Kb.txt.gz`: one gene per row, tab-separated: `ENSID`, `EXPRESSION`
  (median RPKM over the 57 Roadmap epigenomes), the 8 mRNA half-life features `UTR5LEN, CDSLEN, INTRONLEN,
  UTR3LEN, UTR5GC, CDSGC, UTR3GC, ORFEXONDENSITY`, and `PROMOTER` (the 20 kb around the TSS, on the gene's strand);
- `hg38_promoters_cage_corrected.bed.gz`: the 20 kb window of each gene on hg38 (contig, start, end, `ENSID`,
  score, strand), the TSS at its centre (FANTOM5 CAGE peak, else the Ensembl 90 TSS);
- `EnsemblID2GeneName.txt`: Ensembl gene id -> gene name, for the histone mask (`grep HIST`).

As Xpresso's `setup_training_files.py` does, histone and chrY genes are masked, `EXPRESSION` and the four lengths and
`ORFEXONDENSITY` become `log10(x + 0.1)`, the genes are shuffled with pandas' `sample(random_state=1)` and the last
1,000 are the test split (Xpresso's train and validation genes are our upstream train). Targets and features are
not standardised (models standardise side features with the training statistics). Windows: 7,000 bp upstream and
3,500 bp from the TSS on (Xpresso's `PROMOTER[3000:13500]`), read from GRCh38 by the shared engine.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from gbhub.builders.download import sha256_file as file_sha256
from gbhub.builders.hub_layout import RegressionTarget
from gbhub.builders.sources import SourceFile
from gbhub.builders.tss import GeneTableError, GeneTables

DATAPACK = "https://krishna.gs.washington.edu/content/members/vagar/Xpresso/data/datasets/"
INPUT = "Roadmap_FantomAnnotations.InputData.pM10Kb.txt.gz"
BED = "hg38_promoters_cage_corrected.bed.gz"
NAMES = "EnsemblID2GeneName.txt"
SOURCES = (
    SourceFile(INPUT, DATAPACK + INPUT, None, "genes: median expression, 8 half-life features, 20 kb promoter"),
    SourceFile(BED, DATAPACK + BED, None, "the 20 kb window of each gene on hg38, TSS at its centre"),
    SourceFile(NAMES, DATAPACK + NAMES, None, "Ensembl gene id -> gene name (histone mask)"),
)
FEATURES = ("UTR5LEN", "CDSLEN", "INTRONLEN", "UTR3LEN", "UTR5GC", "CDSGC", "UTR3GC", "ORFEXONDENSITY")
LOG_COLUMNS = ("EXPRESSION", "UTR5LEN", "CDSLEN", "INTRONLEN", "UTR3LEN", "ORFEXONDENSITY")  # log10(x + 0.1)
FLANK = 10_000  # bp on each side of the TSS in the datapack's windows
UPSTREAM, DOWNSTREAM = 7_000, 3_500
TEST_COUNT = 1_000  # Xpresso's `-t 1000`: the last 1,000 shuffled genes
SPLIT_SEED = 1  # Xpresso's `table.sample(..., random_state=1)`
SCHEMA = RegressionTarget(
    targets=("expression",),
    side_features=tuple(f.lower() for f in FEATURES),
    description="log10(median RPKM + 0.1) over the 57 Roadmap epigenomes (Xpresso's label, not standardised); side "
                "features: the 8 mRNA half-life features, lengths and ORF exon density as log10(x + 0.1)",
)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    except (EOFError, OSError, zlib.error, UnicodeDecodeError) as err:
        raise GeneTableError(f"{path} is truncated or corrupt ({err}): download it again from {DATAPACK}") from err


def load_genes(folder: Path) -> GeneTables:
    """The Xpresso human genes of the datapack files in `folder`, split as Xpresso splits them.

    Raises:
        GeneTableError: a missing column, a window that is not 20 kb, a gene without a window, a non-finite
            value, naming the file and row.
    """
    folder = Path(folder)
    try:
        text = _read_text(folder / INPUT)  # decompressed once: the PROMOTER sample below reads it again
        table = pd.read_csv(io.StringIO(text), sep="\t", dtype={"ENSID": str},
                            usecols=lambda c: c != "PROMOTER")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise GeneTableError(f"{INPUT} is not Xpresso's tab-separated gene table ({err})") from err
    missing = [c for c in ("ENSID", "EXPRESSION", *FEATURES) if c not in table.columns]
    if missing:
        raise GeneTableError(f"{INPUT} has columns {', '.join(map(str, table.columns))}; expected ENSID, EXPRESSION, "
                             f"{', '.join(FEATURES)}, PROMOTER (missing: {', '.join(missing)})")
    table["row"] = np.arange(1, len(table) + 1)
    values = table[["EXPRESSION", *FEATURES]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise GeneTableError(f"row {i + 1} of {INPUT}: gene {table['ENSID'].iloc[i]!r} has a value that is not a "
                             "finite number; fix or re-download the table")
    table[["EXPRESSION", *FEATURES]] = values
    try:
        bed = pd.read_csv(io.StringIO(_read_text(folder / BED)), sep="\t", header=None, dtype={0: str, 3: str},
                          usecols=range(6), names=["region", "start", "end", "ENSID", "score", "strand"])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise GeneTableError(f"{BED} is not Xpresso's 6-column tab-separated BED of TSS windows ({err}); "
                             f"re-download it from {DATAPACK}") from err
    bed["row"] = np.arange(1, len(bed) + 1)
    for column in ("start", "end"):
        numbers = pd.to_numeric(bed[column], errors="coerce")
        bad = numbers.isna() | (numbers < 0) | (numbers != numbers.round())
        if bad.any():
            row = bed[bad].iloc[0]
            raise GeneTableError(f"row {row['row']} of {BED}: {column} {row[column]!r} is not a whole number >= 0; "
                                 f"fix the line or re-download the file from {DATAPACK}")
        bed[column] = numbers.astype(np.int64)
    if not bed["strand"].isin(["+", "-"]).all():
        row = bed[~bed["strand"].isin(["+", "-"])].iloc[0]
        raise GeneTableError(f"row {row['row']} of {BED}: strand {row['strand']!r} is not + or -; fix the line or "
                             f"re-download the file from {DATAPACK}")
    width = bed["end"] - bed["start"]
    if (width != 2 * FLANK).any():
        row = bed[width != 2 * FLANK].iloc[0]
        raise GeneTableError(f"row {row['row']} of {BED}: the window of {row['ENSID']} is {row['end'] - row['start']} "
                             f"bp, expected {2 * FLANK:,} (the TSS +/- {FLANK:,} bp)")
    bed = bed.drop_duplicates("ENSID", keep="last")  # Xpresso's readBed keeps a gene's last line
    names = pd.read_csv(io.StringIO(_read_text(folder / NAMES)), sep="\t", header=None, dtype=str,
                        usecols=[0, 1], names=["ENSID", "name"])
    histone = set(names.loc[names["name"].str.contains("HIST", na=False), "ENSID"])
    genes = table.merge(bed[["ENSID", "region", "start", "end", "strand"]], on="ENSID", how="left")
    lost = genes["region"].isna()
    if lost.any():
        row = genes[lost].iloc[0]
        raise GeneTableError(f"row {row['row']} of {INPUT}: gene {row['ENSID']} has no window in {BED}; the two files "
                             "must come from the same datapack")
    chr_y = genes["region"].astype(str).str.removeprefix("chr").isin(["Y"])
    masked_histone = genes["ENSID"].isin(histone)
    kept = genes[~chr_y & ~masked_histone].set_index("ENSID")
    kept = kept.sample(len(kept), replace=False, random_state=SPLIT_SEED)  # Xpresso's order (pandas, seed 1)
    for column in LOG_COLUMNS:
        kept[column] = np.log10(kept[column] + 0.1)
    minus = kept["strand"] == "-"
    # The datapack's window [start, end) is read on the gene's strand with the TSS base at index FLANK.
    kept["tss"] = np.where(minus, kept["end"] - 1 - FLANK, kept["start"] + FLANK).astype(np.int64)
    frame = pd.DataFrame({
        "id": kept.index.astype(str), "region": kept["region"].astype(str).to_numpy(), "tss": kept["tss"].to_numpy(),
        "strand": kept["strand"].to_numpy(), "expression": kept["EXPRESSION"].to_numpy(),
        **{f.lower(): kept[f].to_numpy() for f in FEATURES}, "row": kept["row"].to_numpy(),
    })
    test_count = min(TEST_COUNT, len(frame) // 2)
    tables = {"train": frame.iloc[: len(frame) - test_count].reset_index(drop=True),
              "test": frame.iloc[len(frame) - test_count:].reset_index(drop=True)}
    digests = {name: file_sha256(folder / name) for name in (INPUT, BED, NAMES)}
    checks = [
        f"{len(table):,} genes in `{INPUT}`; every one has a window in `{BED}`, each {2 * FLANK:,} bp (TSS +/- "
        f"{FLANK:,} bp) and every expression and half-life value is a finite number",
        f"masked: {int(masked_histone.sum()):,} histone genes (names holding HIST in `{NAMES}`) and "
        f"{int(chr_y.sum()):,} chrY genes; {len(frame):,} kept",
        f"split as Xpresso's `setup_training_files.py -t 1000 -v 1000`: pandas `sample(random_state={SPLIT_SEED})` of "
        f"the kept genes, the last {test_count:,} are test (its train and validation genes are our upstream train)",
        "label log10(EXPRESSION + 0.1); lengths and ORF exon density log10(x + 0.1), as Xpresso (not standardised)",
    ]
    verified = {"kind": "Xpresso datapack", "checks": checks, "genes_in_table": int(len(table)),
                "masked_histone_genes": int(masked_histone.sum()), "masked_chrY_genes": int(chr_y.sum()),
                "genes_kept": int(len(frame)), "test_genes": int(test_count)}
    return GeneTables(tables, {"train": INPUT, "test": INPUT}, digests, verified,
                      expected_windows=_promoter_sample(text, frame))


def _promoter_sample(text: str, frame: pd.DataFrame, per_strand: int = 25) -> dict[str, str]:
    """The datapack's own sequence of the first `per_strand` kept genes on each strand (Xpresso's order), cut to
    our window: `PROMOTER[FLANK - UPSTREAM : FLANK + DOWNSTREAM]` (the build checks the reference against them)."""
    picked = set(frame.groupby("strand", sort=True).head(per_strand)["id"])
    out = {}
    chunks = pd.read_csv(io.StringIO(text), sep="\t", dtype={"ENSID": str},
                         usecols=["ENSID", "PROMOTER"], chunksize=2_000)
    for chunk in chunks:
        for gene, promoter in zip(chunk["ENSID"], chunk["PROMOTER"]):
            if gene in picked and isinstance(promoter, str) and len(promoter) == 2 * FLANK:
                out[gene] = promoter[FLANK - UPSTREAM: FLANK + DOWNSTREAM]
    return out
