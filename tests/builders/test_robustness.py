"""Faults a build must survive or refuse in one line: damaged caches, kills, concurrent writers, bad inputs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
from tests_helpers import fetch_one

from gbhub.builders import hub_layout, locks
from gbhub.builders.build import build_benchmark, write_plan_config
from gbhub.builders.errors import (
    CoordinateTableError,
    GenomeReferenceError,
    OutputWriteError,
    PreparedReferenceError,
)
from gbhub.builders.genome import Genome, prepare
from gbhub.builders.references import REFERENCES, resolve_reference
from gbhub.cli import main

SYNTHETIC = REFERENCES["synthetic"]


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def random_fasta(path: Path, length: int = 300_000, seed: int = 0) -> Path:
    seq = np.random.default_rng(seed).choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=length).tobytes()
    path.write_bytes(b">chr1\n" + b"\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + b"\n")
    return path


def edit_in_place(path: Path, offset: int, data: bytes) -> None:
    """Overwrite bytes without changing the size, then put the mtime back (what issue 10 tried)."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


# ------------------------------------------------------------------------------- prepared references


@pytest.fixture
def resolved(tmp_path):
    fasta = random_fasta(tmp_path / "g.fa")
    cache = tmp_path / "cache"
    return fasta, cache, resolve_reference(SYNTHETIC, local_path=fasta, cache_dir=cache, progress=False)


def test_a_same_size_edit_of_sequence_bin_is_found_and_prepared_again(resolved):
    fasta, cache, first = resolved
    expected = fetch_one(first.genome, "chr1", 1000, 1100)
    edit_in_place(first.genome.path / "sequence.bin", 1000, b"N" * 100)
    again = resolve_reference(SYNTHETIC, local_path=fasta, cache_dir=cache, progress=False)
    assert fetch_one(again.genome, "chr1", 1000, 1100) == expected
    assert not [p for p in (cache / "prepared").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("damage", ["truncate", "index-broken", "index-missing", "index-edited", "old-format"])
def test_a_damaged_prepared_reference_never_blocks_later_builds(resolved, damage):
    fasta, cache, first = resolved
    folder = first.genome.path
    index = folder / "index.json"
    if damage == "truncate":
        with open(folder / "sequence.bin", "r+b") as handle:
            handle.truncate(1000)
    elif damage == "index-broken":
        index.write_text(index.read_text()[:40])
    elif damage == "index-missing":
        index.unlink()
    elif damage == "index-edited":  # valid JSON, a shifted record: caught by the index's own checksum
        data = json.loads(index.read_text())
        data["contigs"][0][2] -= 1
        index.write_text(json.dumps(data))
    else:
        data = json.loads(index.read_text())
        data["format_version"] = 1
        index.write_text(json.dumps(data))
    with pytest.raises(PreparedReferenceError, match=rf"delete {folder}"):
        Genome(folder)
    again = resolve_reference(SYNTHETIC, local_path=fasta, cache_dir=cache, progress=False)
    assert fetch_one(again.genome, "chr1", 0, 60) == fasta.read_text().splitlines()[1]


def test_verification_is_remembered_until_the_file_is_written(resolved, monkeypatch):
    _, _, first = resolved
    genome = Genome(first.genome.path)
    import xxhash

    calls, real = [], xxhash.xxh3_128
    monkeypatch.setattr("gbhub.builders.genome.xxhash.xxh3_128", lambda *a: calls.append(1) or real(*a))
    genome.verify()
    assert calls == []  # stamped by resolve_reference: no block read again
    os.utime(genome.path / "sequence.bin")  # any write (here only a touch) changes the ctime
    genome.verify()
    assert calls


def test_a_local_fasta_edited_in_place_with_its_mtime_restored_is_hashed_again(resolved):
    fasta, cache, first = resolved
    edit_in_place(fasta, 10, b"NNNN")
    again = resolve_reference(SYNTHETIC, local_path=fasta, cache_dir=cache, progress=False)
    assert again.sha256 == hashlib.sha256(fasta.read_bytes()).hexdigest() != first.sha256
    assert fetch_one(again.genome, "chr1", 4, 8) == "NNNN"


def _drop_root_overrides() -> None:
    """In the child: give up root's licence to ignore permission bits (CAP_DAC_OVERRIDE, _READ_SEARCH,
    CAP_FOWNER), so that a read-only folder is read-only for it too."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone from the caps exec grants
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _read_only(code: str, *paths: Path) -> subprocess.CompletedProcess:
    """Run `code` in a child for which `paths` are read-only (chmod a-w; root's overrides dropped)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    for path in paths:
        for p in [path, *path.rglob("*")]:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
    preexec = _drop_root_overrides if os.geteuid() == 0 else None
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          preexec_fn=preexec, timeout=120)


def test_a_fully_prepared_read_only_cache_can_be_used_and_damage_is_refused():
    root = Path(tempfile.mkdtemp(prefix="gbhub-ro-"))
    try:
        os.chmod(root, 0o755)
        cache, out = root / "cache", root / "out"
        build_benchmark("synthetic", root / "first", cache_dir=cache, progress=False)
        out.mkdir()
        code = textwrap.dedent(f"""
            from gbhub.cli import main
            raise SystemExit(main(["build", "synthetic", "--out", "{out}", "--cache-dir", "{cache}", "--no-progress"]))
        """)
        run = _read_only(code, cache)
        assert run.returncode == 0, run.stderr
        assert digests(out) == digests(root / "first")
        # damage the read-only prepared reference: refused in one line naming the folder to delete
        prepared = next((cache / "prepared").glob("*-synthetic"))
        os.chmod(prepared / "sequence.bin", 0o644)
        edit_in_place(prepared / "sequence.bin", 5, b"NN")
        run = _read_only(code, cache)
        assert run.returncode == 2
        assert run.stderr.count("\n") == 1 and f"delete {prepared}" in run.stderr, run.stderr
    finally:
        for p in [root, *root.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------- FASTA input


def test_cr_only_line_ends_are_named(tmp_path):
    fasta = tmp_path / "mac.fa"
    fasta.write_bytes(b">chr1\rACGT\rACGT\r")
    with pytest.raises(GenomeReferenceError, match="carriage returns alone"):
        prepare(fasta, tmp_path / "prep", progress=False)
    assert not (tmp_path / "prep").exists()


@pytest.mark.parametrize("target, match", [("folder", "is a folder, not a FASTA file"),
                                           ("/dev/null", "is not a regular file"),
                                           ("empty", "is empty")])
def test_reference_paths_that_are_not_fasta_files(tmp_path, capsys, target, match):
    path = {"folder": str(tmp_path), "empty": str(tmp_path / "e.fa")}.get(target, target)
    (tmp_path / "e.fa").write_text("")
    assert main(["build", "demo_human_or_worm", "--out", str(tmp_path / "hub"),
                 "--reference", f"GRCh38={path}"]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_unused_coordinates_and_reference_keys_are_reported(tmp_path, capsys):
    fasta = random_fasta(tmp_path / "g.fa", 1000)
    assert main(["build", "synthetic", "--out", str(tmp_path / "hub"), "--coordinates", str(tmp_path)]) == 2
    assert "read no coordinate tables; drop --coordinates" in capsys.readouterr().err
    assert main(["build", "synthetic", "--out", str(tmp_path / "hub"), "--reference", f"GRCm38={fasta}"]) == 2
    err = capsys.readouterr().err
    assert "none of synthetic uses GRCm38 (they use synthetic)" in err and err.count("\n") == 1
    assert not (tmp_path / "hub").exists()


# ----------------------------------------------------------------------------------- plans and workers


def _toy_plan(tmp_path: Path, end: int = 50) -> pd.DataFrame:
    genome = str(prepare(random_fasta(tmp_path / "toy.fa", 100), tmp_path / "prep", progress=False))
    rows = [("train", 0, "a", "chr1", 0, 10), ("train", 1, "b", "chr1", 5, 20),
            ("validation", 0, "c", "chr1", 1, 9), ("test", 1, "d", "chr1", 40, end)]
    return pd.DataFrame([{"split": s, "label": lab, "id": i, "region": r, "start": a, "end": b, "strand": "+",
                          "row": k + 1, "table": f"toy/{s}.csv", "genome": genome}
                         for k, (s, lab, i, r, a, b) in enumerate(rows)])


@pytest.mark.parametrize("num_proc", [None, 2])
def test_a_contig_shorter_than_the_table_needs_is_refused_before_extraction(tmp_path, num_proc, monkeypatch):
    plan = _toy_plan(tmp_path, end=140)
    monkeypatch.setattr("gbhub.builders.extract.write_parquet", lambda *a, **k: pytest.fail("extraction started"))
    with pytest.raises(CoordinateTableError, match=r"chr1:40-140 ends past chr1 \(length 100\), row 4 of toy/test.csv"):
        write_plan_config(tmp_path / "hub", "toy", plan, ["n", "p"], {"config": "toy"}, num_proc=num_proc,
                          progress=False)
    assert not (tmp_path / "hub").exists()


def test_a_domain_error_inside_a_worker_arrives_as_itself(tmp_path, monkeypatch):
    plan = _toy_plan(tmp_path)

    def broken(self, *args, **kwargs):
        raise CoordinateTableError("row 3 of toy/test.csv: broken in a worker")

    monkeypatch.setattr(Genome, "fetch", broken)  # workers are forked: they see the patch
    with pytest.raises(CoordinateTableError, match="row 3 of toy/test.csv: broken in a worker"):
        write_plan_config(tmp_path / "hub", "toy", plan, ["n", "p"], {"config": "toy"}, num_proc=2, progress=False)
    assert not list((tmp_path / "hub").glob(".*staging*"))


def test_streamed_parquet_is_what_dataset_to_parquet_writes(tmp_path):
    rng = np.random.default_rng(0)
    n = 2 * hub_layout.ROW_GROUP_ROWS + 123
    features = hub_layout.benchmark_features(["a", "b"])
    text = np.frombuffer(b"ACGTN", dtype=np.uint8)[rng.integers(0, 5, 400 * n)].tobytes().decode()
    ends = np.cumsum(rng.integers(50, 400, n))
    columns = {"id": [f"r{i}" for i in range(n)],
               "sequence": [text[a:b] for a, b in zip(np.r_[0, ends[:-1]], ends)],
               "label": rng.integers(0, 2, n).tolist(), "region": ["chr1"] * n, "start": list(range(n)),
               "end": list(range(1, n + 1)), "strand": ["+", "-"] * (n // 2) + ["+"] * (n % 2)}
    ds = datasets.Dataset.from_dict(columns, features=features)
    ds.to_parquet(str(tmp_path / "reference.parquet"), batch_size=hub_layout.ROW_GROUP_ROWS)
    table = ds.data.table
    pieces = [table.slice(0, 777), table.slice(777, 9000), table.slice(9777)]  # uneven generator tables
    hub_layout.write_parquet(tmp_path / "streamed.parquet", features, pieces)
    assert (tmp_path / "streamed.parquet").read_bytes() == (tmp_path / "reference.parquet").read_bytes()


# --------------------------------------------------------------------------------- one writer, journal


def test_a_second_writer_is_refused_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "hub"
    with locks.folder_lock(out, "gbhub build synthetic"):
        # another process: the lock is per open file description, so a child sees it held
        code = f"from gbhub.cli import main; raise SystemExit(main(['build', 'synthetic', '--out', '{out}']))"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert f"{out} is being written by pid {os.getpid()}" in run.stderr and "`gbhub build synthetic`" in run.stderr
    assert run.stderr.count("\n") == 1
    assert not (out / ".gbhub.lock").exists()


def test_the_lock_of_a_killed_writer_is_taken_over(tmp_path):
    out = tmp_path / "hub"
    code = (f"from gbhub.builders.locks import folder_lock; import os, signal\n"
            f"with folder_lock('{out}', 'x'):\n    os.kill(os.getpid(), signal.SIGKILL)")
    run = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert run.returncode == -signal.SIGKILL and (out / ".gbhub.lock").exists()
    with locks.folder_lock(out):
        assert locks.holds_lock(out)
    assert not (out / ".gbhub.lock").exists()


def _killed_after_swap(out: Path, cache: Path, seed: int) -> None:
    """Build synthetic with `seed` in a child killed (SIGKILL) right after the swap, before the card."""
    code = textwrap.dedent(f"""
        import os, signal
        from gbhub.builders.build import build_benchmark
        build_benchmark("synthetic", "{out}", cache_dir="{cache}", seed={seed}, progress=False,
                        finalize=lambda out: os.kill(os.getpid(), signal.SIGKILL))
    """)
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == -signal.SIGKILL


def test_a_kill_between_swap_and_card_is_reported_and_completed(tmp_path, capsys):
    out, cache = tmp_path / "hub", tmp_path / "cache"
    assert main(["build", "synthetic", "--out", str(out), "--cache-dir", str(cache), "--no-progress"]) == 0
    _killed_after_swap(out, cache, seed=7)
    assert json.loads((out / "provenance" / "synthetic.json").read_text())["validation"]["seed"] == 7
    with pytest.raises(hub_layout.LayoutError, match=rf"card of {out} is out of date .*run `gbhub card {out}`"):
        hub_layout.check_card(out)
    capsys.readouterr()
    assert main(["card", str(out)]) == 0
    hub_layout.check_card(out)
    assert "seed `7`" in (out / "README.md").read_text() and "seed `42`" not in (out / "README.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "images", "provenance", "synthetic"]


class _Killed(BaseException):
    """Stands for SIGKILL in-process: nothing catches it, no clean-up code of ours runs for it."""


def test_a_first_build_killed_before_its_card_says_how_to_fix_it(tmp_path, capsys):
    out, cache = tmp_path / "hub", tmp_path / "cache"

    def killed(out):
        raise _Killed

    with pytest.raises(_Killed):
        build_benchmark("synthetic", out, cache_dir=cache, progress=False, finalize=killed)
    assert not (out / "README.md").exists()
    with pytest.raises(hub_layout.LayoutError, match=r"run `gbhub card"):
        hub_layout.check_card(out)
    # the next build completes the folder: card rendered, nothing left over
    assert main(["build", "synthetic", "--out", str(out), "--cache-dir", str(cache), "--no-progress"]) == 0
    assert datasets.get_dataset_config_names(str(out)) == ["synthetic"]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "images", "provenance", "synthetic"]


def test_an_interrupted_swap_is_completed_by_the_next_writer(tmp_path):
    out, cache = tmp_path / "hub", tmp_path / "cache"
    build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    before = digests(out)
    # the state after a kill between "old config moved aside" and "staging renamed into place"
    staging = out / ".synthetic.staging-dead"
    os.replace(out / "synthetic", out / ".synthetic.old-1")
    shutil.copytree(out / ".synthetic.old-1", staging)
    (staging / ".provenance.json").write_text((out / "provenance" / "synthetic.json").read_text())
    (out / ".gbhub-journal.json").write_text(json.dumps(
        {"swap": {"config": "synthetic", "staging": staging.name, "trash": ".synthetic.old-1"}, "card_stale": []}))
    with locks.folder_lock(out):
        assert hub_layout.recover(out) == []
    assert digests(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["provenance", "synthetic"]


def test_orphans_of_dead_processes_are_swept_at_the_start_of_a_run(tmp_path):
    out, cache = tmp_path / "hub", tmp_path / "cache"
    build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    dead = out / ".synthetic.staging-0badc0ffee00"
    dead.mkdir()
    (dead / ".owner").write_text("{}")  # nobody holds its lock: its owner died
    (dead / "train-00000-of-00001.parquet").write_bytes(b"half")
    (out / "provenance" / ".synthetic.json.abc.tmp").write_text("{")
    prepared_tmp = next((cache / "prepared").iterdir()).with_name(".x.tmp-0badc0ffee00")
    prepared_tmp.mkdir()
    (prepared_tmp / ".owner").write_text("{}")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    memo_tmp = Path(str(locks.temp_file(next((cache / "hashes").iterdir()))).replace(
        f".{os.getpid()}.", f".{int(gone.stdout)}."))
    memo_tmp.write_text("half")
    live_tmp = locks.temp_file(next((cache / "hashes").iterdir()))
    live_tmp.write_text("being written by this process")
    with locks.scratch_dir(out, ".other.staging-") as alive:  # a live owner's folder is kept
        build_benchmark("synthetic", out, cache_dir=cache, progress=False)
        assert alive.is_dir()
    assert not dead.exists() and not prepared_tmp.exists() and not memo_tmp.exists() and live_tmp.exists()
    assert not (out / "provenance" / ".synthetic.json.abc.tmp").exists()


def test_output_files_share_one_mode(tmp_path):
    out = tmp_path / "hub"
    assert main(["build", "synthetic", "--out", str(out), "--no-progress"]) == 0
    modes = {p.relative_to(out).as_posix(): oct(p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_file()}
    assert set(modes.values()) == {oct(hub_layout._new_file_mode())}, modes


def test_a_file_size_limit_is_one_line_naming_the_path(tmp_path):
    out, cache = tmp_path / "hub", tmp_path / "cache"
    assert main(["build", "synthetic", "--out", str(out), "--no-progress", "--cache-dir", str(cache)]) == 0
    before = digests(out)
    code = textwrap.dedent(f"""
        import resource
        from gbhub.cli import main
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # EFBIG past 20 kB (Python ignores SIGXFSZ)
        raise SystemExit(main(["build", "synthetic", "--out", "{out}", "--no-progress", "--seed", "3",
                               "--cache-dir", "{cache}"]))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"gbhub build: error: cannot write {out}") and "File too large" in run.stderr
    assert run.stderr.count("\n") == 1
    assert digests(out) == before and not [p for p in out.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "images", "provenance", "synthetic"]


def test_the_lock_nests_within_one_process_and_refuses_a_file(tmp_path):
    out = tmp_path / "hub"
    with locks.folder_lock(out):
        with locks.folder_lock(out):
            assert locks.holds_lock(out)
        assert locks.holds_lock(out)
    assert not locks.holds_lock(out)
    (tmp_path / "x").write_text("")
    with pytest.raises(OutputWriteError, match="is a file, not a folder"):
        with locks.folder_lock(tmp_path / "x"):
            pass
