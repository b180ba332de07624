"""`xpresso_human` built offline from `--coordinates` files of the datapack's shape, over a hand-made genome."""

from __future__ import annotations

import gzip
import json

import datasets
import numpy as np
import pandas as pd
import pytest

from gbhub.builders import genome as genome_module
from gbhub.builders import xpresso
from gbhub.builders.build import build_benchmark
from gbhub.builders.registry import get_benchmark
from gbhub.builders.tss import GeneTableError
from gbhub.hub_cards.dataset_card import write_dataset_card

_RC = str.maketrans("ACGT", "TGCA")
CONTIG = 24_000
# gene id, contig, TSS (0-based base), strand, EXPRESSION (median RPKM), gene name
GENES = [
    ("ENSG01", "1", 10_500, "+", 12.0, "AAA1"),
    ("ENSG02", "1", 12_000, "-", 0.0, "BBB2"),
    ("ENSG03", "X", 11_000, "+", 3.5, "CCC3"),
    ("ENSG04", "X", 13_000, "-", 150.0, "DDD4"),
    ("ENSG05", "1", 11_111, "+", 7.0, "HIST1H2BK"),  # histone: masked
    ("ENSG06", "Y", 11_000, "+", 9.0, "EEE6"),  # chrY: masked
    ("ENSG07", "X", 10_200, "-", 1.0, "FFF7"),
] + [(f"ENSG{k:02d}", "1X"[k % 2], 10_100 + 450 * (k - 8), "+-"[k % 3 == 0], 2.0 * k, f"G{k}") for k in range(8, 15)]
KEPT = sorted(g[0] for g in GENES if g[0] not in ("ENSG05", "ENSG06"))


def _datapack(tmp_path):
    """The hand-made genome (FASTA, Ensembl names) and a folder holding the three datapack files of Xpresso's shape."""
    rng = np.random.default_rng(7)
    genome = {name: "".join(rng.choice(list("ACGT"), size=CONTIG)) for name in ("1", "X", "Y")}
    fasta = tmp_path / "genome.fa"
    fasta.write_text("".join(f">{n} dna:chromosome\n{s}\n" for n, s in genome.items()))
    pack = tmp_path / "pack"
    pack.mkdir()
    rows, bed, names = [], [], []
    for k, (gene, contig, tss, strand, expression, name) in enumerate(GENES):
        # the datapack's window: TSS +/- 10 kb, sequence[10000] the TSS base on the gene's strand (bedtools -s)
        start = tss - xpresso.FLANK if strand == "+" else tss + 1 - xpresso.FLANK
        window = genome[contig][start:start + 2 * xpresso.FLANK]
        promoter = window if strand == "+" else window.translate(_RC)[::-1]
        assert promoter[xpresso.FLANK] == (genome[contig][tss] if strand == "+" else genome[contig][tss].translate(_RC))
        features = [100 + k, 900 + k, 5000 + k, 700 + k, 0.5, 0.55, 0.45, 2.5]
        rows.append("\t".join(map(str, [gene, expression, *features, promoter])))
        bed.append(f"{contig}\t{start}\t{start + 2 * xpresso.FLANK}\t{gene}\t0\t{strand}")
        names.append(f"{gene}\t{name}")
    header = "\t".join(["ENSID", "EXPRESSION", *xpresso.FEATURES, "PROMOTER"])
    (pack / xpresso.INPUT).write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode(), mtime=0))
    (pack / xpresso.BED).write_bytes(gzip.compress(("\n".join(bed) + "\n").encode(), mtime=0))
    (pack / xpresso.NAMES).write_text("\n".join(names) + "\n")
    return fasta, pack


def test_xpresso_builds_offline_from_coordinates_with_xpressos_windows_split_and_labels(tmp_path, monkeypatch):
    monkeypatch.setattr(xpresso, "TEST_COUNT", 2)
    monkeypatch.setitem(genome_module.KNOWN_LENGTHS, "GRCh38", {})  # the hand-made contigs are not GRCh38's lengths
    fasta, pack = _datapack(tmp_path)
    out = tmp_path / "hub"
    build_benchmark("xpresso_human", out, coordinates_dir=pack, references={"GRCh38_ensembl97": fasta},
                    cache_dir=tmp_path / "cache", progress=False)
    write_dataset_card(out)
    ds = datasets.load_dataset(str(out), "xpresso_human")
    rows = pd.concat([ds[s].to_pandas().assign(split=s) for s in ("train", "validation", "test")]).set_index("id")
    assert sorted(rows.index) == KEPT  # histone and chrY genes masked
    # Xpresso's split: pandas sample(random_state=1) of the kept genes (in file order), the last TEST_COUNT are test
    order = pd.Series(0, index=KEPT).sample(len(KEPT), replace=False, random_state=1).index
    assert sorted(rows.index[rows["split"] == "test"]) == sorted(order[-2:])
    table = pd.read_csv(pack / xpresso.INPUT, sep="\t").set_index("ENSID")
    for gene, row in rows.iterrows():
        # our TSS window is exactly Xpresso's PROMOTER[3000:13500], on both strands
        assert row["sequence"] == table.loc[gene, "PROMOTER"][3000:13500], gene
        assert row["label"] == pytest.approx(np.log10(table.loc[gene, "EXPRESSION"] + 0.1), abs=1e-6)
        assert row["cdslen"] == pytest.approx(np.log10(table.loc[gene, "CDSLEN"] + 0.1), abs=1e-5)
        assert row["utr5gc"] == pytest.approx(0.5)
    assert ds["train"].features["label"] == datasets.Value("float32")
    prov = json.loads((out / "provenance" / "xpresso_human.json").read_text())
    files = prov["sources"]["files"]
    assert set(files) == {xpresso.INPUT, xpresso.BED, xpresso.NAMES}
    assert files[xpresso.BED]["url"] == xpresso.DATAPACK + xpresso.BED and files[xpresso.BED]["source"] == "local file"
    assert prov["sources"]["verified"]["masked_histone_genes"] == 1 and prov["sources"]["verified"]["test_genes"] == 2
    card = (out / "README.md").read_text()
    assert xpresso.DATAPACK + xpresso.INPUT in card and "not pinned (recorded at build)" in card
    assert "masked: 1 histone genes" in card and "agarwal2020predicting" in card
    assert "sampled windows (" in card and "equal the source's own sequences" in card  # checked at build


def test_xpresso_refuses_a_window_that_is_not_20_kb_naming_the_row(tmp_path):
    _, pack = _datapack(tmp_path)
    bed = gzip.decompress((pack / xpresso.BED).read_bytes()).decode().splitlines()
    contig, start, end, *rest = bed[2].split("\t")
    bed[2] = "\t".join([contig, start, str(int(end) - 1), *rest])
    (pack / xpresso.BED).write_bytes(gzip.compress(("\n".join(bed) + "\n").encode()))
    with pytest.raises(GeneTableError, match=r"row 3 of hg38_promoters_cage_corrected.bed.gz: the window of ENSG03 "
                                             r"is 19999 bp, expected 20,000"):
        xpresso.load_genes(pack)


def test_xpresso_is_declared_with_its_datapack_urls():
    spec = get_benchmark("xpresso_human")
    assert spec.window == (7_000, 3_500) and spec.target.side_features == tuple(f.lower() for f in xpresso.FEATURES)
    assert [s.url for s in spec.sources] == [xpresso.DATAPACK + s.name for s in spec.sources]
    assert spec.license == "mit" and spec.reference == "GRCh38_ensembl97"


@pytest.mark.parametrize("edit, message", [
    (lambda f: f[:5], r"row 3 of hg38_promoters_cage_corrected.bed.gz: strand nan is not \+ or -"),
    (lambda f: [f[0], "abc", *f[2:]], r"row 3 of hg38_promoters_cage_corrected.bed.gz: start 'abc' is not a whole number"),
    (lambda f: [*f[:5], "."], r"row 3 of hg38_promoters_cage_corrected.bed.gz: strand '.' is not \+ or -"),
])
def test_a_malformed_bed_line_is_one_error_naming_the_row(tmp_path, edit, message):
    _, pack = _datapack(tmp_path)
    bed = gzip.decompress((pack / xpresso.BED).read_bytes()).decode().splitlines()
    bed[2] = "\t".join(edit(bed[2].split("\t")))
    (pack / xpresso.BED).write_bytes(gzip.compress(("\n".join(bed) + "\n").encode()))
    with pytest.raises(GeneTableError, match=message):
        xpresso.load_genes(pack)


def test_a_bed_with_too_few_columns_is_one_error(tmp_path):
    _, pack = _datapack(tmp_path)
    bed = gzip.decompress((pack / xpresso.BED).read_bytes()).decode().splitlines()
    (pack / xpresso.BED).write_bytes(gzip.compress(("\n".join("\t".join(b.split("\t")[:5]) for b in bed) + "\n").encode()))
    with pytest.raises(GeneTableError, match="is not Xpresso's 6-column tab-separated BED"):
        xpresso.load_genes(pack)


def test_a_reference_that_is_not_the_datapacks_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(xpresso, "TEST_COUNT", 2)
    monkeypatch.setitem(genome_module.KNOWN_LENGTHS, "GRCh38", {})
    fasta, pack = _datapack(tmp_path)
    text = fasta.read_text().splitlines()
    text[3] = text[3][:15_000] + text[3][15_000:].translate(_RC)  # contig X differs past 15 kb
    (tmp_path / "other.fa").write_text("\n".join(text) + "\n")
    with pytest.raises(GeneTableError, match=r"sampled windows read from reference 'GRCh38_ensembl97' differ from the "
                                             r"source's own sequences \(first: gene 'ENSG"):
        build_benchmark("xpresso_human", tmp_path / "hub", coordinates_dir=pack, cache_dir=tmp_path / "cache",
                        references={"GRCh38_ensembl97": tmp_path / "other.fa"}, progress=False)
    assert not (tmp_path / "hub" / "xpresso_human").exists()
