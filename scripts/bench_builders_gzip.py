"""Benchmark: the prepare step (gzip FASTA -> prepared reference) with one gzip reader, for side-by-side timing.

    python scripts/bench_builders_gzip.py FASTA.fa.gz --backend stdlib --workdir /tmp/gz
    python scripts/bench_builders_gzip.py FASTA.fa.gz --backend isal --workdir /tmp/gz

Prepares FASTA into a fresh folder under --workdir with `gbhub.builders.genome.prepare` (decompression,
parsing, upper-casing, checksums, writing `sequence.bin`), then deletes it, and prints one JSON line:
backend, seconds, bytes of sequence. Run two backends alternately under a process timer (e.g.
`/usr/bin/time -v`) for whole-process figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

from gbhub.builders import genome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fasta", type=Path, help="a gzip FASTA")
    parser.add_argument("--backend", choices=list(genome.GZIP_OPENERS), default=genome.GZIP_BACKEND,
                        help=f"gzip reader (default: {genome.GZIP_BACKEND}, what gbhub uses)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gbhub-bench-gzip"),
                        help="where the prepared folder is written and deleted (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=1, help="prepare this many times in the process (default 1)")
    args = parser.parse_args(argv)
    genome.GZIP_BACKEND = args.backend
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for _ in range(args.repeat):
        dest = args.workdir / f"prepared-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        try:
            prepared = genome.Genome(genome.prepare(args.fasta, dest, progress=False))
            runs.append(round(time.perf_counter() - t0, 3))
        finally:
            shutil.rmtree(dest, ignore_errors=True)
    print(json.dumps({"backend": args.backend, "prepare_s": runs, "median_s": statistics.median(runs),
                      "sequence_bytes": prepared.sequence_bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
