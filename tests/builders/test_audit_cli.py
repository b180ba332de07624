"""`gbhub audit` end to end on the built-in synthetic benchmark: reports, card, variants, determinism."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pyarrow.parquet as pq
import pytest

from gbhub.builders import hub_layout, locks
from gbhub.builders.assemblies import canonical_contig
from gbhub.cli import main


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".parquet", ".json", ".md", ".png")}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub")
    assert main(["audit", "synthetic", "--variants", "--out", str(out), "--no-progress", "--no-report"]) == 0
    assert main(["audit", "synthetic", "--out", str(out), "--no-progress"]) == 0  # the readable report of one
    return out


def test_reports_and_card(audited):
    report = json.loads((audited / "audit" / "synthetic.json").read_text())
    assert report["schema_version"] == 2 and report["parent"] is None
    assert {"duplicates", "overlap", "near_duplicates", "shortcuts", "contigs", "rows"} <= set(report)
    assert report["variants"] == {"leakfree": {"config": "synthetic_leakfree"},
                                  "chromsplit": {"config": "synthetic_chromsplit"}}
    assert report["rows"] == {"train": {"negative": 630, "positive": 630},
                              "validation": {"negative": 70, "positive": 70},
                              "test": {"negative": 200, "positive": 200}}
    # the synthetic windows never repeat or overlap; the planted motif is what 3-mers pick up
    assert report["overlap"]["pairs"]["test_vs_train_validation"]["overlapping"] == 0
    assert report["duplicates"]["across_splits"]["test_vs_train_validation"]["exact"] == 0
    probes = report["shortcuts"]["probes"]
    assert probes["length"]["reason"] == "every train and test row has the same length"
    assert probes["kmer_spectrum"]["flag"] == "fail"  # the planted motif
    assert report["inputs"]["coordinates"] == {"status": "present", "reason": "", "rows": 1800}
    document = (audited / "audit" / "synthetic.md").read_text()
    assert document.startswith("# Audit of `synthetic`")
    for kind in ("probes", "composition", "positions", "similarity", "contigs"):
        assert f"](../images/synthetic_audit_{kind}.png)" in document
        assert (audited / "images" / f"synthetic_audit_{kind}.png").is_file()
    card = (audited / "README.md").read_text()
    assert card.count("Audited by `gbhub audit`") == 3
    assert "has not been audited" not in card
    assert ("- [`synthetic_leakfree`](#synthetic_leakfree) drops the leaking rows counted above (from validation "
            "and test) and the duplicates inside every split.") in card
    assert "> Variant of [`synthetic`](#synthetic). Chromosome-held-out" in card


def test_variants(audited):
    for kind in ("leakfree", "chromsplit"):
        prov = json.loads((audited / "provenance" / f"synthetic_{kind}.json").read_text())
        assert prov["parent"] == "synthetic" and prov["variant_note"]
        variant_report = json.loads((audited / "audit" / f"synthetic_{kind}.json").read_text())
        assert variant_report["parent"] == "synthetic"
        assert variant_report["variant"]["kind"] == kind and variant_report["variant"]["warnings"] == []
    leakfree = sum(pq.read_metadata(p).num_rows for p in (audited / "synthetic_leakfree").glob("*.parquet"))
    assert leakfree == 1800  # nothing leaks, so every row is kept
    splits = {}
    for split in ("train", "validation", "test"):
        table = pq.read_table(audited / "synthetic_chromsplit" / f"{split}-00000-of-00001.parquet")
        splits[split] = {canonical_contig(r) for r in table.column("region").to_pylist()}
    assert splits == {"train": {"1"}, "validation": {"MT"}, "test": {"2"}}


def test_rerun_is_deterministic_and_leaves_the_parent_alone(audited, capsys):
    before = _digests(audited)
    assert main(["audit", "synthetic", "--variants", "--out", str(audited), "--no-progress", "--no-report"]) == 0
    assert _digests(audited) == before
    assert "audited synthetic_chromsplit" in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    with pytest.raises(SystemExit, match="'no_such_benchmark' is not a benchmark .see `gbhub list`., a folder, a file"):
        main(["audit", "no_such_benchmark", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="unknown benchmark 'nope'"):
        main(["audit", "nope", "--kind", "benchmark", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="name a benchmark"):
        main(["audit", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="identity threshold must be in"):
        main(["audit", "synthetic", "--out", str(tmp_path), "--min-identity", "0"])
    with pytest.raises(SystemExit, match="--variants applies to registered benchmarks only"):
        main(["audit", str(tmp_path), "--kind", "folder", "--variants"])
    with pytest.raises(SystemExit, match="--intervals-only applies to registered benchmarks only"):
        main(["audit", str(tmp_path), "--intervals-only"])  # guessed to be a folder: refused, not ignored
    with pytest.raises(SystemExit, match="is not a folder"):
        main(["audit", str(tmp_path / "absent"), "--kind", "folder"])
    assert not (tmp_path / "absent").exists()


def test_json_output_is_only_json(tmp_path, capsys):
    out = tmp_path / "hub"
    assert main(["audit", "synthetic", "--out", str(out), "--parts", "overlap", "contigs", "--json",
                 "--no-progress", "--cache-dir", str(tmp_path / "cache")]) == 0
    captured = capsys.readouterr()
    reports = json.loads(captured.out)
    assert set(reports) == {"synthetic"} and reports["synthetic"]["overlap"]["pairs"]
    assert set(reports["synthetic"]) >= {"overlap", "contigs"} and "shortcuts" not in reports["synthetic"]
    assert "audited synthetic" in captured.err and "card -> " in captured.err and "report -> " in captured.err


def _audit_killed_at(out, config, variants=True):
    """Run `gbhub audit synthetic [--variants]` in a child killed (SIGKILL) when it starts auditing `config`."""
    code = textwrap.dedent(f"""
        import os, signal
        from gbhub.builders.audit import pipeline
        from gbhub.cli import main
        audit_config = pipeline.audit_config
        def killed(out_dir, config, **kwargs):
            if config == {config!r}:
                os.kill(os.getpid(), signal.SIGKILL)
            return audit_config(out_dir, config, **kwargs)
        pipeline.audit_config = killed
        main(["audit", "synthetic", "--out", {str(out)!r}, "--no-progress", "--no-report"]
             + (["--variants"] if {variants!r} else []))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr


def test_a_killed_variant_audit_leaves_no_variant_looking_complete(audited, tmp_path, capsys):
    out = tmp_path / "hub"
    shutil.copytree(audited, out)
    old = {kind: (out / "audit" / f"synthetic_{kind}.json").read_bytes() for kind in ("leakfree", "chromsplit")}
    _audit_killed_at(out, "synthetic_leakfree")
    # the variants were swapped in whole (Parquet and provenance); the reports of the previous variants were
    # removed before the swap, so no report describes rows it was not computed on
    assert not (out / "audit" / "synthetic_leakfree.json").exists()
    assert not (out / "audit" / "synthetic_chromsplit.json").exists()
    assert sorted(p.name for p in (out / "synthetic_leakfree").iterdir()) == [
        f"{s}-00000-of-00001.parquet" for s in ("test", "train", "validation")]
    assert not list(out.glob(".*staging*")) and not list(out.glob(".*.old-*"))
    # the card is marked stale (the variants are listed in the journal), and readers are told how to fix it
    assert set(hub_layout.read_journal(out)["card_stale"]) >= {"synthetic_leakfree", "synthetic_chromsplit"}
    with pytest.raises(hub_layout.LayoutError, match=r"out of date \(interrupted while writing .*synthetic_leakfree"):
        hub_layout.check_card(out)
    # the lock of the killed writer is free: the next audit takes it, completes the card and the reports
    capsys.readouterr()
    assert main(["audit", "synthetic", "--variants", "--out", str(out), "--no-progress", "--no-report"]) == 0
    hub_layout.check_card(out)
    assert not (out / ".gbhub.lock").exists() and not (out / hub_layout.JOURNAL_FILE).exists()
    for kind, data in old.items():  # same parent, same variants, same reports (but for the folder's name)
        text = (out / "audit" / f"synthetic_{kind}.json").read_text()
        assert text.replace(str(out), str(audited)) == data.decode()
    assert (out / "README.md").read_text().count("Audited by `gbhub audit`") == 3


def test_a_failed_audit_rerenders_the_card_of_what_was_swapped_in(audited, tmp_path, monkeypatch):
    out = tmp_path / "hub"
    shutil.copytree(audited, out)
    from gbhub.builders.audit import pipeline

    audit_config = pipeline.audit_config

    def failing(out_dir, config, **kwargs):
        if config == "synthetic_chromsplit":
            raise RuntimeError("disk on fire")
        return audit_config(out_dir, config, **kwargs)

    monkeypatch.setattr(pipeline, "audit_config", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(["audit", "synthetic", "--variants", "--out", str(out), "--no-progress", "--no-report"])
    # the card was drawn on the way out (a variant had been swapped in), the lock released
    hub_layout.check_card(out)
    assert not (out / ".gbhub.lock").exists()
    assert (out / "audit" / "synthetic_leakfree.json").exists()
    assert not (out / "audit" / "synthetic_chromsplit.json").exists()
    card = (out / "README.md").read_text()
    assert card.count("Audited by `gbhub audit`") == 2


def test_a_second_audit_of_the_same_folder_is_refused(audited, tmp_path, capsys):
    out = tmp_path / "hub"
    shutil.copytree(audited, out)
    before = _digests(out)
    with locks.folder_lock(out, "gbhub build synthetic"):
        code = f"from gbhub.cli import main; raise SystemExit(main(['audit', 'synthetic', '--out', {str(out)!r}]))"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert f"{out} is being written by pid {os.getpid()}" in run.stderr and "`gbhub build synthetic`" in run.stderr
    assert _digests(out) == before
