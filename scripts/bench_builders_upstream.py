"""Runs the upstream PyPI `genomic_benchmarks.loc2seq.download_dataset` on one benchmark, measured (child of bench_builders.py).

    <venv>/bin/python scripts/bench_builders_upstream.py DATASET_DIR DEST REF_CACHE RESULT_JSON

Upstream is called unmodified (`use_cloud_cache=False`, `local_repo=True`, version from metadata);
its `_load_fastas_into_memory` is only wrapped with a timer, to split the time into loading genomes
into its dict and extracting + writing one `.txt` per sequence.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_builders_measure import measure, write_result  # noqa: E402


def main(argv: list[str]) -> int:
    dataset_dir, dest, ref_cache, result_path = argv
    import genomic_benchmarks
    import genomic_benchmarks.loc2seq.loc2seq as loc2seq

    load_seconds = []
    original = loc2seq._load_fastas_into_memory

    def timed_load(refs, cache_path):
        t0 = time.perf_counter()
        try:
            return original(refs, cache_path=cache_path)
        finally:
            load_seconds.append(time.perf_counter() - t0)

    loc2seq._load_fastas_into_memory = timed_load
    os.environ.setdefault("TQDM_DISABLE", "1")
    result = {"package": "genomic-benchmarks", "version": getattr(genomic_benchmarks, "__version__", None)}
    try:
        from importlib.metadata import version

        result["version"] = version("genomic-benchmarks")
    except Exception:  # pragma: no cover - informational only
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with measure(result):
            out = loc2seq.download_dataset(
                Path(dataset_dir), dest_path=dest, cache_path=ref_cache, use_cloud_cache=False,
                local_repo=True,
            )
    result["load_references_s"] = round(sum(load_seconds), 3)
    result["extract_and_write_s"] = round(result["wall_s"] - result["load_references_s"], 3)
    result["files_written"] = sum(1 for _ in Path(out).rglob("*.txt"))
    write_result(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
