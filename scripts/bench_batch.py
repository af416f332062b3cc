"""Dossiers per minute: `dossier batch` (the Prefect flow) against the plain sequential `run_batch` loop.

Over fixtures/samples/dossiers, with --workers 1 and 2:
- in-process: `run_batch(...)` and `run_check_dossiers(...)` called from this interpreter, after a
  warm-up run (so the flow's temporary Prefect server is already up and jieba is loaded);
- as a process: the loop in a fresh interpreter, and `dossier batch` (interpreter start, Prefect's
  temporary server and all);
- as a process against a running Prefect server (PREFECT_API_URL; flows/SERVER.md): no server start.
Timed runs refresh Prefect's cache (PREFECT_TASKS_REFRESH_CACHE) so every dossier is really checked;
a last line times a cached re-run. Results go to a temporary result store, not ~/.prefect.
Goal: the Prefect batch at least 0.9x the loop on one worker, and faster with two.
Also checks that both produce the same reports (timestamps and timings aside).

    .venv/bin/python -m scripts.bench_batch [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples" / "dossiers"
DOSSIER = str(Path(sys.executable).with_name("dossier"))
FORMATS = ["json", "html"]
LOOP_PROCESS = """
import sys
from pathlib import Path
from extractors.sandbox import DEFAULT_TIMEOUT
from pipeline.batch import run_batch
from pipeline.ruleset import load_ruleset
run_batch(Path(sys.argv[1]), Path(sys.argv[2]), load_ruleset(), ["json", "html"], int(sys.argv[3]),
          DEFAULT_TIMEOUT, quiet=True)
"""


def best(runs: int, once: Callable[[Path], float], work: Path, label: str) -> float:
    """The fastest of `runs` runs (the machine is shared: the minimum is the least disturbed)."""
    seconds = []
    for n in range(runs):
        out = work / f"{label}-{n}"
        seconds.append(once(out))
        if n < runs - 1:
            shutil.rmtree(out, ignore_errors=True)
    return min(seconds)


def timed_process(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what changes from run to run."""
    report = json.loads(json.dumps(report))
    report.pop("elapsed_seconds", None)
    report["dossier"].pop("checked_at", None)
    for file in report["dossier"]["files"]:
        file.pop("seconds", None)
    return report


def same_reports(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir() if p.is_dir())
    if names != sorted(p.name for p in b.iterdir() if p.is_dir()):
        return False
    return all(
        comparable(json.loads((a / n / "report.json").read_text(encoding="utf-8")))
        == comparable(json.loads((b / n / "report.json").read_text(encoding="utf-8")))
        for n in names
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="runs per measure; the fastest counts")
    parser.add_argument("--inbox", type=Path, default=SAMPLES)
    args = parser.parse_args()
    inbox: Path = args.inbox.resolve()
    count = sum(1 for _ in inbox.iterdir())
    work = Path(tempfile.mkdtemp(prefix="dossier-bench-batch-"))
    env = {
        **os.environ,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(work / "prefect-results"),
        "PREFECT_TASKS_REFRESH_CACHE": "true",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # A temporary server stopped while it still records events logs tracebacks; not ours to show.
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    }
    os.environ.update(env)  # before Prefect is imported: its settings are read once
    try:
        from flows.server import start_server

        # The product's other Prefect defaults (its home under the cache) and the temporary server, as
        # `dossier batch` has them.
        server = start_server()
        from extractors.sandbox import DEFAULT_TIMEOUT
        from flows.check import run_check_dossiers
        from pipeline.batch import run_batch
        from pipeline.ruleset import load_ruleset

        ruleset = load_ruleset()
        warm = work / "warm-inbox"
        warm.mkdir()
        first = sorted(inbox.iterdir())[0]
        (warm / first.name).symlink_to(first)
        run_batch(warm, work / "warm-loop", ruleset, FORMATS, 1, DEFAULT_TIMEOUT, quiet=True)
        started = time.perf_counter()
        run_check_dossiers(warm, work / "warm-flow", workers=1, server=server)
        print(
            f"Prefect start-up in this process (temporary server, first flow run): {time.perf_counter() - started:.1f} s"
        )

        def loop_in(workers: int) -> Callable[[Path], float]:
            def once(out: Path) -> float:
                started = time.perf_counter()
                run_batch(inbox, out, ruleset, FORMATS, workers, DEFAULT_TIMEOUT, quiet=True)
                return time.perf_counter() - started

            return once

        def flow_in(workers: int) -> Callable[[Path], float]:
            def once(out: Path) -> float:
                started = time.perf_counter()
                run_check_dossiers(inbox, out, workers=workers, server=server)
                return time.perf_counter() - started

            return once

        def loop_process(workers: int) -> Callable[[Path], float]:
            return lambda out: timed_process(
                [sys.executable, "-c", LOOP_PROCESS, str(inbox), str(out), str(workers)], env
            )

        # The temporary server this process started for its own flow runs: a `dossier batch` process
        # pointed at it (PREFECT_API_URL) shows what a bureau running `prefect server start` sees.
        server_env = {**env, "PREFECT_API_URL": server.url() if server else os.environ["PREFECT_API_URL"]}

        def batch_process(workers: int, environment: dict[str, str] = env) -> Callable[[Path], float]:
            return lambda out: timed_process(
                [DOSSIER, "batch", str(inbox), "--out", str(out), "--quiet", "--workers", str(workers)], environment
            )

        seconds: dict[tuple[str, str, int], float] = {}
        for workers in (1, 2):
            seconds["in-process", "loop", workers] = best(args.runs, loop_in(workers), work, f"loop-in-{workers}")
            seconds["in-process", "flow", workers] = best(args.runs, flow_in(workers), work, f"flow-in-{workers}")
            seconds["process", "loop", workers] = best(args.runs, loop_process(workers), work, f"loop-p-{workers}")
            seconds["process", "flow", workers] = best(args.runs, batch_process(workers), work, f"flow-p-{workers}")
            seconds["process, server running", "loop", workers] = seconds["process", "loop", workers]
            seconds["process, server running", "flow", workers] = best(
                args.runs, batch_process(workers, server_env), work, f"flow-s-{workers}"
            )
        cached_env = {**env, "PREFECT_TASKS_REFRESH_CACHE": "false"}
        cached = timed_process(
            [DOSSIER, "batch", str(inbox), "--out", str(work / "cached"), "--quiet", "--workers", "2"], cached_env
        )

        def rate(s: float) -> str:
            return f"{count / s * 60:,.0f}/min ({s:.1f} s)"

        print(f"\n{count} dossiers ({inbox}), best of {args.runs}\n")
        print("| measured | workers | plain loop (run_batch) | Prefect batch | Prefect / loop |")
        print("| --- | --- | --- | --- | --- |")
        places = ("in-process", "process", "process, server running")
        for where in places:
            for workers in (1, 2):
                loop, flow_ = seconds[where, "loop", workers], seconds[where, "flow", workers]
                print(f"| {where} | {workers} | {rate(loop)} | {rate(flow_)} | {loop / flow_:.2f}× |")
        print(f"| process, cached re-run | 2 | — | {rate(cached)} | — |")
        print()
        for where in places:
            one = seconds[where, "loop", 1] / seconds[where, "flow", 1]
            two = seconds[where, "flow", 1] / seconds[where, "flow", 2]
            print(
                f"{where}: Prefect/loop on one worker {one:.2f}× (goal ≥ 0.9×: {'met' if one >= 0.9 else 'NOT met'}); "
                f"Prefect two workers / one {two:.2f}× (goal > 1: {'met' if two > 1 else 'NOT met'})"
            )
        last = args.runs - 1  # best() keeps the last run's output
        same = same_reports(work / f"loop-in-1-{last}", work / f"flow-in-1-{last}")
        print(f"same reports from the loop and the flow: {'yes' if same else 'NO'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
