"""`gbhub audit` on any dataset: plain files, FASTA, a Hub-layout folder without provenance, a Hub id (offline)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from gbhub.builders.audit.sources import load_files
from gbhub.builders.hub_layout import write_hub_folder
from gbhub.cli import main

FAST = ["--no-progress", "--bootstrap", "20"]


@pytest.fixture(scope="module")
def table():
    """400 rows of random DNA: positives GC-rich, one planted test-train duplicate pair, a split column."""
    rng = np.random.default_rng(31)
    rows = []
    for i in range(400):
        label = i % 2
        gc = 0.6 if label else 0.4
        seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=150,
                         p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]).tobytes().decode()
        rows.append({"id": f"s{i}", "sequence": seq, "label": ["neg", "pos"][label],
                     "split": "test" if i % 8 >= 6 else "train"})
    rows[7]["sequence"] = rows[0]["sequence"].lower()  # a test positive repeating a train negative (case ignored)
    return pd.DataFrame(rows)


def _report(out, name):
    return json.loads((out / "audit" / f"{name}.json").read_text())


def test_plain_parquet_needs_no_reference(table, tmp_path, capsys):
    path = tmp_path / "mydata.parquet"
    table.to_parquet(path)
    out = tmp_path / "out"
    assert main(["audit", str(path), "--out", str(out), *FAST]) == 0
    report = _report(out, "mydata")
    assert report["rows"] == {"train": {"neg": 150, "pos": 150}, "validation": {"neg": 0, "pos": 0},
                              "test": {"neg": 50, "pos": 50}}
    assert report["inputs"]["coordinates"]["status"] == "absent" and report["split_note"] is None
    assert report["duplicates"]["across_splits"]["test_vs_train_validation"]["exact"] == 1
    assert report["duplicates"]["across_splits"]["test_vs_train_validation"]["label_conflicts"] == 1
    assert report["overlap"] == {"applicable": False,
                                 "reason": "needs genomic coordinates: no row names a region (contig or transcript)"}
    probes = report["shortcuts"]["probes"]
    assert probes["gc"]["flag"] == "fail" and probes["genomic_bin"]["applicable"] is False
    document = (out / "audit" / "mydata.md").read_text()
    assert "## Shortcuts" in document and "![AUROC of every probe](../images/mydata_audit_probes.png)" in document
    assert "card not re-rendered" not in capsys.readouterr().out  # a file has no card
    assert not (out / "README.md").exists()


def test_csv_without_split_column_is_held_out(table, tmp_path, capsys):
    path = tmp_path / "pairs.csv"
    table.drop(columns=["split", "id"]).rename(columns={"sequence": "seq", "label": "y"}).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["audit", str(path), "--out", str(out), "--sequence-column", "seq", "--label-column", "y",
                 "--holdout", "0.25", "--parts", "duplicates", "--no-report", *FAST]) == 0
    report = _report(out, "pairs")
    assert report["rows"]["test"] == {"neg": 50, "pos": 50} and report["rows"]["train"] == {"neg": 150, "pos": 150}
    assert report["split_note"] == ("no 'split' column: a stratified 25% of each class (seed 42) was held out as test "
                                    "by the audit, the rest is train")
    assert main(["audit", str(path), "--out", str(out), *FAST]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"gbhub audit: error: {path} has no 'sequence' column (columns: seq, y); name the right ones with "
        "--sequence-column / --label-column")


def test_fasta_one_class_per_file_and_labels_in_headers(table, tmp_path):
    files = []
    for label in ("neg", "pos"):
        rows = table[table["label"] == label]
        files.append(tmp_path / f"{label}.fa")
        files[-1].write_text("".join(f">{r.id}\n{r.sequence[:70]}\n{r.sequence[70:]}\n" for r in rows.itertuples()))
    inp = load_files(files)
    assert inp.classes == ("neg", "pos") and inp.config == "neg_pos" and len(inp.frame) == 400
    assert inp.split_note.startswith("no 'split' column: a stratified 30% of each class (seed 42)")
    assert inp.sequences[0].as_py() == table["sequence"].iloc[0].upper()
    single = tmp_path / "all.fa.gz"
    import gzip

    single.write_bytes(gzip.compress("".join(f">{r.id} label={r.label} split={r.split}\n{r.sequence}\n"
                                             for r in table.itertuples()).encode(), mtime=0))
    inp = load_files([single])
    assert inp.rows()["test"] == {"neg": 50, "pos": 50} and inp.split_note is None
    bare = tmp_path / "bare.fa"
    bare.write_text(">x\nACGT\n")
    with pytest.raises(Exception, match="FASTA headers carry no label=CLASS; write headers as `>ID label=CLASS"):
        load_files([bare])


@pytest.fixture(scope="module")
def hub_folder(table, tmp_path_factory):
    """A Hub-layout folder of real-looking data written by the project's own `write_hub_folder` (no provenance,
    placeholder coordinates: region "", start 0, end = length)."""
    folder = tmp_path_factory.mktemp("hubdir")
    splits = {s: {"sequence": list(g["sequence"].str.upper()), "label": list((g["label"] == "pos").astype(int)),
                  "id": list(g["id"])} for s, g in table.groupby("split")}
    splits["validation"] = {"sequence": splits["train"]["sequence"][:20], "label": splits["train"]["label"][:20]}
    write_hub_folder(folder, "human_nontata_promoters", splits, ["negative", "positive"])
    return folder


def test_folder_without_provenance_is_audited_as_it_is(hub_folder, capsys):
    readme = (hub_folder / "README.md").read_bytes()
    # a registered name with Parquet but no provenance in --out: audited, not rebuilt from the network
    assert main(["audit", "human_nontata_promoters", "--out", str(hub_folder), "--no-report", *FAST]) == 0
    out = capsys.readouterr().out
    assert "has no provenance: auditing its Parquet as it is (no rebuild)" in out
    assert "card not re-rendered: human_nontata_promoters" in out
    assert (hub_folder / "README.md").read_bytes() == readme
    report = _report(hub_folder, "human_nontata_promoters")
    assert report["inputs"]["coordinates"] == {"status": "absent", "rows": 0,
                                               "reason": "no row names a region (contig or transcript)"}
    # no false "identical intervals": the placeholder coordinates (region "", start 0, end = length) are not compared
    assert report["overlap"]["applicable"] is False
    assert report["shortcuts"]["probes"]["contig"]["applicable"] is False
    # the validation rows are the first 20 train rows: caught as sequences
    assert report["duplicates"]["across_splits"]["validation_vs_train"]["exact"] == 20
    # the folder itself as the target gives the same figures
    assert main(["audit", str(hub_folder), "--no-report", *FAST]) == 0
    again = _report(hub_folder, "human_nontata_promoters")
    assert again["duplicates"] == report["duplicates"] and again["shortcuts"] == report["shortcuts"]


def test_hub_dataset_route_offline_on_a_local_path(hub_folder, tmp_path):
    out = tmp_path / "out"
    assert main(["audit", str(hub_folder), "--kind", "hub", "--config", "human_nontata_promoters", "--out", str(out),
                 "--name", "from_hub", "--parts", "duplicates", "--no-report", *FAST]) == 0
    report = _report(out, "from_hub")
    assert report["classes"] == ["negative", "positive"]  # from the ClassLabel, as the Hub gives it
    assert report["source"].endswith("(config human_nontata_promoters) via datasets.load_dataset")
    assert report["rows"]["validation"] == {"negative": 10, "positive": 10}  # the first 20 train rows alternate
    assert report["duplicates"]["across_splits"]["validation_vs_train"]["exact"] == 20


def test_reports_are_byte_identical_on_rerun(table, tmp_path):
    path = tmp_path / "same.parquet"
    table.iloc[:160].to_parquet(path)

    def digests(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}

    out = tmp_path / "out"
    assert main(["audit", str(path), "--out", str(out), *FAST]) == 0
    first = digests(out)
    assert main(["audit", str(path), "--out", str(out), *FAST]) == 0
    assert digests(out) == first and len(first) >= 6  # JSON, Markdown and the plots


def _located(n=6):
    """Rows on contig 1 (region, start, end as CSV text cells), two classes, train and test."""
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": ["ACGTACGTAC"] * n,
                         "label": ["a", "b"] * (n // 2), "split": ["train", "train", "train", "train", "test", "test"],
                         "region": ["1"] * n, "start": [str(100 * i) for i in range(n)],
                         "end": [str(100 * i + 10) for i in range(n)]})


@pytest.mark.parametrize("cells, message", [
    ({"start": ""}, "row 3 (id 'r2'): region and end given but start empty"),
    ({"region": ""}, "row 3 (id 'r2'): start and end given but region empty"),
    ({"region": "", "end": ""}, "row 3 (id 'r2'): start given but region and end empty"),
    ({"start": "abc"}, "row 3 (id 'r2'): start 'abc' is not a number"),
    ({"end": "inf"}, "row 3 (id 'r2'): end 'inf' is not a number"),
    ({"start": "10.5"}, "row 3 (id 'r2'): start '10.5' is not a whole number"),
    ({"start": "-5"}, "row 3 (id 'r2'): start '-5' is negative"),
    ({"end": "200"}, "row 3 (id 'r2'): end '200' is not after start '200'"),
])
def test_bad_coordinate_cells_are_refused_naming_row_and_column(cells, message, tmp_path, capsys):
    """An empty start used to become -2**63 and be audited as an interval; 'abc' crashed; nothing checked
    start >= 0 and end > start."""
    table = _located()
    for column, value in cells.items():
        table.loc[2, column] = value
    path = tmp_path / "mine.csv"
    table.to_csv(path, index=False)
    assert main(["audit", str(path), "--out", str(tmp_path / "out"), "--no-report", *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"gbhub audit: error: {path}: {message}"), err
    assert err.endswith("; start must be a whole number >= 0 and end > start, or drop the region/start/end columns "
                        "to audit sequences only"), err


def test_bad_coordinates_in_parquet_and_without_ids(tmp_path):
    table = _located().drop(columns=["id"])
    table["start"], table["end"] = [0.0, 100, np.nan, 300, 400, 500], [10, 110, 210, 310, 410, 510]
    path = tmp_path / "mine.parquet"
    table.to_parquet(path)
    with pytest.raises(Exception, match=r"mine.parquet: row 3: region and end given but start empty"):
        load_files([path])
    table["start"] = pd.array([0, 100, None, 300, 400, 500], dtype="Int64")
    table.to_parquet(path)
    with pytest.raises(Exception, match=r"mine.parquet: row 3: region and end given but start empty"):
        load_files([path])


def test_rows_without_a_locus_leave_all_three_cells_empty(tmp_path):
    """`gbhub locate` leaves region/start/end empty for a sequence it could not place: no coordinates, no error;
    the placeholder of a folder without coordinates (empty region, start 0, end = length) is no locus either."""
    table = _located()
    table.loc[2, ["region", "start", "end"]] = ""
    table.loc[3, ["region", "start", "end"]] = ["", "0", "10"]  # the placeholder: start 0, end = length
    path = tmp_path / "mine.csv"
    table.to_csv(path, index=False)
    inp = load_files([path])
    frame = inp.frame.set_index("id")
    assert frame.loc["r2", ["region", "start", "end"]].tolist() == ["", 0, 10]
    assert frame.loc["r3", ["region", "start", "end"]].tolist() == ["", 0, 10]
    assert frame.loc["r4", ["region", "start", "end"]].tolist() == ["1", 400, 410]
    status, reason, rows = inp.coordinates()
    assert (status, reason, int(rows.sum())) == ("present", "2 rows without a region are left out", 4)
    parquet = tmp_path / "mine.parquet"  # Parquet: None / NaN cells
    table.assign(region=table["region"].replace("", None), start=pd.to_numeric(table["start"]),
                 end=pd.to_numeric(table["end"])).to_parquet(parquet)
    assert load_files([parquet]).frame.set_index("id").loc["r2", ["region", "start", "end"]].tolist() == ["", 0, 10]


def test_unlabelled_rows_of_a_class_label_are_refused(table, tmp_path, capsys):
    """Hub datasets mark unlabelled rows with ClassLabel -1: they used to reach np.bincount (a traceback)."""
    import datasets

    features = datasets.Features({"id": datasets.Value("string"), "sequence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    folder = tmp_path / "hub"
    (folder / "mine").mkdir(parents=True)
    for split, rows in table.groupby("split"):
        labels = (rows["label"] == "pos").to_numpy(np.int64).copy()
        labels[:{"train": 2, "test": 3}[split]] = -1
        datasets.Dataset.from_dict({"id": list(rows["id"]), "sequence": list(rows["sequence"]), "label": labels},
                                   features=features).to_parquet(str(folder / "mine" / f"{split}-00000-of-00001.parquet"))
    for extra in ([], ["--kind", "hub"]):  # the folder, and the datasets.load_dataset route
        assert main(["audit", str(folder), *extra, "--out", str(tmp_path / "out"), "--no-report", *FAST]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]  # the last line: datasets may draw progress bars
        assert err == (f"gbhub audit: error: {folder}{'/mine' if not extra else ''}: 2 rows of split train and 3 rows "
                       "of split test have label -1 (unlabelled): drop them, e.g. ds.filter(lambda r: r['label'] >= 0)"), err
