"""Benchmark: build the nine Genomic Benchmarks from synthetic full-size references, side by side with upstream.

    python scripts/bench_builders.py                                   # everything (~25-40 min, ~15 GB disk)
    python scripts/bench_builders.py --skip-upstream                   # ours only
    python scripts/bench_builders.py --benchmarks drosophila_enhancers_stark --skip-upstream   # quick (~1 min)

What it does, in a work folder (default `/tmp/gbhub-bench`; generated genomes and outputs are deleted at
the end unless `--keep`):

1. Writes synthetic references with the real contig names and lengths (`builders.assemblies.KNOWN_LENGTHS`;
   random ACGT, numpy, fixed seed, 60-column lines, gzip) under the names and record naming of the Ensembl
   files (`Homo_sapiens.GRCh38.dna.toplevel.fa.gz` with records `1`..`22`, `X`, `Y`, `MT`, ...), so the same
   files serve both packages. One human file serves GRCh38 r97 and r100 (upstream caches references by
   file name too). The cDNA reference holds one record per transcript id of the
   `demo_coding_vs_intergenomic_seqs` tables, versioned (`ENST00000217185.5`), long enough for every
   interval. Only the references the selected benchmarks need are written.
2. Cold: prepares every reference (`resolve_reference(local_path=...)`) — one child process each.
3. Warm: builds each benchmark from the prepared references (`build_benchmark`, Parquet written, no
   card) — one child process each — and the pure extraction throughput (`Genome.fetch` over every
   genomic interval of the human benchmarks, best of `--repeats`).
4. Upstream (unless `--skip-upstream`): PyPI `genomic-benchmarks` in a throwaway venv, its
   `download_dataset(<datasets/NAME>, use_cloud_cache=False, local_repo=True)` on the same tables with
   the same `.fa.gz` files as its reference cache — one child process per benchmark; a sample of its
   `.txt` outputs is compared with our Parquet.
5. Prints one JSON object with every figure (also written to `<workdir>/bench_builders.json`) and a
   short summary with the targets of issue 2.

Every child is timed from inside (the library call only) and from outside (`os.wait4`: the whole process,
interpreter start and imports included). Memory: `ru_maxrss` (resident high-water mark, which counts the
touched pages of a memory-mapped genome) and the peak of `RssAnon` (private heap) — see
`scripts/bench_builders_measure.py`.

`--scale` multiplies the number of intervals of the extraction-throughput phase (intervals resampled from
the human tables with a fixed seed; 1.0 = each once). The builds always use the full, checksum-pinned
tables and the references always have their real lengths (the assembly check would refuse anything else);
for a quick run select small benchmarks with `--benchmarks` (only their references are generated).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_builders_measure import measure, write_result  # noqa: E402

DEFAULT_COORDINATES = Path("/work/shared/upstream/genomic_benchmarks/datasets")
UPSTREAM_PACKAGE = "genomic-benchmarks==1.0.0"
LINE = 60  # Ensembl FASTA line width
BLOCK_LINES = 1 << 20  # lines generated per numpy block (~61 MiB of FASTA text)
# Ensembl spelling of the mitochondrion in each assembly's FASTA (KNOWN_LENGTHS calls it "MT").
MITO_NAME = {"GRCh38": "MT", "GRCm38": "MT", "BDGP6.28": "mitochondrion_genome", "WBcel235": "MtDNA"}
TARGETS = {
    "extraction_intervals_per_s_min": 1_000_000,
    "warm_collection_wall_s_max": 60,
    "peak_rss_gib_max": 2.0,
    "speedup_warm_vs_upstream_min": 10,
    "memory_fraction_of_upstream_max": 0.25,
}


# ----------------------------------------------------------------------------------------- references


def reference_plan(benchmarks: list[str]) -> dict[str, dict]:
    """`{fasta file name: {"keys": [reference keys], "assembly", "kind"}}` the benchmarks need."""
    from gbhub.builders.references import REFERENCES
    from gbhub.builders.registry import get_benchmark

    files: dict[str, dict] = {}
    for name in benchmarks:
        for key in sorted(set(get_benchmark(name).class_references.values())):
            ref = REFERENCES[key]
            entry = files.setdefault(ref.filename, {"keys": [], "assembly": ref.assembly, "kind": ref.kind})
            if key not in entry["keys"]:
                entry["keys"].append(key)
    return files


def _random_lines(rng: np.random.Generator, n: int) -> bytes:
    """`n` random bases as FASTA text, `LINE` per line, newline-terminated."""
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    full, rest = divmod(n, LINE)
    text = np.full((full, LINE + 1), ord("\n"), dtype=np.uint8)
    text[:, :LINE] = letters[rng.integers(0, 4, size=(full, LINE), dtype=np.uint8)]
    out = text.tobytes()
    if rest:
        out += letters[rng.integers(0, 4, size=rest, dtype=np.uint8)].tobytes() + b"\n"
    return out


def _write_fasta(path: Path, records: list[tuple[str, str, int]], seed: int) -> None:
    """Write gzip FASTA `path` from `(name, header rest, length)` records, random ACGT, atomically."""
    rng = np.random.default_rng(seed)
    tmp = path.with_name(path.name + ".tmp")
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip container, fastest level
    with open(tmp, "wb") as out:
        for name, rest, length in records:
            out.write(compressor.compress(f">{name} {rest}\n".encode()))
            done = 0
            while done < length:
                n = min(length - done, BLOCK_LINES * LINE)
                out.write(compressor.compress(_random_lines(rng, n)))
                done += n
        out.write(compressor.flush())
    os.replace(tmp, path)


def genome_records(assembly: str) -> list[tuple[str, str, int]]:
    """Ensembl-named records of `assembly` in Ensembl toplevel order (chromosomes, then the mitochondrion)."""
    from gbhub.builders.assemblies import KNOWN_LENGTHS

    records = []
    for contig, length in KNOWN_LENGTHS[assembly].items():
        name = MITO_NAME[assembly] if contig == "MT" else contig
        records.append((name, f"dna:chromosome chromosome:{assembly}:{name}:1:{length}:1 REF", length))
    nuclear = [r for r in records if r[0] != MITO_NAME[assembly]]
    return nuclear + [r for r in records if r[0] == MITO_NAME[assembly]]


def cdna_records(coordinates_dir: Path, seed: int) -> list[tuple[str, str, int]]:
    """One versioned record per transcript of the demo_coding_vs_intergenomic_seqs tables."""
    frames = [
        pd.read_csv(coordinates_dir / "demo_coding_vs_intergenomic_seqs" / split / "coding_seqs.csv.gz")
        for split in ("train", "test")
    ]
    ends = pd.concat(frames).groupby("region")["end"].max().sort_index()
    rng = np.random.default_rng(seed)
    versions = rng.integers(1, 10, size=len(ends))
    tails = rng.integers(0, 1000, size=len(ends))
    return [
        (f"{tid}.{v}", f"cdna chromosome:GRCh38:1:1:{int(e) + int(t)}:1 gene:ENSG0 transcript_biotype:protein_coding",
         int(e) + int(t))
        for (tid, e), v, t in zip(ends.items(), versions, tails)
    ]


def generate_references(plan: dict[str, dict], folder: Path, coordinates_dir: Path, seed: int) -> dict:
    """Write the synthetic `.fa.gz` files of `plan` into `folder` (kept if already complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {}
    for i, (filename, entry) in enumerate(sorted(plan.items())):
        path = folder / filename
        file_seed = seed + int(hashlib.sha256(filename.encode()).hexdigest()[:8], 16)
        if entry["kind"] == "transcriptome":
            records = cdna_records(coordinates_dir, file_seed)
        else:
            records = genome_records(entry["assembly"])
        stamp = folder / f".{filename}.done"
        expected = json.dumps({"seed": file_seed, "records": len(records), "bp": sum(r[2] for r in records)})
        t0 = time.perf_counter()
        reused = path.is_file() and stamp.is_file() and stamp.read_text() == expected
        if not reused:
            _log(f"generating {filename} ({sum(r[2] for r in records) / 1e6:,.1f} Mbp, {len(records)} records)")
            _write_fasta(path, records, file_seed)
            stamp.write_text(expected)
        figures[filename] = {
            "reference_keys": entry["keys"],
            "records": len(records),
            "bp": sum(r[2] for r in records),
            "gz_bytes": path.stat().st_size,
            "generate_s": None if reused else round(time.perf_counter() - t0, 1),
        }
    return figures


# ----------------------------------------------------------------------------------------- child phases


def _child_prepare(args: dict) -> dict:
    from gbhub.builders.references import REFERENCES, resolve_reference

    result = {"phase": "prepare", "reference": args["key"]}
    with measure(result):
        resolved = resolve_reference(REFERENCES[args["key"]], local_path=Path(args["fasta"]),
                                     cache_dir=args["cache"], progress=False)
    result["prepared"] = str(resolved.genome.path)
    result["bp"] = int(sum(c.length for c in resolved.genome.contigs.values()))
    return result


def _child_build(args: dict) -> dict:
    from gbhub.builders.build import build_benchmark

    result = {"phase": "build", "benchmark": args["name"]}
    profiler = None
    if args.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    with measure(result):
        if profiler:
            profiler.enable()
        target = build_benchmark(
            args["name"], args["out"], coordinates_dir=args["coordinates"],
            references={k: Path(v) for k, v in args["references"].items()}, cache_dir=args["cache"],
            num_proc=args.get("num_proc"), progress=False,
        )
        if profiler:
            profiler.disable()
    result["parquet_bytes"] = sum(p.stat().st_size for p in Path(target).glob("*.parquet"))
    if profiler:
        result["profile"] = _profile_summary(profiler, Path(args["profile"]))
    return result


def _profile_summary(profiler, path: Path, top: int = 25) -> list[dict]:
    import pstats

    profiler.dump_stats(str(path))
    stats = pstats.Stats(profiler).stats
    rows = []
    for (file, line, func), (_, ncalls, _, cumtime, _) in stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({func})", "ncalls": ncalls,
                     "cumtime_s": round(cumtime, 3)})
    rows.sort(key=lambda r: -r["cumtime_s"])
    return rows[:top]


def _child_extract(args: dict) -> dict:
    from gbhub.builders.genome import Genome

    regions, starts, ends, minus = [], [], [], []
    for name, table in args["tables"]:
        frame = pd.read_csv(table, keep_default_na=False)
        regions.append(frame["region"].to_numpy(object))
        starts.append(frame["start"].to_numpy(np.int64))
        ends.append(frame["end"].to_numpy(np.int64))
        minus.append((frame["strand"] == "-").to_numpy())
    regions, starts, ends, minus = (np.concatenate(x) for x in (regions, starts, ends, minus))
    n_table = len(starts)
    n = max(1, int(round(n_table * args["scale"])))
    if n != n_table:
        pick = np.random.default_rng(0).integers(0, n_table, size=n)
        regions, starts, ends, minus = regions[pick], starts[pick], ends[pick], minus[pick]
    genome = Genome(args["genome"])
    runs = []
    result = {"phase": "extract", "genome": args["genome"], "intervals": int(n),
              "table_intervals": int(n_table), "bp": int((ends - starts).sum()),
              "minus_fraction": round(float(minus.mean()), 3)}
    with measure(result):
        for _ in range(args["repeats"]):
            t0 = time.perf_counter()
            c0 = time.process_time()
            out = genome.fetch(regions, starts, ends, minus)
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
            assert len(out) == n
            del out
    best = min(r[0] for r in runs)
    result["runs_wall_s"] = [round(r[0], 3) for r in runs]
    result["runs_cpu_s"] = [round(r[1], 3) for r in runs]
    result["first_intervals_per_s"] = round(n / runs[0][0])
    result["best_intervals_per_s"] = round(n / best)
    result["best_mbp_per_s"] = round(result["bp"] / best / 1e6, 1)
    return result


CHILD_PHASES = {"prepare": _child_prepare, "build": _child_build, "extract": _child_extract}


def _run_child(argv: list[str], result_path: Path, env: dict | None = None, log: Path | None = None) -> dict:
    """Run a child to completion; return its JSON result plus whole-process figures from `os.wait4`."""
    if result_path.exists():
        result_path.unlink()
    t0 = time.perf_counter()
    with open(log or os.devnull, "ab") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    process = {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        # ru_maxrss of a child starts at the parent's high-water mark (see bench_builders_measure): a bound only
        "ru_maxrss_upper_bound_mib": round(usage.ru_maxrss / 1024, 1),
    }
    if proc.returncode != 0 or not result_path.exists():
        tail = Path(log).read_text(errors="replace")[-3000:] if log else ""
        return {"error": f"exit status {proc.returncode}", "log_tail": tail, "process": process}
    result = json.loads(result_path.read_text())
    result["process"] = process
    return result


def _ours(phase: str, args: dict, workdir: Path) -> dict:
    result_path = workdir / "results" / f"{phase}-{args.get('name') or args.get('key') or 'x'}.json"
    result_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TQDM_DISABLE="1", HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
               HF_DATASETS_CACHE=str(workdir / "hf-cache"), HF_HOME=str(workdir / "hf-home"))
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", phase, json.dumps(args), str(result_path)]
    return _run_child(argv, result_path, env=env, log=workdir / "logs" / f"{result_path.stem}.log")


# ----------------------------------------------------------------------------------------- upstream


def setup_upstream(workdir: Path) -> tuple[Path, dict]:
    """A venv (system site packages: numpy/pandas reused) with `genomic-benchmarks` and its small deps."""
    venv = workdir / "upstream-venv"
    python = venv / "bin" / "python"
    t0 = time.perf_counter()
    probe = [str(python), "-c", "import genomic_benchmarks.loc2seq, Bio; print(Bio.__version__)"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", UPSTREAM_PACKAGE], check=True)
    versions = subprocess.run(
        [str(python), "-c",
         "from importlib.metadata import version as v; import json; "
         "print(json.dumps({p: v(p) for p in ('genomic-benchmarks', 'biopython', 'pandas')}))"],
        capture_output=True, text=True, check=True,
    )
    return python, {"venv_setup_s": round(time.perf_counter() - t0, 1), **json.loads(versions.stdout)}


def upstream_collision(dataset_dir: Path) -> str | None:
    """Why upstream may fail at random on this benchmark, or None.

    Upstream collects `{(url, type, extra_processing)}` of the classes into a *set* and stores each
    loaded FASTA under the URL basename, so two classes with the same file but different
    `extra_processing` (drosophila_enhancers_stark: `negative` has none, `positive` adds `chr`) overwrite
    each other in set order. On Python < 3.12 `hash(None)` is address-based, so that order changes from
    run to run even with a fixed PYTHONHASHSEED: upstream then fails ("Some regions not found") unless
    the entry with the `chr` naming happens to load last. We retry and report the attempts.
    """
    import yaml

    meta = yaml.safe_load((dataset_dir / "metadata.yaml").read_text())
    refs = {(c["url"], c["type"], c.get("extra_processing")) for c in meta["classes"].values()}
    if len({r[0] for r in refs}) == len(refs):
        return None
    return (f"{dataset_dir.name}: one reference file, {len(refs)} extra_processing values; upstream loads it "
            f"{len(refs)} times and keeps whichever comes last in set order (random on Python < 3.12)")


def run_upstream(name: str, python: Path, coordinates_dir: Path, refs_dir: Path, workdir: Path,
                 attempts: int = 8) -> dict:
    dest = workdir / "upstream-out"
    note = upstream_collision(coordinates_dir / name)
    env = dict(os.environ, TQDM_DISABLE="1")
    result_path = workdir / "results" / f"upstream-{name}.json"
    argv = [str(python), str(Path(__file__).resolve().parent / "bench_builders_upstream.py"),
            str(coordinates_dir / name), str(dest), str(refs_dir), str(result_path)]
    failed = []
    for _ in range(attempts if note else 1):
        result = _run_child(argv, result_path, env=env, log=workdir / "logs" / f"upstream-{name}.log")
        if "error" not in result:
            break
        failed.append({"process": result["process"],
                       "error": result.get("log_tail", "").strip().splitlines()[-1:]})
    if note:
        result["note"] = note
        result["failed_attempts"] = failed
    return result


def compare_outputs(name: str, hub: Path, upstream_dir: Path, coordinates_dir: Path, sample: int) -> dict:
    """Compare `sample` random rows per (split, class) of upstream's `.txt` files with our Parquet."""
    from gbhub.builders.hub_layout import shard_name
    from gbhub.builders.registry import get_benchmark

    spec = get_benchmark(name)
    # ids repeat across upstream splits, so compare split by split: upstream train = our train + validation.
    ours = {split: pd.concat([pd.read_parquet(hub / name / shard_name(s), columns=["id", "sequence", "label"])
                              for s in parts])
            for split, parts in (("train", ("train", "validation")), ("test", ("test",)))}
    checked = mismatched = 0
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label, cls in enumerate(spec.classes):
            table = pd.read_csv(coordinates_dir / name / split / f"{cls}.csv.gz", keep_default_na=False)
            ids = table["id"].astype(str).to_numpy()
            picks = ids[rng.permutation(len(ids))[:sample]]
            mine = ours[split][ours[split]["label"] == label].set_index("id")["sequence"]
            mine = mine[~mine.index.duplicated(keep="last")]  # upstream overwrites <id>.txt: last row wins
            for i in picks:
                theirs = (upstream_dir / name / split / cls / f"{i}.txt").read_text()
                checked += 1
                mismatched += theirs != mine.get(i)
    return {"rows_compared": checked, "mismatches": int(mismatched)}


# ----------------------------------------------------------------------------------------- parent


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _count_intervals(coordinates_dir: Path, name: str) -> int:
    return sum(len(pd.read_csv(p)) for p in (coordinates_dir / name).glob("*/*.csv.gz"))


def _ratio(a, b):
    return round(a / b, 2) if a and b else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        phase, args, result_path = argv[1], json.loads(argv[2]), argv[3]
        write_result(result_path, CHILD_PHASES[phase](args))
        return 0

    from gbhub.builders.registry import upstream_benchmarks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gbhub-bench"),
                        help="work folder: references, caches, outputs, logs (default /tmp/gbhub-bench)")
    parser.add_argument("--coordinates", type=Path, default=DEFAULT_COORDINATES,
                        help="local copy of upstream `datasets/` (default: %(default)s)")
    parser.add_argument("--benchmarks", default="",
                        help="comma-separated benchmark names (default: the nine upstream benchmarks)")
    parser.add_argument("--skip-upstream", action="store_true", help="do not run the upstream package")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="interval multiplier of the extraction-throughput phase (default 1.0)")
    parser.add_argument("--repeats", type=int, default=3, help="extraction runs (best reported; default 3)")
    parser.add_argument("--num-proc", type=int, default=None, help="num_proc of our builds (default: none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic references")
    parser.add_argument("--compare-sample", type=int, default=500,
                        help="rows per (split, class) whose upstream output is compared with ours (default 500)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile each of our builds (top functions in the JSON, .prof files in the workdir)")
    parser.add_argument("--keep", action="store_true",
                        help="keep generated references, prepared genomes and outputs in the workdir")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--warm-only", action="store_true",
                        help="only the warm builds, from the references and cache a `--keep` run left in the "
                             "workdir (no generation, hashing, preparation, extraction or upstream); keeps them")
    args = parser.parse_args(argv)
    if args.warm_only:
        args.skip_upstream, args.keep = True, True

    names = [n for n in args.benchmarks.split(",") if n] or upstream_benchmarks()
    workdir = args.workdir.resolve()
    refs_dir, cache, hub = workdir / "references", workdir / "cache", workdir / "hub"
    for d in (workdir / "results", workdir / "logs"):
        d.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "mem_total_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "settings": {"benchmarks": names, "scale": args.scale, "num_proc": args.num_proc,
                     "repeats": args.repeats, "seed": args.seed, "workdir": str(workdir)},
    }
    intervals = {n: _count_intervals(args.coordinates, n) for n in names}
    report["intervals"] = {**intervals, "total": sum(intervals.values())}

    # 1. synthetic references
    plan = reference_plan(names)
    t0 = time.perf_counter()
    report["references"] = generate_references(plan, refs_dir, args.coordinates, args.seed)
    report["references_generate_wall_s"] = round(time.perf_counter() - t0, 1)
    ref_paths = {key: str(refs_dir / f) for f, e in plan.items() for key in e["keys"]}
    for f, fig in ({} if args.warm_only else report["references"]).items():
        from gbhub.builders.download import sha256_file

        t0 = time.perf_counter()
        sha256_file(refs_dir / f)  # what every `resolve_reference(local_path=...)` does first
        fig["sha256_s"] = round(time.perf_counter() - t0, 2)

    # 2. cold: prepare every reference from scratch
    cold = {}
    if not args.warm_only:
        shutil.rmtree(cache / "prepared", ignore_errors=True)
    for key in sorted(ref_paths) if not args.warm_only else []:
        _log(f"preparing {key}")
        cold[key] = _ours("prepare", {"key": key, "fasta": ref_paths[key], "cache": str(cache)}, workdir)
    report["cold_prepare"] = cold
    prepared = {k: v.get("prepared") for k, v in cold.items()}

    # 3. warm: build each benchmark from the prepared references; pure extraction
    shutil.rmtree(hub, ignore_errors=True)
    warm = {}
    for name in names:
        _log(f"building {name}")
        job = {"name": name, "out": str(hub), "coordinates": str(args.coordinates),
               "references": ref_paths, "cache": str(cache), "num_proc": args.num_proc}
        if args.profile:
            job["profile"] = str(workdir / "results" / f"profile-{name}.prof")
        warm[name] = _ours("build", job, workdir)
        if "wall_s" in warm[name]:
            warm[name]["intervals_per_s"] = round(intervals[name] / warm[name]["wall_s"])
    report["warm_build"] = warm
    human_key = next((k for k in ("GRCh38_ensembl100", "GRCh38_ensembl97") if prepared.get(k)), None)
    if human_key and not args.warm_only:
        from gbhub.builders.registry import get_benchmark

        tables = []
        for name in names:
            spec = get_benchmark(name)
            for cls, key in spec.class_references.items():
                if key.startswith("GRCh38_ensembl"):
                    tables += [[name, str(args.coordinates / name / s / f"{cls}.csv.gz")] for s in ("train", "test")]
        _log(f"extraction throughput ({len(tables)} tables)")
        report["extraction"] = _ours("extract", {"genome": prepared[human_key], "tables": tables,
                                                 "scale": args.scale, "repeats": args.repeats}, workdir)

    # 4. upstream, side by side
    if not args.skip_upstream:
        python, report["upstream_setup"] = setup_upstream(workdir)
        upstream = {}
        for name in names:
            _log(f"upstream {name}")
            upstream[name] = run_upstream(name, python, args.coordinates, refs_dir, workdir)
            if "wall_s" in upstream[name]:
                upstream[name]["intervals_per_s"] = round(intervals[name] / upstream[name]["wall_s"])
                if (hub / name).is_dir():
                    upstream[name]["comparison"] = compare_outputs(
                        name, hub, workdir / "upstream-out", args.coordinates, args.compare_sample)
            shutil.rmtree(workdir / "upstream-out" / name, ignore_errors=True)
        report["upstream"] = upstream

    report["summary"] = summarize(report, names)
    text = json.dumps(report, indent=2)
    (workdir / "bench_builders.json").write_text(text)
    if args.out:
        args.out.write_text(text)
    print(text)
    print(human_summary(report), file=sys.stderr)

    if not args.keep:
        for path in (refs_dir, cache, hub, workdir / "upstream-out", workdir / "hf-cache", workdir / "hf-home"):
            shutil.rmtree(path, ignore_errors=True)
    return 0


def summarize(report: dict, names: list[str]) -> dict:
    def total(section, field, source=None):
        rows = [(v.get(source) if source else v) for v in section.values()]
        if not rows or any(r is None or field not in r for r in rows):
            return None
        return round(sum(r[field] for r in rows), 2)

    def peak(section, field, source=None):
        rows = [(v.get(source) if source else v) for v in section.values()]
        if not rows or any(r is None or field not in r for r in rows):
            return None
        return max(r[field] for r in rows)

    n = report["intervals"]["total"]
    cold, warm = report["cold_prepare"], report["warm_build"]
    s = {
        "intervals": n,
        "cold_prepare_wall_s": total(cold, "wall_s"),
        "cold_prepare_cpu_s": total(cold, "cpu_s"),
        "cold_prepare_peak_rss_mib": peak(cold, "peak_rss_mib"),
        "cold_prepare_peak_anon_mib": peak(cold, "peak_anon_mib"),
        "warm_build_wall_s": total(warm, "wall_s"),
        "warm_build_cpu_s": total(warm, "cpu_s"),
        "warm_build_process_wall_s": total(warm, "wall_s", "process"),
        "warm_build_peak_rss_mib": peak(warm, "peak_rss_mib"),
        "warm_build_peak_anon_mib": peak(warm, "peak_anon_mib"),
    }
    s["warm_intervals_per_s"] = round(n / s["warm_build_wall_s"]) if s["warm_build_wall_s"] else None
    if s["cold_prepare_wall_s"] is not None and s["warm_build_wall_s"] is not None:
        s["cold_total_wall_s"] = round(s["cold_prepare_wall_s"] + s["warm_build_wall_s"], 2)
        s["cold_total_cpu_s"] = round(s["cold_prepare_cpu_s"] + s["warm_build_cpu_s"], 2)
    ext = report.get("extraction") or {}
    s["extraction_intervals_per_s"] = ext.get("best_intervals_per_s")
    s["extraction_peak_rss_mib"] = ext.get("peak_rss_mib")
    s["extraction_peak_anon_mib"] = ext.get("peak_anon_mib")
    up = report.get("upstream")
    if up:
        s["upstream_wall_s"] = total(up, "wall_s")
        s["upstream_cpu_s"] = total(up, "cpu_s")
        s["upstream_process_wall_s"] = total(up, "wall_s", "process")
        s["upstream_peak_rss_mib"] = peak(up, "peak_rss_mib")
        s["upstream_peak_anon_mib"] = peak(up, "peak_anon_mib")
        s["speedup_warm_wall"] = _ratio(s["upstream_wall_s"], s["warm_build_wall_s"])
        s["speedup_warm_cpu"] = _ratio(s["upstream_cpu_s"], s["warm_build_cpu_s"])
        s["speedup_warm_process_wall"] = _ratio(s["upstream_process_wall_s"], s["warm_build_process_wall_s"])
        s["speedup_cold_wall"] = _ratio(s["upstream_wall_s"], s.get("cold_total_wall_s"))
        s["speedup_cold_cpu"] = _ratio(s["upstream_cpu_s"], s.get("cold_total_cpu_s"))
        s["memory_fraction_rss"] = _ratio(s["warm_build_peak_rss_mib"], s["upstream_peak_rss_mib"])
        s["memory_fraction_anon"] = _ratio(s["warm_build_peak_anon_mib"], s["upstream_peak_anon_mib"])
        s["memory_fraction_rss_cold"] = _ratio(
            max(s["warm_build_peak_rss_mib"] or 0, s["cold_prepare_peak_rss_mib"] or 0), s["upstream_peak_rss_mib"])
        s["per_benchmark"] = {
            name: {
                "intervals": report["intervals"][name],
                "ours_wall_s": warm[name].get("wall_s"),
                "upstream_wall_s": up[name].get("wall_s"),
                "speedup": _ratio(up[name].get("wall_s"), warm[name].get("wall_s")),
                "ours_peak_rss_mib": warm[name].get("peak_rss_mib"),
                "upstream_peak_rss_mib": up[name].get("peak_rss_mib"),
                "outputs_equal": (up[name].get("comparison") or {}).get("mismatches") == 0,
            }
            for name in names
        }
    t = TARGETS
    targets = {
        "extraction_ge_1M_per_s": (s["extraction_intervals_per_s"] or 0) >= t["extraction_intervals_per_s_min"],
        "warm_collection_le_60s": (s["warm_build_wall_s"] or 1e9) <= t["warm_collection_wall_s_max"],
        "peak_rss_le_2GiB": max(s["warm_build_peak_rss_mib"] or 1e9, s["cold_prepare_peak_rss_mib"] or 0,
                                s["extraction_peak_rss_mib"] or 0) <= t["peak_rss_gib_max"] * 1024,
    }
    if up:
        targets["warm_ge_10x_faster_than_upstream"] = (s["speedup_warm_wall"] or 0) >= t["speedup_warm_vs_upstream_min"]
        targets["peak_memory_le_quarter_of_upstream"] = (
            (s["memory_fraction_rss"] or 1e9) <= t["memory_fraction_of_upstream_max"])
    s["targets_met"] = targets
    return s


def human_summary(report: dict) -> str:
    s = report["summary"]
    lines = [
        f"intervals: {s['intervals']:,} in {len(report['settings']['benchmarks'])} benchmarks",
        f"cold prepare: {s['cold_prepare_wall_s']} s wall, {s['cold_prepare_cpu_s']} s CPU, "
        f"peak RSS {s['cold_prepare_peak_rss_mib']} MiB",
        f"warm build:   {s['warm_build_wall_s']} s wall ({s['warm_intervals_per_s']} intervals/s), "
        f"{s['warm_build_cpu_s']} s CPU, peak RSS {s['warm_build_peak_rss_mib']} MiB "
        f"(anon {s['warm_build_peak_anon_mib']} MiB)",
        f"extraction:   {s['extraction_intervals_per_s']} intervals/s",
    ]
    if "upstream_wall_s" in s:
        lines += [
            f"upstream:     {s['upstream_wall_s']} s wall, {s['upstream_cpu_s']} s CPU, "
            f"peak RSS {s['upstream_peak_rss_mib']} MiB",
            f"speed-up warm {s['speedup_warm_wall']}x (CPU {s['speedup_warm_cpu']}x), cold {s['speedup_cold_wall']}x; "
            f"memory ours/upstream {s['memory_fraction_rss']} (RSS), {s['memory_fraction_anon']} (anon)",
        ]
    lines.append("targets: " + ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in s["targets_met"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
