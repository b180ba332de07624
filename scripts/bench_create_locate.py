"""Benchmark: `gbhub create` on 50,000 regions of a full-size synthetic human genome; `gbhub locate` of 100,000
sequences on it; `locate` against upstream's `seq2loc` on the same input.

    python scripts/bench_create_locate.py                          # everything (~20-40 min on 2 cores, ~8 GB disk)
    python scripts/bench_create_locate.py --skip-upstream
    python scripts/bench_create_locate.py --positives 2000 --queries 5000 --contigs 21,22   # quick (~3 min)

What it does, in a work folder (default `/tmp/gbhub-bench-create`; kept for re-runs, `--clean` removes it):

1. Writes a synthetic GRCh38 (`genome.fa`, plain FASTA, 60-column lines, Ensembl names `1`..`22`, `X`, `Y`,
   `MT` with the real lengths, so `--reference GRCh38=genome.fa` passes the assembly check): 100 kb isochores
   of GC 0.30-0.65, ~45% soft-masked (lower-case) repeat runs, 10 kb of N at each end and a centromere gap of
   N in each chromosome. `--contigs` restricts the file to some contigs (quick runs; the assembly check then
   still holds, as every record present has its real length).
2. Writes `positives.narrowPeak` (BED6+4, UCSC names, sorted, summit in column 10): `--positives` peaks of
   log-normal width (150-2,000 bp), placed preferentially in GC-rich isochores (so the background must be
   searched for matches), and `exclude.bed`: 20,000 unsorted 1 kb regions (an exon-like exclusion list).
3. `gbhub create bench --positives positives.narrowPeak --reference GRCh38=genome.fa --width 500
   --summit-column 10 --exclude exclude.bed` twice, each in a child process: *cold* (fresh cache: the FASTA is
   prepared, its soft mask read, its N runs found) and *warm* (prepared reference reused).
4. `gbhub locate` of `--queries` sequences (150-500 bp windows of the genome on random strands, 1% random
   sequences that are absent) in a child process; every located row is checked against where it came from.
5. Upstream (unless `--skip-upstream`): `genomic_benchmarks.seq2loc.fasta2loc` (PyPI `genomic-benchmarks`
   1.0.0, installed into the same venv with `--no-deps` plus `biopython`; never a project dependency) and
   ours on the same input: `--upstream-queries` of the queries that lie on `--upstream-contig`, against that
   contig alone (upstream walks a Python trie along every base and holds a dict node per query base, so the
   full input is out of its reach: that is stated next to the figures, with its measured rate).

Every child is measured from inside (`bench_builders_measure.measure`: wall, CPU, peak RSS = `VmHWM`) and the
results are printed as one JSON object (also written to `<workdir>/bench_create_locate.json`).

The A/B figure quoted in the README times the two whole processes from outside, alternating (ours, upstream,
ours, ...), and takes the ratio pair by pair, so a drift in the machine's speed moves both sides of a pair:

    python scripts/bench_create_locate.py --ab RUNS QUERIES.fa CONTIG.fa CONTIG [--upstream-python PY] [--cache-dir DIR]

(ours: `python -m gbhub locate QUERIES.fa --reference contig=CONTIG.fa --out ... --no-progress` in this Python, after
one untimed run that prepares the reference; upstream: this script's `upstream` child in `PY`, by default this
Python, which must have `genomic-benchmarks` and `biopython` installed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_builders_measure import measure, write_result  # noqa: E402

LINE = 60
_BLOCK = 1 << 23  # bases generated at once
_COMP = str.maketrans("ACGTN", "TGCAN")


# ------------------------------------------------------------------------------------------------- inputs


def genome_records(contigs: list[str] | None) -> list[tuple[str, int]]:
    from gbhub.builders.assemblies import KNOWN_LENGTHS

    records = [(name, length) for name, length in KNOWN_LENGTHS["GRCh38"].items()]
    return [r for r in records if contigs is None or r[0] in contigs]


def write_genome(path: Path, records: list[tuple[str, int]], seed: int) -> dict[str, np.ndarray]:
    """Write the synthetic soft-masked FASTA; return each contig's isochore GC (one value per 100 kb)."""
    rng = np.random.default_rng(seed)
    isochores = {}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        for name, length in records:
            out.write(f">{name} dna:chromosome chromosome:GRCh38:{name}:1:{length}:1 REF\n".encode())
            gc = np.clip(rng.normal(0.41, 0.06, length // 100_000 + 1), 0.30, 0.65)
            isochores[name] = gc
            gap = (length // 2 - length // 200, length // 2 + length // 200) if length > 1_000_000 else (0, 0)
            carry = b""
            for lo in range(0, length, _BLOCK):
                n = min(_BLOCK, length - lo)
                pos = np.arange(lo, lo + n)
                g = gc[pos // 100_000].astype(np.float32)
                u = rng.random(n, dtype=np.float32)
                bases = np.full(n, ord("T"), dtype=np.uint8)
                bases[u < g + (1 - g) / 2] = ord("A")
                bases[u < g] = ord("C")
                bases[u < g / 2] = ord("G")
                # soft-masked repeats: runs of ~300 bp covering about 45% of the sequence
                starts = np.sort(rng.integers(0, n, n // 660))
                ends = np.minimum(starts + rng.exponential(300, len(starts)).astype(np.int64) + 20, n)
                depth = np.zeros(n + 1, dtype=np.int32)
                np.add.at(depth, starts, 1)
                np.add.at(depth, ends, -1)
                bases[np.cumsum(depth[:-1]) > 0] |= 32
                if length > 100_000:
                    bases[(pos < 10_000) | (pos >= length - 10_000) | ((pos >= gap[0]) & (pos < gap[1]))] = ord("N")
                text = carry + bases.tobytes()
                full = len(text) // LINE * LINE
                lines = np.frombuffer(text[:full], dtype=np.uint8).reshape(-1, LINE)
                out.write(np.hstack([lines, np.full((len(lines), 1), 10, np.uint8)]).tobytes())
                carry = text[full:]
            if carry:
                out.write(carry + b"\n")
    os.replace(tmp, path)
    return isochores


def write_beds(work: Path, records, isochores, n: int, seed: int) -> tuple[Path, Path]:
    """`positives.narrowPeak` (sorted, GC-rich isochores preferred) and an unsorted `exclude.bed`."""
    rng = np.random.default_rng(seed)
    names = [r[0] for r in records if r[0] not in ("MT", "Y")] or [r[0] for r in records]
    lengths = np.array([dict(records)[c] for c in names], dtype=np.int64)
    rows = []
    while len(rows) < n:
        k = n - len(rows)
        contig = rng.choice(len(names), size=4 * k, p=lengths / lengths.sum())
        start = (rng.random(4 * k) * (lengths[contig] - 50_000)).astype(np.int64) + 20_000
        gc = np.array([isochores[names[c]][s // 100_000] for c, s in zip(contig, start)])
        keep = rng.random(4 * k) < (gc - 0.28) / 0.37  # GC-rich isochores preferred
        for c, s in zip(contig[keep][:k], start[keep][:k]):
            length = int(np.clip(rng.lognormal(6.0, 0.5), 150, 2000))
            mid = lengths[c] // 2
            if abs(s - mid) < lengths[c] // 200 + 3000:  # not in the centromere gap
                continue
            rows.append((names.index(names[c]), int(s), int(s) + length, int(rng.integers(0, length))))
    rows.sort()
    peaks = work / "positives.narrowPeak"
    with open(peaks, "w") as out:
        for i, (c, s, e, summit) in enumerate(rows[:n]):
            out.write(f"chr{names[c]}\t{s}\t{e}\tpeak{i}\t1000\t.\t5.0\t-1\t-1\t{summit}\n")
    exclude = work / "exclude.bed"
    with open(exclude, "w") as out:
        for _ in range(20_000):
            c = int(rng.integers(0, len(names)))
            s = int(rng.integers(0, lengths[c] - 1000))
            out.write(f"chr{names[c]}\t{s}\t{s + 1000}\n")
    return peaks, exclude


def write_queries(work: Path, genome_dir: Path, n: int, seed: int) -> tuple[Path, Path]:
    """`queries.fa` (windows on random strands, 1% absent) and `truth.tsv`."""
    from gbhub.builders.genome import Genome, n_runs

    genome = Genome(genome_dir)
    rng = np.random.default_rng(seed)
    names = [c for c in genome.contigs]
    lengths = np.array([genome.contigs[c].length for c in names], dtype=np.int64)
    offsets = np.array([genome.contigs[c].offset for c in names], dtype=np.int64)
    n_s, n_e = n_runs(genome, progress=False)
    contig = rng.choice(len(names), size=2 * n, p=lengths / lengths.sum())
    size = rng.integers(150, 501, 2 * n)
    start = (rng.random(2 * n) * (lengths[contig] - size)).astype(np.int64)
    flat = offsets[contig] + start
    j = np.searchsorted(n_s, flat + size) - 1  # drop windows touching an N run
    clear = ~((j >= 0) & (n_e[np.maximum(j, 0)] > flat))
    present = int(n * 0.99)
    contig, size, start = contig[clear][:present], size[clear][:present], start[clear][:present]
    minus = rng.random(present) < 0.5
    seqs = genome.fetch(np.array(names, dtype=object)[contig], start, start + size, minus).to_pylist()
    absent = ["".join(rng.choice(list("ACGT"), size=300)) for _ in range(n - present)]
    fasta = work / f"queries{n}.fa"
    with open(fasta, "w") as out:
        for i, seq in enumerate(seqs + absent):
            out.write(f">q{i}\n{seq}\n")
    truth = work / f"truth{n}.tsv"
    with open(truth, "w") as out:
        out.write("id\tregion\tstart\tend\tstrand\n")
        for i in range(present):
            out.write(f"q{i}\t{names[contig[i]]}\t{start[i]}\t{start[i] + size[i]}\t{'-' if minus[i] else '+'}\n")
        for i in range(present, n):
            out.write(f"q{i}\t\t\t\t\n")
    return fasta, truth


# ------------------------------------------------------------------------------------------------- phases


def child(argv: list[str]) -> int:
    """Run one measured phase: `child RESULT_JSON (gbhub ARGS... | upstream QUERIES FASTA CONTIG)`."""
    result_path, kind, *rest = argv
    result: dict = {}
    with measure(result):
        if kind == "gbhub":
            from gbhub.cli import main

            result["exit"] = main(rest)
        elif kind == "locate-library":  # ours, the library call only (the reference prepared before)
            from gbhub.builders.genome import Genome, iter_fasta
            from gbhub.builders.locate import locate_sequences

            queries, prepared = rest
            seqs = [s.decode() for _, s in iter_fasta(queries)]
            t0 = time.perf_counter()
            located = locate_sequences(Genome(prepared), seqs, progress=False)
            result["library_s"] = round(time.perf_counter() - t0, 3)
            result["counts"] = located.counts()
        else:  # upstream seq2loc on one contig, unmodified
            from Bio import SeqIO
            from genomic_benchmarks.seq2loc import fasta2loc

            queries, fasta, contig = rest
            t0 = time.perf_counter()
            ref = {r.id: str(r.seq).upper() for r in SeqIO.parse(fasta, "fasta") if r.id == contig}
            result["load_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            found = fasta2loc(queries, ref)
            result["library_s"] = round(time.perf_counter() - t0, 3)
            result["found"] = len(found)
    write_result(result_path, result)
    return 0


def run_child(work: Path, name: str, *args: str) -> dict:
    out = work / f"{name}.json"
    env = dict(os.environ, TQDM_DISABLE="1")
    proc = subprocess.run([sys.executable, __file__, "--child", str(out), *args], env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0 or not out.is_file() or json.loads(out.read_text()).get("exit", 0) != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    result = json.loads(out.read_text())
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def check_located(located: Path, truth: Path) -> dict:
    import pandas as pd

    got = pd.read_csv(located, sep="\t", dtype=str, keep_default_na=False)
    want = pd.read_csv(truth, sep="\t", dtype=str, keep_default_na=False)
    same = (got["region"] == want["region"]) & (got["start"] == want["start"]) & (got["strand"] == want["strand"])
    present = want["region"] != ""
    return {"present_mapped_exactly": int((same & present).sum()), "present": int(present.sum()),
            "absent_reported_unmapped": int(((got["status"] == "unmapped") & ~present).sum()),
            "absent": int((~present).sum()), "statuses": got["status"].value_counts().to_dict()}


def _timed(cmd: list[str]) -> dict:
    """Wall and CPU seconds of one whole process (CPU from the kernel's accounting of reaped children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, TQDM_DISABLE="1"))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}


def ab(argv: list[str]) -> int:
    """`--ab RUNS QUERIES CONTIG_FASTA CONTIG [--upstream-python PY] [--cache-dir DIR]`: see the module doc."""
    p = argparse.ArgumentParser(prog="bench_create_locate.py --ab")
    p.add_argument("runs", type=int)
    p.add_argument("queries")
    p.add_argument("contig_fasta")
    p.add_argument("contig")
    p.add_argument("--upstream-python", default=sys.executable)
    p.add_argument("--cache-dir", default=None, help="ours: the reference cache (default: a folder next to the FASTA)")
    args = p.parse_args(argv)
    cache = args.cache_dir or str(Path(args.contig_fasta).with_suffix(".gbhub-cache"))
    out = Path(cache) / "located.tsv"
    ours = [sys.executable, "-m", "gbhub", "locate", args.queries, "--reference", f"contig={args.contig_fasta}",
            "--out", str(out), "--cache-dir", cache, "--no-progress"]
    upstream = [args.upstream_python, __file__, "--child", str(Path(cache) / "upstream.json"), "upstream",
                args.queries, args.contig_fasta, args.contig]
    _timed(ours)  # prepares the reference on first use: not counted
    pairs = []
    for i in range(args.runs):
        pair = {"ours": _timed(ours), "upstream": _timed(upstream)}
        pair["speedup_wall"] = round(pair["upstream"]["wall_s"] / pair["ours"]["wall_s"], 1)
        pair["speedup_cpu"] = round(pair["upstream"]["cpu_s"] / pair["ours"]["cpu_s"], 1)
        print(f"pair {i + 1}: {json.dumps(pair)}", flush=True)
        pairs.append(pair)
    summary = {f"median_{side}_{what}": round(statistics.median(p[side][what] for p in pairs), 3)
               for side in ("ours", "upstream") for what in ("wall_s", "cpu_s")}
    summary.update({f"median_{k}": statistics.median(p[k] for p in pairs) for k in ("speedup_wall", "speedup_cpu")})
    summary.update(runs=args.runs, queries=args.queries, contig=args.contig,
                   found_by_upstream=json.loads((Path(cache) / "upstream.json").read_text())["found"],
                   located_by_ours=sum(line.split("\t")[1] == "unique" for line in out.read_text().splitlines()[1:]))
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    if argv[:1] == ["--ab"]:
        return ab(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=Path("/tmp/gbhub-bench-create"))
    p.add_argument("--positives", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=100_000)
    p.add_argument("--contigs", help="comma-separated Ensembl names to keep (default: all of GRCh38)")
    p.add_argument("--skip-upstream", action="store_true")
    p.add_argument("--skip-create", action="store_true", help="reuse the cache and hub of an earlier run")
    p.add_argument("--upstream-queries", type=int, default=2_000)
    p.add_argument("--upstream-contig", default="21")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--clean", action="store_true", help="delete the work folder at the end")
    args = p.parse_args(argv)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    records = genome_records(args.contigs.split(",") if args.contigs else None)
    fasta = work / "genome.fa"
    report: dict = {"positives": args.positives, "queries": args.queries,
                    "genome_bp": sum(r[1] for r in records), "contigs": len(records), "cores": os.cpu_count()}
    t0 = time.perf_counter()
    iso_file = work / "isochores.npz"
    if not fasta.is_file() or not iso_file.is_file():
        isochores = write_genome(fasta, records, args.seed)
        np.savez(iso_file, **isochores)
        report["genome_written_s"] = round(time.perf_counter() - t0, 1)
    with np.load(iso_file) as data:
        isochores = {k: data[k] for k in data.files}
    peaks, exclude = write_beds(work, records, isochores, args.positives, args.seed)

    common = ["--positives", str(peaks), "--reference", f"GRCh38={fasta}", "--width", "500", "--summit-column",
              "10", "--exclude", str(exclude), "--no-progress"]
    if args.contigs:  # a few contigs cannot hold GRCh38's chromosome hold-out (train would be empty)
        common += ["--split", "random"]
    cache = work / "cache"
    if not args.skip_create:
        shutil.rmtree(cache, ignore_errors=True)
    for phase in () if args.skip_create else ("cold", "warm"):
        out = work / f"hub-{phase}"
        shutil.rmtree(out, ignore_errors=True)
        report[f"create_{phase}"] = run_child(work, f"create_{phase}", "gbhub", "create", "bench", *common, "--out",
                                              str(out), "--cache-dir", str(cache))
    previous = work / "bench_create_locate.json"
    if args.skip_create and previous.is_file():
        old = json.loads(previous.read_text())
        report.update({k: old[k] for k in ("create_cold", "create_warm") if k in old})
    prov = json.loads((work / "hub-warm" / "provenance" / "bench.json").read_text())
    neg = prov["created"]["negatives"]
    report["create_result"] = {"rows": prov["splits"], "match": {k: {m: neg["all"][k][m] for m in
                               ("ks", "max_quantile_difference")} for k in neg["all"] if k != "n_fraction"},
                               "widened": neg["widened"], "draws": neg["draws"], "rounds": neg["rounds"]}
    same = all((work / "hub-cold" / "bench" / f).read_bytes() == (work / "hub-warm" / "bench" / f).read_bytes()
               for f in os.listdir(work / "hub-warm" / "bench"))
    report["create_result"]["cold_and_warm_parquet_identical"] = same

    prepared = next((cache / "prepared").glob("*-GRCh38"))
    queries, truth = write_queries(work, prepared, args.queries, args.seed)
    located = work / "located.tsv"
    report["locate"] = run_child(work, "locate", "gbhub", "locate", str(queries), "--reference", f"GRCh38={fasta}",
                                 "--out", str(located), "--cache-dir", str(cache), "--no-progress")
    report["locate_check"] = check_located(located, truth)

    if not args.skip_upstream:
        import pandas as pd

        want = pd.read_csv(truth, sep="\t", dtype=str, keep_default_na=False)
        on = want.index[want["region"] == args.upstream_contig][: args.upstream_queries]
        chosen = set(want.loc[on, "id"])
        sub_q = work / "upstream_queries.fa"
        with open(queries) as src, open(sub_q, "w") as dst:
            lines = src.read().split("\n")
            for head, seq in zip(lines[0::2], lines[1::2]):
                if head[1:] in chosen:
                    dst.write(f"{head}\n{seq}\n")
        sub_fa = work / f"contig{args.upstream_contig}.fa"
        if not sub_fa.is_file():
            from gbhub.builders.genome import Genome

            genome = Genome(prepared)
            contig = genome.contigs[args.upstream_contig]
            with open(sub_fa, "w") as out:
                out.write(f">{args.upstream_contig}\n")
                for pos, block in genome.iter_chunks(contig, LINE * 100_000):
                    text = block.tobytes().decode()
                    out.write("\n".join(text[i: i + LINE] for i in range(0, len(text), LINE)) + "\n")
        sub_cache = work / "cache-upstream-input"
        report["same_input"] = {"queries": len(chosen), "contig": args.upstream_contig,
                                "contig_bp": int(dict(records)[args.upstream_contig])}
        # ours: the command (prepares the contig FASTA on first use: run it twice, report the second) ...
        for i in range(2):
            ours = run_child(work, f"ours_same_input_{i}", "gbhub", "locate", str(sub_q), "--reference",
                             f"contig={sub_fa}", "--out", str(work / "ours_same.tsv"), "--cache-dir", str(sub_cache),
                             "--no-progress")
        report["ours_same_input_command"] = ours
        sub_prepared = next((sub_cache / "prepared").glob("*"))
        report["ours_same_input_library"] = run_child(work, "ours_same_input_library", "locate-library", str(sub_q),
                                                      str(sub_prepared))
        report["upstream_same_input"] = run_child(work, "upstream_same_input", "upstream", str(sub_q), str(sub_fa),
                                                  args.upstream_contig)
        up, us = report["upstream_same_input"], report["ours_same_input_library"]
        report["speedup_library"] = round(up["library_s"] / us["library_s"], 1)
        report["speedup_process"] = round(up["wall_s"] / report["ours_same_input_command"]["wall_s"], 1)
        # upstream's rate on the full input, from its measured per-base rate on the same queries
        rate = report["same_input"]["contig_bp"] / up["library_s"]
        report["upstream_extrapolated_full_genome_s"] = round(report["genome_bp"] / rate)
        print("\nA/B of the whole processes on the same input (alternating, ratio pair by pair):")
        print(f"  {sys.executable} {__file__} --ab 3 {sub_q} {sub_fa} {args.upstream_contig} --cache-dir {sub_cache}")
    (work / "bench_create_locate.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    if args.clean:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
