"""`gbhub audit` end to end on the built-in synthetic benchmark: reports, card, variants, determinism."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from gbhub.builders.assemblies import canonical_contig
from gbhub.cli import main


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".parquet", ".json")}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub")
    assert main(["audit", "synthetic", "--variants", "--out", str(out), "--no-progress"]) == 0
    return out


def test_reports_and_card(audited):
    report = json.loads((audited / "audit" / "synthetic.json").read_text())
    assert report["schema_version"] == 1 and report["parent"] is None
    assert {"duplicates", "overlap", "near_duplicates", "shortcuts", "contigs", "rows"} <= set(report)
    assert report["variants"] == {"leakfree": {"config": "synthetic_leakfree"},
                                  "chromsplit": {"config": "synthetic_chromsplit"}}
    assert report["rows"] == {"train": {"negative": 630, "positive": 630},
                              "validation": {"negative": 70, "positive": 70},
                              "test": {"negative": 200, "positive": 200}}
    # the synthetic windows never repeat or overlap; the planted motif is what 3-mers pick up
    assert report["overlap"]["pairs"]["test_vs_train_validation"]["overlapping"] == 0
    assert report["duplicates"]["across_splits"]["test_vs_train_validation"]["exact"] == 0
    assert report["shortcuts"]["features"]["length"]["flag"] == "pass"
    card = (audited / "README.md").read_text()
    assert card.count("Audited by `gbhub audit`") == 3
    assert "has not been audited" not in card
    assert "- [`synthetic_leakfree`](#synthetic_leakfree) drops the leaking rows counted above." in card
    assert "> Variant of [`synthetic`](#synthetic). Chromosome-held-out" in card


def test_variants(audited):
    for kind in ("leakfree", "chromsplit"):
        prov = json.loads((audited / "provenance" / f"synthetic_{kind}.json").read_text())
        assert prov["parent"] == "synthetic" and prov["variant_note"]
        assert json.loads((audited / "audit" / f"synthetic_{kind}.json").read_text())["parent"] == "synthetic"
    leakfree = sum(pq.read_metadata(p).num_rows for p in (audited / "synthetic_leakfree").glob("*.parquet"))
    assert leakfree == 1800  # nothing leaks, so every row is kept
    splits = {}
    for split in ("train", "validation", "test"):
        table = pq.read_table(audited / "synthetic_chromsplit" / f"{split}-00000-of-00001.parquet")
        splits[split] = {canonical_contig(r) for r in table.column("region").to_pylist()}
    assert splits == {"train": {"1"}, "validation": {"MT"}, "test": {"2"}}


def test_rerun_is_deterministic_and_leaves_the_parent_alone(audited, capsys):
    before = _digests(audited)
    assert main(["audit", "synthetic", "--variants", "--out", str(audited), "--no-progress"]) == 0
    assert _digests(audited) == before
    assert "audited synthetic_chromsplit" in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    assert main(["audit", "no_such_benchmark", "--out", str(tmp_path)]) == 2
    assert "unknown benchmark 'no_such_benchmark'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audit", "--out", str(tmp_path)])
    assert main(["audit", "synthetic", "--out", str(tmp_path), "--parts", "overlap", "--threshold", "0"]) == 2
    assert "threshold" in capsys.readouterr().err


def test_json_output_is_only_json(tmp_path, capsys):
    out = tmp_path / "hub"
    assert main(["audit", "synthetic", "--out", str(out), "--parts", "overlap", "contigs", "--json",
                 "--no-progress", "--cache-dir", str(tmp_path / "cache")]) == 0
    captured = capsys.readouterr()
    reports = json.loads(captured.out)
    assert set(reports) == {"synthetic"} and reports["synthetic"]["overlap"]["pairs"]
    assert "audited synthetic" in captured.err and "card -> " in captured.err
