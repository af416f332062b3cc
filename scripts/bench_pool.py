"""The shared extraction pool over a batch of scanned dossiers (part of `make bench`).

The plain batch (pipeline/batch.py: one Engine, dossiers on threads) over fixtures/scanned/dossiers, each
run with a fresh pool and an empty OCR cache (DOSSIER_CACHE_DIR), in these modes:
- `one run_all at a time`: a lock around `run_all`, as the pool was shared before (SharedPool), 2 in flight;
- `shared, N in flight`: the callers' jobs interleaved on the workers, N dossiers in flight.
Runs alternate between the modes (the machine is shared); the median counts. Prints the wall time, each
mode against the first, the pool's busy share (worker-seconds on jobs / (workers × wall)), the mean and
longest time a dossier took (its start to its report), and whether every mode wrote the same reports
(timestamps and timings aside).

    .venv/bin/python -m scripts.bench_pool [--runs 3] [--workers 2] [--inbox DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.sandbox import DEFAULT_TIMEOUT, ExtractionPool, default_workers
from scripts.bench_batch import same_reports

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ROOT / "fixtures" / "scanned" / "dossiers"
FORMATS = ["json"]


class OneAtATime(ExtractionPool):
    """The pool as it was shared before: one `run_all` at a time."""

    def __init__(self, workers: int, timeout: float) -> None:
        super().__init__(workers=workers, timeout=timeout)
        self._one = threading.Lock()

    def run_all(self, jobs: Sequence[Any]) -> list[Any]:
        with self._one:
            return super().run_all(jobs)


@dataclass
class Run:
    seconds: float
    busy_share: float
    dossier_seconds: float  # mean time from a dossier's start to its report
    longest: float  # the longest of those


def batch(inbox: Path, out: Path, pool: ExtractionPool, in_flight: int) -> Run:
    """run_batch's loop with a pool and a number of dossiers in flight of our choosing."""
    from pipeline.batch import dossiers_in
    from pipeline.engine import Engine
    from pipeline.ruleset import load_ruleset

    started = time.perf_counter()
    with pool.warm(), Engine(load_ruleset(), pool=pool) as engine, ThreadPoolExecutor(in_flight) as threads:
        futures = [threads.submit(engine.run_one, child, ident, out, FORMATS) for ident, child in dossiers_in(inbox)]
        outcomes = [future.result() for future in futures]
        seconds = time.perf_counter() - started
        busy = pool.busy_seconds / (pool.size * seconds)
    elapsed = [o.report.elapsed_seconds for o in outcomes if o.report is not None]
    return Run(seconds, busy, statistics.mean(elapsed or [0.0]), max(elapsed or [0.0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per mode; the median counts")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--inbox", type=Path, default=SCANNED)
    args = parser.parse_args()
    modes: dict[str, tuple[type[ExtractionPool], int]] = {
        "one run_all at a time, 2 in flight": (OneAtATime, 2),
        "shared, 2 in flight": (ExtractionPool, 2),
        "shared, 3 in flight": (ExtractionPool, 3),
    }
    work = Path(tempfile.mkdtemp(prefix="dossier-bench-pool-"))
    runs: dict[str, list[Run]] = {mode: [] for mode in modes}
    try:
        for n in range(args.runs):
            for mode, (kind, in_flight) in modes.items():
                os.environ["DOSSIER_CACHE_DIR"] = str(work / f"cache-{n}-{len(runs[mode])}-{kind.__name__}-{in_flight}")
                out = work / f"{list(modes).index(mode)}-{n}"
                runs[mode].append(batch(args.inbox, out, kind(args.workers, DEFAULT_TIMEOUT), in_flight))
                print(f"run {n + 1}, {mode}: {runs[mode][-1].seconds:.1f} s", file=sys.stderr)
        count = sum(1 for _ in args.inbox.iterdir())
        print(f"\n{count} dossiers ({args.inbox}), {args.workers} workers, median of {args.runs}, empty OCR cache\n")
        print("| mode | wall | vs first | pool busy share | seconds a dossier: mean, longest |")
        print("| --- | --- | --- | --- | --- |")
        first = statistics.median(r.seconds for r in runs[next(iter(modes))])
        for mode in modes:
            wall = statistics.median(r.seconds for r in runs[mode])
            busy = statistics.median(r.busy_share for r in runs[mode])
            latency = statistics.median(r.dossier_seconds for r in runs[mode])
            longest = statistics.median(r.longest for r in runs[mode])
            print(f"| {mode} | {wall:.1f} s | {first / wall:.2f}× | {busy:.0%} | {latency:.1f} s, {longest:.1f} s |")
        outs = [work / f"{i}-{n}" for i in range(len(modes)) for n in range(args.runs)]
        same = all(same_reports(outs[0], other) for other in outs[1:])
        print(f"\nsame reports in every mode and run: {'yes' if same else 'NO'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
