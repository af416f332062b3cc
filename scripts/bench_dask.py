"""Dossiers per second on a real Dask cluster: one `dask worker` against two.

A `dask scheduler` and K `dask worker` processes (each with its nanny, `--nthreads THREADS`) on this
machine's loopback; the batch flow (`run_check_dossiers(dask_address=…)`, what `dossier batch
--dask-address` runs) in this process, against a temporary Prefect server started once. Each cluster
first checks a few dossiers (every worker loads its engine and starts its reading processes), then the
inbox is timed: every dossier really checked (PREFECT_TASKS_REFRESH_CACHE), best of --runs.
The inbox: the sample dossiers, each --copies times under another name.

On one machine, two workers share its cores: this measures what the cluster costs and whether two
workers keep the machine busier, not what a second machine adds.

    .venv/bin/python -m scripts.bench_dask [--copies 2] [--runs 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples" / "dossiers"
BIN = Path(sys.executable).parent


def make_inbox(folder: Path, copies: int, limit: int | None = None) -> int:
    """The sample dossiers, each `copies` times (names prefixed a-, b-, …); how many."""
    folder.mkdir(parents=True)
    samples = sorted(SAMPLES.iterdir())[:limit]
    for copy in range(copies):
        for source in samples:
            target = folder / f"{chr(ord('a') + copy)}-{source.name}"
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
    return copies * len(samples)


class Cluster:
    """A scheduler and `workers` workers on loopback, each a process group of its own."""

    def __init__(self, workers: int, threads: int, folder: Path) -> None:
        self.folder = folder
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.processes: list[subprocess.Popen[bytes]] = []
        address_file = folder / "scheduler.json"
        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(address_file))
        self.address = self._address(address_file)
        for n in range(workers):
            self._start("worker", self.address, "--nthreads", str(threads), "--name", f"w{n}")
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)

    def _start(self, *args: str) -> None:
        self.processes.append(
            subprocess.Popen(
                [str(BIN / "dask"), *args, "--no-dashboard"],
                cwd=self.folder,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    @staticmethod
    def _address(path: Path) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                return str(json.loads(path.read_text(encoding="utf-8"))["address"])
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise RuntimeError("the scheduler did not start")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()  # a nanny stops its worker, whose engines close their reading processes
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left of its group
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=2, help="copies of each sample dossier in the inbox")
    parser.add_argument("--runs", type=int, default=2, help="timed runs per cluster; the fastest counts")
    parser.add_argument("--threads", type=int, default=1, help="--nthreads of each worker")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dossier-bench-dask-"))
    os.environ.update(
        {
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(work / "prefect-results"),
            "PREFECT_TASKS_REFRESH_CACHE": "true",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "ERROR",
            "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        }
    )  # before Prefect is imported: its settings are read once
    try:
        from flows.server import start_server

        server = start_server()
        from flows.check import run_check_dossiers

        inbox, warm = work / "inbox", work / "warm"
        count = make_inbox(inbox, args.copies)
        make_inbox(warm, 1, limit=4)
        seconds: dict[int, float] = {}
        for workers in (1, 2):
            cluster = Cluster(workers, args.threads, work)
            try:
                run_check_dossiers(warm, work / f"warm-{workers}", dask_address=cluster.address, server=server)
                runs = []
                for n in range(args.runs):
                    out = work / f"out-{workers}-{n}"
                    started = time.perf_counter()
                    rows = run_check_dossiers(inbox, out, dask_address=cluster.address, server=server)
                    runs.append(time.perf_counter() - started)
                    failed = [r["id"] for r in rows if r["verdict"] == "failed"]
                    assert len(rows) == count and not failed, failed
                    shutil.rmtree(out, ignore_errors=True)
                seconds[workers] = min(runs)
                print(f"{workers} worker(s): " + ", ".join(f"{s:.1f} s" for s in runs), flush=True)
            finally:
                cluster.stop()
        cores = len(os.sched_getaffinity(0))
        print(f"\n{count} dossiers, workers --nthreads {args.threads}, {cores} cores, best of {args.runs}\n")
        print("| Dask workers | seconds | dossiers/s |")
        print("| --- | --- | --- |")
        for workers, s in seconds.items():
            print(f"| {workers} | {s:.1f} | {count / s:.2f} |")
        print(f"\ntwo workers / one: {seconds[1] / seconds[2]:.2f}×")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
