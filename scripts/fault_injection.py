"""Fault injection: run `gbhub` against kills, corruptions, concurrent writers and bad inputs; count outcomes.

    python scripts/fault_injection.py                        # every case, default workdir /tmp/gbhub-faults
    python scripts/fault_injection.py --cases kill --kills 20 --seed 3
    python scripts/fault_injection.py --list                 # the cases, by group

Each case runs `gbhub` (or a few lines of the library) in child processes, as a user would, on the
built-in `synthetic` benchmark and small generated FASTA files, and classifies what happened:

    accepted             the command did the right thing (a valid input built correctly, a fault survived)
    clear error          refused in one line (`gbhub <cmd>: error: ...`) with no traceback
    traceback            a Python traceback reached the user
    silent wrong         exit 0 but the output is wrong (bytes differ from a clean build of the same
                         inputs, provenance or card disagree with the data, a bad input accepted)
    half-written/orphan  output left inconsistent with no journal saying how to fix it, or temporary
                         files/folders of a dead process still there after the next successful run
    hang                 a child ran past its timeout

Adding cases: write a function `def my_case(ctx: Context) -> Iterator[Result]` that uses `ctx.gbhub(...)`, `ctx.python(...)`,
`ctx.classify(...)` and the fixtures on `ctx`, decorate it with `@case("training", "what it tries")`, and
it is listed, selectable with `--cases` and counted. Nothing else changes.

Exit status: 0 when no traceback, silent wrong result, half-written/orphaned output or hang was seen.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import dataclasses
import gzip
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

ACCEPTED, CLEAR, TRACEBACK, SILENT, ORPHAN, HANG = (
    "accepted", "clear error", "traceback", "silent wrong", "half-written/orphan", "hang")
OUTCOMES = (ACCEPTED, CLEAR, TRACEBACK, SILENT, ORPHAN, HANG)
BAD = (TRACEBACK, SILENT, ORPHAN, HANG)


@dataclasses.dataclass
class Result:
    """One trial of a case: its outcome and a line saying why."""

    case: str
    outcome: str
    detail: str = ""


@dataclasses.dataclass
class Case:
    group: str
    name: str
    run: Callable[["Context"], Iterator[Result]]


CASES: list[Case] = []


def case(group: str, name: str):
    """Register a case function under `group` (e.g. "builder", "training")."""
    def register(fn):
        CASES.append(Case(group, name, fn))
        return fn
    return register


# ------------------------------------------------------------------------------------------------ context


def _drop_root_overrides() -> None:
    """In a child: give up root's licence to ignore permission bits, so read-only means read-only."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP


def set_tree_mode(path: Path, writable: bool) -> None:
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            os.chmod(p, (0o755 if writable else 0o555) if p.is_dir() else (0o644 if writable else 0o444))


def parquet_digests(folder: Path, config: str = "synthetic") -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / config).glob("*.parquet"))}


class Context:
    """The work folder, the fixtures every case shares, and helpers to run children and judge them."""

    def __init__(self, workdir: Path, seed: int, kills: int, timeout: float):
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.kills = kills
        self.timeout = timeout
        self.cache = workdir / "cache"  # the shared, warm cache most cases use
        self.counter = 0
        self.expected: dict[int, dict[str, str]] = {}  # seed -> Parquet digests of a clean build
        self.build_seconds = 5.0

    # -- running
    def env(self, cache: Path | None = None) -> dict:
        env = dict(os.environ, GBHUB_CACHE=str(cache or self.cache), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                   HF_HOME=str(self.workdir / "hf"), PYTHONDONTWRITEBYTECODE="1", TQDM_DISABLE="1")
        env.pop("HF_TOKEN", None)
        return env

    def fresh(self, name: str) -> Path:
        self.counter += 1
        path = self.workdir / "runs" / f"{self.counter:03d}-{name}"
        path.mkdir(parents=True)
        return path

    def gbhub(self, *args: str, cache: Path | None = None, read_only: bool = False, fsize: int | None = None,
              timeout: float | None = None) -> subprocess.CompletedProcess:
        code = "import sys; from gbhub.cli import main; sys.exit(main(sys.argv[1:]))"
        return self.python(code, *args, cache=cache, read_only=read_only, fsize=fsize, timeout=timeout)

    def python(self, code: str, *args: str, cache: Path | None = None, read_only: bool = False,
               fsize: int | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
        def preexec():
            if read_only:
                _drop_root_overrides()
            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        try:
            return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                                  env=self.env(cache), timeout=timeout or self.timeout, preexec_fn=preexec)
        except subprocess.TimeoutExpired as err:
            return subprocess.CompletedProcess(err.cmd, -999, err.stdout or "", err.stderr or "")

    def popen(self, *args: str, cache: Path | None = None) -> subprocess.Popen:
        code = "import sys; from gbhub.cli import main; sys.exit(main(sys.argv[1:]))"
        return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env(cache))

    # -- judging
    @staticmethod
    def error_line(proc) -> str:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def classify(self, name: str, proc, *, expect: str, check: Callable[[], str | None] | None = None) -> Result:
        """`expect`: "ok" (must succeed; `check` returns a reason when the output is wrong), "error" (must be
        refused), or "any" (a fault the command may survive, then `check` judges the output, or refuse)."""
        if proc.returncode == -999:
            return Result(name, HANG, "timed out")
        if "Traceback (most recent call last)" in proc.stderr:
            return Result(name, TRACEBACK, self.error_line(proc)[:200])
        if proc.returncode == 0:
            if expect == "error":
                return Result(name, SILENT, "a bad input was accepted")
            wrong = check() if check else None
            return Result(name, SILENT, wrong) if wrong else Result(name, ACCEPTED, "survived" if expect == "any" else "")
        last = self.error_line(proc)
        errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
        if len(errors) == 1 and errors[0] == last:
            if expect == "ok":
                return Result(name, CLEAR, f"(refused a valid input) {last[:200]}")
            return Result(name, CLEAR, last[:200])
        return Result(name, TRACEBACK, f"exit {proc.returncode} without a one-line error: {last[:200]}")

    # -- output checks
    def folder_problem(self, out: Path, *, after_kill: bool = False) -> str | None:
        """Why `out` is not a consistent Hub-layout folder (None when it is).

        `after_kill`: right after a SIGKILL, hidden leftovers (the lock file, a staging folder, a journal)
        are expected (the next run removes or completes them); the visible data must still be whole, and
        a card that disagrees with it must be flagged by the journal.
        """
        from gbhub.builders import hub_layout

        journal = hub_layout.read_journal(out)
        if after_kill and journal.get("swap"):
            return None  # a swap the journal names: the next writer completes it (checked after it runs)
        if not after_kill:
            if journal:
                return f"journal left: {journal}"
            leftovers = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
            if leftovers:
                return f"leftovers in the output: {leftovers}"
            for sub in ("provenance", "images", "synthetic"):
                hidden = [p.name for p in (out / sub).glob(".*")] if (out / sub).is_dir() else []
                if hidden:
                    return f"leftovers in {sub}/: {hidden}"
        if not (out / "synthetic").is_dir():
            return None if not (out / "provenance" / "synthetic.json").exists() else "provenance without data"
        prov = json.loads((out / "provenance" / "synthetic.json").read_text())
        seed = prov["validation"]["seed"]
        got = parquet_digests(out)
        if seed in self.expected and got != self.expected[seed]:
            return f"Parquet differs from a clean build with seed {seed}"
        if journal:
            return None  # flagged: the reader is told to run `gbhub card`
        card = out / "README.md"
        if not card.is_file():
            return "configs but no README.md and no journal"
        if f"seed `{seed}`" not in card.read_text():
            return f"card does not show the provenance's seed {seed}"
        return None

    def cache_problem(self, cache: Path) -> str | None:
        leftovers = [p.name for p in cache.glob("build-*")] + [p.name for p in (cache / "prepared").glob(".*")]
        leftovers += [p.name for p in (cache / "hashes").glob(".*")] if (cache / "hashes").is_dir() else []
        return f"leftovers in the cache: {leftovers}" if leftovers else None

    def expected_digests(self, seed: int) -> dict[str, str]:
        if seed not in self.expected:
            out = self.fresh(f"clean-seed{seed}")
            t0 = time.perf_counter()
            proc = self.gbhub("build", "synthetic", "--out", str(out), "--seed", str(seed), "--no-progress")
            self.build_seconds = time.perf_counter() - t0
            if proc.returncode:
                raise SystemExit(f"the clean reference build failed:\n{proc.stderr}")
            self.expected[seed] = parquet_digests(out)
        return self.expected[seed]

    def prepared_dir(self, cache: Path | None = None) -> Path:
        return next((cache or self.cache).glob("prepared/*-synthetic"))


def write_fasta(path: Path, seq: bytes, name: str = "1", width: int = 60, eol: bytes = b"\n") -> Path:
    body = eol.join(seq[i:i + width] for i in range(0, len(seq), width))
    path.write_bytes(b">" + name.encode() + eol + body + eol)
    return path


def edit_same_size(path: Path, offset: int, data: bytes) -> None:
    st = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# ---------------------------------------------------------------------------------------------- cases


@case("builder", "SIGKILL at random points of a build, then the next build")
def kills(ctx: Context) -> Iterator[Result]:
    expected = ctx.expected_digests(7)
    ctx.expected_digests(42)
    out = ctx.fresh("kills")
    ctx.gbhub("build", "synthetic", "--out", str(out), "--no-progress")  # seed 42 first
    for trial in range(ctx.kills):
        name = f"kill-{trial}"
        cold = trial % 3 == 0  # a third with a cold cache: the kill may land in the preparation
        cache = ctx.fresh(f"kill-cache-{trial}") if cold else None
        proc = ctx.popen("build", "synthetic", "--out", str(out), "--seed", "7", "--no-progress", cache=cache)
        time.sleep(ctx.rng.uniform(0.2, ctx.build_seconds * (1.6 if cold else 1.1)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        problem = ctx.folder_problem(out, after_kill=True)
        if problem:
            yield Result(name, ORPHAN, f"after the kill: {problem}")
            continue
        again = ctx.gbhub("build", "synthetic", "--out", str(out), "--seed", str(7 if trial % 2 else 42),
                          "--no-progress", cache=cache)
        seed = 7 if trial % 2 else 42
        result = ctx.classify(name, again, expect="ok", check=lambda: ctx.folder_problem(out)
                              or ctx.cache_problem(cache or ctx.cache)
                              or (None if parquet_digests(out) == ctx.expected[seed] else "rebuild differs"))
        if result.outcome == SILENT and "leftovers" in result.detail:
            result.outcome = ORPHAN
        yield result
    del expected


@case("builder", "corrupted prepared references")
def prepared_corruptions(ctx: Context) -> Iterator[Result]:
    expected = ctx.expected_digests(42)
    damages = {
        "same-size edit, mtime restored": lambda d: edit_same_size(d / "sequence.bin", 1000, b"\xff\x00" * 40),
        "same-size edit to N, mtime restored": lambda d: edit_same_size(d / "sequence.bin", 5000, b"N" * 300),
        "truncated sequence.bin": lambda d: os.truncate(d / "sequence.bin", 1000),
        "empty sequence.bin": lambda d: os.truncate(d / "sequence.bin", 0),
        "broken index.json": lambda d: (d / "index.json").write_text((d / "index.json").read_text()[:50]),
        "missing index.json": lambda d: (d / "index.json").unlink(),
        "index.json edited (valid JSON)": lambda d: (d / "index.json").write_text(
            (d / "index.json").read_text().replace('"1", 0, ', '"1", 0, 1', 1)),
        "missing sequence.bin": lambda d: (d / "sequence.bin").unlink(),
    }
    for label, damage in damages.items():
        damage(ctx.prepared_dir())
        out = ctx.fresh("prepared")
        proc = ctx.gbhub("build", "synthetic", "--out", str(out), "--no-progress")
        yield ctx.classify(f"prepared: {label}", proc, expect="ok",
                           check=lambda: None if parquet_digests(out) == expected else "sequences from damaged data")
        later = ctx.gbhub("build", "synthetic", "--out", str(ctx.fresh("prepared-later")), "--no-progress")
        yield ctx.classify(f"prepared: later build after {label}", later, expect="ok")
    # read-only cache, damaged: refused in one line naming the folder to delete
    cache = ctx.fresh("ro-cache")
    ctx.gbhub("build", "synthetic", "--out", str(ctx.fresh("ro-first")), "--no-progress", cache=cache)
    edit_same_size(ctx.prepared_dir(cache) / "sequence.bin", 10, b"NN")
    set_tree_mode(cache, writable=False)
    proc = ctx.gbhub("build", "synthetic", "--out", str(ctx.fresh("ro-out")), "--no-progress", cache=cache,
                     read_only=True)
    result = ctx.classify("prepared: damaged in a read-only cache", proc, expect="error")
    if result.outcome == CLEAR and "delete" not in result.detail:
        result = Result(result.case, SILENT, f"refused without naming the folder to delete: {result.detail}")
    yield result
    set_tree_mode(cache, writable=True)


@case("builder", "read-only and full outputs and caches")
def read_only_and_full(ctx: Context) -> Iterator[Result]:
    expected = ctx.expected_digests(42)
    ctx.expected_digests(7)
    cache = ctx.fresh("ro-ok-cache")
    ctx.gbhub("build", "synthetic", "--out", str(ctx.fresh("ro-ok-first")), "--no-progress", cache=cache)
    set_tree_mode(cache, writable=False)
    out = ctx.fresh("ro-ok-out")
    proc = ctx.gbhub("build", "synthetic", "--out", str(out), "--no-progress", cache=cache, read_only=True)
    yield ctx.classify("read-only, fully prepared cache", proc, expect="ok",
                       check=lambda: None if parquet_digests(out) == expected else "differs")
    set_tree_mode(cache, writable=True)
    out = ctx.fresh("ro-out")
    set_tree_mode(out, writable=False)
    proc = ctx.gbhub("build", "synthetic", "--out", str(out), "--no-progress", read_only=True)
    yield ctx.classify("read-only output folder", proc, expect="error")
    set_tree_mode(out, writable=True)
    out = ctx.fresh("full")
    ctx.gbhub("build", "synthetic", "--out", str(out), "--no-progress")
    for limit in (1_000, 30_000, 200_000):
        proc = ctx.gbhub("build", "synthetic", "--out", str(out), "--seed", "7", "--no-progress", fsize=limit)
        result = ctx.classify(f"file size limit {limit:,} B (EFBIG) into a built folder", proc, expect="any",
                              check=lambda: None if parquet_digests(out) == ctx.expected[7] else "differs")
        if result.outcome == CLEAR and str(out) not in result.detail:
            result = Result(result.case, SILENT, f"error does not name the path: {result.detail}")
        problem = ctx.folder_problem(out)
        yield Result(result.case, ORPHAN, problem) if problem and result.outcome not in BAD else result
    proc = ctx.gbhub("build", "synthetic", "--out", str(ctx.fresh("cold-full")), "--no-progress",
                     cache=ctx.fresh("cold-full-cache"), fsize=100_000)
    yield ctx.classify("file size limit while preparing the reference", proc, expect="error")


@case("builder", "two builds into one folder at once")
def concurrent(ctx: Context) -> Iterator[Result]:
    ctx.expected_digests(7)
    ctx.expected_digests(42)
    for trial in range(4):
        out = ctx.fresh("concurrent")
        procs = [ctx.popen("build", "synthetic", "--out", str(out), "--seed", seed, "--no-progress")
                 for seed in ("7", "42")]
        for proc in procs:
            proc.wait()
        runs = [subprocess.CompletedProcess(p.args, p.returncode, p.stdout.read(), p.stderr.read()) for p in procs]
        for proc, seed in zip(runs, ("7", "42")):
            if proc.returncode:
                yield ctx.classify(f"concurrent {trial}: the second writer (seed {seed})", proc, expect="error")
        problem = ctx.folder_problem(out)
        yield Result(f"concurrent {trial}: the folder", ORPHAN if problem else ACCEPTED, problem or "consistent")


@case("builder", "local FASTA files")
def local_fasta(ctx: Context) -> Iterator[Result]:
    import numpy as np

    rng = np.random.default_rng(5)
    base = ctx.fresh("fasta")
    seq = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=420_000).tobytes()
    fasta = write_fasta(base / "ref.fa", seq[:400_000], "1")
    with open(fasta, "ab") as handle:
        handle.write(b">2\n" + seq[:300_000] + b"\n>MT\n" + seq[:16_000] + b"\n")
    out = ctx.fresh("fasta-out")
    ref = f"synthetic={fasta}"
    proc = ctx.gbhub("build", "synthetic", "--out", str(out), "--reference", ref, "--no-progress")
    yield ctx.classify("local FASTA", proc, expect="ok")

    def matches_file() -> str | None:
        import pyarrow.parquet as pq

        table = pq.read_table(out / "synthetic" / "train-00000-of-00001.parquet").to_pandas()
        text = fasta.read_bytes()
        records = {chunk.split(b"\n", 1)[0].decode(): chunk.split(b"\n", 1)[1].replace(b"\n", b"")
                   for chunk in text[1:].split(b"\n>")}
        comp = bytes.maketrans(b"ACGTN", b"TGCAN")
        for row in table.itertuples():
            key = {"chr1": "1", "chr2": "2", "chrM": "MT"}[row.region]
            piece = records[key][row.start:row.end]
            piece = piece[::-1].translate(comp) if row.strand == "-" else piece
            if piece.decode() != row.sequence:
                return f"row {row.id} does not match the FASTA as it is now"
        prov = json.loads((out / "provenance" / "synthetic.json").read_text())
        if prov["references"]["synthetic"]["sha256"] != hashlib.sha256(text).hexdigest():
            return "provenance records another sha256"
        return None

    import pyarrow.parquet as pq

    first = pq.read_table(out / "synthetic" / "train-00000-of-00001.parquet").column("sequence")[0].as_py()
    offset = fasta.read_bytes().index(first[:40].encode()) if first[:40].encode() in fasta.read_bytes() else 100
    edit_same_size(fasta, offset, b"N" * 20)
    proc = ctx.gbhub("build", "synthetic", "--out", str(out), "--reference", ref, "--no-progress")
    yield ctx.classify("local FASTA edited in place, same size, mtime restored", proc, expect="ok", check=matches_file)
    bad = {
        "truncated gzip": lambda p: p.write_bytes(gzip.compress(fasta.read_bytes(), mtime=0)[:-5000]),
        "CR-only line ends": lambda p: write_fasta(p, seq[:400_000], "1", eol=b"\r"),
        "not DNA": lambda p: p.write_text(">1\nMKVLAAGIVG\n"),
        "no header": lambda p: p.write_text("ACGT\n"),
        "contigs shorter than the tables need": lambda p: p.write_bytes(
            b"".join(b">" + name + b"\n" + seq[:1000] + b"\n" for name in (b"1", b"2", b"MT"))),
        "a contig missing": lambda p: write_fasta(p, seq[:400_000], "1"),
        "empty file": lambda p: p.write_bytes(b""),
    }
    for label, make in bad.items():
        path = base / f"bad-{len(label)}.fa"
        make(path)
        for extra in ([], ["--num-proc", "2"]):
            proc = ctx.gbhub("build", "synthetic", "--out", str(ctx.fresh("bad-fasta")), "--reference",
                             f"synthetic={path}", "--no-progress", *extra)
            yield ctx.classify(f"FASTA {label}{' (num_proc 2)' if extra else ''}", proc, expect="error")


@case("builder", "bad command-line input")
def bad_arguments(ctx: Context) -> Iterator[Result]:
    base = ctx.fresh("args")
    fasta = write_fasta(base / "g.fa", b"ACGT" * 100)
    (base / "file").write_text("x")
    (base / "empty.fa").write_text("")
    coords = base / "coords" / "human_nontata_promoters" / "train"
    coords.mkdir(parents=True)
    (coords / "negative.csv.gz").write_bytes(gzip.compress(b"id,region,start,end,strand\na,chr1,1,5,+\n"))
    out = str(base / "hub")
    cases = {
        "unknown benchmark": ["build", "nonexistent", "--out", out],
        "no benchmark": ["build", "--out", out],
        "--num-proc 0": ["build", "synthetic", "--out", out, "--num-proc", "0"],
        "--seed -1": ["build", "synthetic", "--out", out, "--seed", "-1"],
        "--seed ten": ["build", "synthetic", "--out", out, "--seed", "ten"],
        "--reference without =": ["build", "synthetic", "--out", out, "--reference", "GRCh38"],
        "--reference unknown key": ["build", "synthetic", "--out", out, "--reference", f"hg19={fasta}"],
        "--reference missing file": ["build", "synthetic", "--out", out, "--reference", f"synthetic={base}/no.fa"],
        "--reference a folder": ["build", "synthetic", "--out", out, "--reference", f"synthetic={base}"],
        "--reference /dev/null": ["build", "synthetic", "--out", out, "--reference", "synthetic=/dev/null"],
        "--reference an empty file": ["build", "synthetic", "--out", out, "--reference", f"synthetic={base}/empty.fa"],
        "--reference key no benchmark uses": ["build", "synthetic", "--out", out, "--reference", f"GRCm38={fasta}"],
        "--coordinates for a generated benchmark": ["build", "synthetic", "--out", out, "--coordinates", str(base)],
        "--coordinates missing tables": ["build", "human_enhancers_cohn", "--out", out, "--coordinates",
                                         str(base / "coords"), "--reference", f"GRCh38={fasta}"],
        "--coordinates table not the pinned one": ["build", "human_nontata_promoters", "--out", out,
                                                   "--coordinates", str(base / "coords"), "--reference",
                                                   f"GRCh38={fasta}"],
        "--out is a file": ["build", "synthetic", "--out", str(base / "file")],
        "--all with names": ["build", "--all", "synthetic", "--out", out],
        "card of a missing folder": ["card", str(base / "missing")],
        "card of an empty folder": ["card", str(base)],
        "push --repo-id a/b/c": ["push", str(base), "--repo-id", "a/b/c", "--dry-run"],
        "push without a token": ["push", str(base / "coords"), "--repo-id", "acme/x"],
        "push a missing folder": ["push", str(base / "missing"), "--repo-id", "acme/x", "--dry-run"],
    }
    for label, argv in cases.items():
        yield ctx.classify(f"args: {label}", ctx.gbhub(*argv), expect="error")
    # user tables that bypass the pins: the table reader itself
    for label, body in {"full-width digits": "a,chr1,\uff11,5,+\n", "header only": "",
                        "empty id": "a,chr1,1,5,+\n,chr1,2,6,+\n", "non-integer": "a,chr1,1.5,5,+\n"}.items():
        path = base / f"t{len(label)}.csv"
        path.write_text("id,region,start,end,strand\n" + body, encoding="utf-8")
        code = ("import sys\nfrom gbhub.builders.coordinates import read_table\nfrom gbhub.builders.errors import "
                "GBHubError\ntry:\n    read_table(sys.argv[1])\nexcept GBHubError as e:\n"
                "    print(f'gbhub: error: {e}', file=sys.stderr); sys.exit(2)")
        yield ctx.classify(f"table: {label}", ctx.python(code, str(path)), expect="error")
    # dry run changes no local file
    built = ctx.fresh("dry-run")
    ctx.gbhub("build", "synthetic", "--out", str(built), "--no-progress")
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    proc = ctx.gbhub("push", str(built), "--repo-id", "acme/genomic-benchmarks", "--dry-run")
    after = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    yield ctx.classify("push --dry-run of a built folder", proc, expect="ok",
                       check=lambda: None if after == before else "local files changed")


# --------------------------------------------------------------------------------------------- training

TRAIN_FAST = ("--no-progress", "--max-train-samples", "300", "--batch-size", "32")


def training_data(ctx: Context) -> Path:
    """The `synthetic` benchmark built once for the training cases."""
    data = ctx.workdir / "train-data"
    if not (data / "synthetic").is_dir():
        proc = ctx.gbhub("build", "synthetic", "--out", str(data), "--no-progress")
        if proc.returncode:
            raise SystemExit(f"building the training data failed:\n{proc.stderr}")
    return data


def run_problem(run: Path) -> str | None:
    """Why `run` is not a complete run folder (None when it is)."""
    if (run / ".gbhub.lock").exists():
        return "the run folder's lock file was left behind"
    try:
        record = json.loads((run / "metrics.json").read_text())
    except (OSError, ValueError) as err:
        return f"metrics.json unreadable: {err}"
    if not (run / "README.md").is_file() or "test" not in record.get("metrics", {}):
        return "no card or no test metrics"
    stray = [p.name for p in run.glob(".*.tmp")]
    return f"temporary files left: {stray}" if stray else None


@case("training", "bad training arguments and data")
def training_bad_input(ctx: Context) -> Iterator[Result]:
    data = training_data(ctx)
    base = ctx.fresh("train-args")
    (base / "file").write_text("x")
    (base / "list.json").write_text("[1, 2]")
    one_class = base / "one-class"
    code = ("import sys, numpy as np\nfrom gbhub.builders.hub_layout import SPLITS, write_hub_folder\n"
            "rng = np.random.default_rng(0)\n"
            "rows = lambda: {'sequence': [''.join(rng.choice(list('ACGT'), 80)) for _ in range(64)], "
            "'label': [0] * 64}\n"
            "write_hub_folder(sys.argv[1], 'toy', {s: rows() for s in SPLITS}, ['a', 'b'])")
    made = ctx.python(code, str(one_class))
    if made.returncode:
        raise SystemExit(f"writing the one-class data failed:\n{made.stderr}")
    run = str(base / "run")
    common = ["--dataset", str(data), "--config", "synthetic", "--out", run, "--no-progress"]
    cases = {
        "unknown recipe": ["train", "nope", *common],
        "unknown config": ["train", "cnn", "--dataset", str(data), "--config", "nope", "--out", run],
        "missing dataset folder": ["train", "cnn", "--dataset", str(base / "missing"), "--config", "x", "--out", run],
        "--out is a file": ["train", "cnn", "--dataset", str(data), "--config", "synthetic", "--out",
                            str(base / "file")],
        "--epochs 0": ["train", "cnn", *common, "--epochs", "0"],
        "--lr -1": ["train", "cnn", *common, "--lr", "-1"],
        "--seeds x": ["train", "cnn", *common, "--seeds", "x"],
        "--args-json a list": ["train", "cnn", *common, "--args-json", str(base / "list.json")],
        "--args-json missing": ["train", "cnn", *common, "--args-json", str(base / "no.json")],
        "--selection-metric r2 on classes": ["train", "cnn", *common, "--selection-metric", "r2"],
        "--init-from a missing run": ["train", "deepenhancer", *common, "--init-from", str(base / "missing")],
        "one-class data": ["train", "cnn", "--dataset", str(one_class), "--config", "toy", "--out", run,
                           "--selection-metric", "auroc", "--no-progress"],
    }
    for label, argv in cases.items():
        yield ctx.classify(f"train args: {label}", ctx.gbhub(*argv), expect="error")
    if (base / "run" / "metrics.json").exists():
        yield Result("train args: the refused runs", SILENT, "a refused run wrote metrics.json")


@case("training", "resume with changed settings or data, and resume after SIGKILL")
def training_resume(ctx: Context) -> Iterator[Result]:
    data = training_data(ctx)
    run = ctx.fresh("train-resume") / "run"
    first = ctx.gbhub("train", "cnn", "--dataset", str(data), "--config", "synthetic", "--out", str(run),
                      "--epochs", "1", *TRAIN_FAST)
    yield ctx.classify("resume: first run", first, expect="ok", check=lambda: run_problem(run))
    before = (run / "metrics.json").read_bytes() if (run / "metrics.json").exists() else b""
    changed = {"--lr": ("--lr", "0.05"), "--max-train-samples": ("--max-train-samples", "200"),
               "--batch-size": ("--batch-size", "16")}
    for label, (flag, value) in changed.items():
        argv = [a for a in TRAIN_FAST]
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
        proc = ctx.gbhub("train", "cnn", "--dataset", str(data), "--config", "synthetic", "--out", str(run),
                         "--epochs", "2", "--resume", *argv)
        yield ctx.classify(f"resume with {label} changed", proc, expect="error")
        if (run / "metrics.json").read_bytes() != before:
            yield Result(f"resume with {label} changed", SILENT, "a refused resume rewrote metrics.json")
    # SIGKILL at a random point of a 4-epoch run, then --resume: the folder must end complete
    for trial in range(min(ctx.kills, 4)):
        out = ctx.fresh("train-kill") / "run"
        argv = ["train", "cnn", "--dataset", str(data), "--config", "synthetic", "--out", str(out), "--epochs", "4",
                *TRAIN_FAST]
        proc = ctx.popen(*argv)
        time.sleep(ctx.rng.uniform(3.0, 3.0 + 4 * ctx.build_seconds))
        proc.kill()
        proc.wait()
        again = ctx.gbhub(*argv, "--resume")
        yield ctx.classify(f"resume after SIGKILL {trial}", again, expect="ok", check=lambda out=out: run_problem(out))


# ----------------------------------------------------------------------------------------------- driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gbhub-faults"),
                        help="work folder, emptied first (default %(default)s)")
    parser.add_argument("--cases", default="", help="run only cases whose group or name contains this text")
    parser.add_argument("--kills", type=int, default=12, help="SIGKILL trials (default 12)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill times (default 0)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per child before it is a hang")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for c in CASES:
            print(f"{c.group:10} {c.run.__name__:22} {c.name}")
        return 0
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    ctx = Context(args.workdir, args.seed, args.kills, args.timeout)
    selected = [c for c in CASES if args.cases in c.group or args.cases in c.run.__name__ or args.cases in c.name]
    results: list[tuple[str, Result]] = []
    for c in selected:
        t0 = time.perf_counter()
        for result in c.run(ctx):
            results.append((c.group, result))
            mark = "!!" if result.outcome in BAD else "  "
            print(f"{mark} {result.outcome:20} {result.case}: {result.detail}", flush=True)
        print(f"   ({c.group}: {c.name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    counts = collections.Counter(r.outcome for _, r in results)
    print(f"\n{len(results)} trials")
    for outcome in OUTCOMES:
        print(f"{outcome:20} {counts.get(outcome, 0)}")
    if args.json:
        args.json.write_text(json.dumps([{"group": g, **dataclasses.asdict(r)} for g, r in results], indent=1))
    return 1 if any(counts.get(o) for o in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
