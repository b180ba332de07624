"""Measuring one phase of `bench_builders.py` inside a child process: wall, CPU and peak memory (stdlib only).

Imported both by our phases and by the upstream runner (which runs in a throwaway venv), so both sides
are measured by the same code. Memory figures, all in MiB:

- `peak_rss_mib`: `VmHWM` of the process (the high-water mark of resident pages, anonymous *and*
  file-backed — pages of a memory-mapped genome that were touched count here). Not `ru_maxrss`: on
  Linux a child's `ru_maxrss` starts at its parent's high-water mark (exec records the old mm's
  hiwater; with vfork that is the parent's), so it is only an upper bound of the child's own peak;
- `peak_anon_mib`: highest `RssAnon` seen by a 20 ms poller of `/proc/self/status` (private heap: what a
  genome loaded into Python objects costs), with `rss_file_at_peak_mib` beside it;
- `children_peak_rss_mib`: `ru_maxrss` of reaped worker processes (`num_proc`), 0 when none (an
  upper bound, for the reason above).
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from contextlib import contextmanager


def _status() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    out[key] = int(rest.split()[0])  # kB
    except OSError:
        pass
    return out


class _Poller(threading.Thread):
    def __init__(self, interval: float = 0.02):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_anon = 0
        self.file_at_peak = 0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            s = _status()
            if s.get("RssAnon", 0) > self.peak_anon:
                self.peak_anon, self.file_at_peak = s["RssAnon"], s.get("RssFile", 0)
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()


def _cpu(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


@contextmanager
def measure(result: dict):
    """Fill `result` with wall/CPU seconds and memory peaks of the `with` body (see module doc)."""
    poller = _Poller()
    poller.start()
    cpu0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        yield result
    finally:
        wall = time.perf_counter() - t0
        cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu0
        poller.stop()
        result.update(
            wall_s=round(wall, 3),
            cpu_s=round(cpu, 3),
            peak_rss_mib=round(_status().get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1),
            ru_maxrss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            peak_anon_mib=round(max(poller.peak_anon, _status().get("RssAnon", 0)) / 1024, 1),
            rss_file_at_peak_mib=round(poller.file_at_peak / 1024, 1),
            children_peak_rss_mib=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        )


def write_result(path: str | None, result: dict) -> None:
    """Write the child's figures where the parent asked (atomically), or print them."""
    text = json.dumps(result)
    if not path:
        print(text)
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
