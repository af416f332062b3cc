"""Latency of the watch service: from a dossier settling to its report, minus the check itself.

Runs `dossier watch` on a temporary inbox, drops small sample dossiers one at a time (each
appears whole, by a rename, so the moment its last change happened is known), and waits for its
report.json. Settling ends `--settle` seconds after that last change; the overhead is what remains
of settle → report once the check's own `elapsed_seconds` (report.json) is taken off: noticing the
settled dossier, hashing it, the registry, rendering and swapping the report folder in.
Goal: under 2 s of overhead.

    .venv/bin/python -m scripts.bench_watch [--settle 1] [--count 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples" / "dossiers"
DOSSIERS = [
    "02-滕州市煤化工.zip",
    "08-临朐县铝型材加工-缺项",
    "05-滕州市煤化工申报材料汇编.docx",
    "11-临朐县铝型材加工-简介2990字.zip",
    "13-泰安市岱岳区绿色建材-干扰词",
    "20-泰安市岱岳区绿色建材申报材料（无目录）.pdf",
    "22-临朐县铝型材加工申报材料.docx",
]
GOAL = 2.0


def _wait(path: Path, timeout: float, proc: subprocess.Popen[bytes]) -> float:
    """The wall time at which `path` appeared (polled every 10 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return time.time()
        if proc.poll() is not None:
            raise SystemExit(f"the service exited with {proc.returncode}")
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {path}")


def _drop(source: Path, inbox: Path, staging: Path) -> float:
    """Copy a dossier next to the inbox, then rename it in: it appears whole. Returns that moment."""
    staged = staging / source.name
    if source.is_dir():
        shutil.copytree(source, staged)
    else:
        shutil.copy(source, staged)
    moment = time.time()
    os.rename(staged, inbox / source.name)
    return moment


def _pad(text: str, width: int) -> str:
    """Left-align in terminal columns: CJK characters take two."""
    shown = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return text + " " * max(0, width - shown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        inbox, out, staging = Path(tmp, "inbox"), Path(tmp, "out"), Path(tmp, "staging")
        inbox.mkdir()
        staging.mkdir()
        log = Path(tmp, "service.log")
        dossier = Path(sys.executable).with_name("dossier")
        command = [str(dossier), "watch", str(inbox), "--out", str(out), "--settle", str(args.settle)]
        with log.open("w") as handle:
            # Every dossier really checked: from the flow's cache, its elapsed_seconds would be another run's.
            env = {**os.environ, "PREFECT_TASKS_REFRESH_CACHE": "true"}
            proc = subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 180  # Prefect's temporary server starts first
            while "开始监视" not in log.read_text(encoding="utf-8"):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the service did not start:\n" + log.read_text(encoding="utf-8"))
                time.sleep(0.05)
            time.sleep(0.5)  # let the first scan of the empty inbox pass
            rows: list[tuple[str, float, float, float]] = []
            for name in DOSSIERS[: args.count]:
                dropped = _drop(SAMPLES / name, inbox, staging)
                ident = name.removesuffix(".zip")
                appeared = _wait(out / ident / "report.json", 120, proc)
                report = json.loads((out / ident / "report.json").read_text(encoding="utf-8"))
                settled = dropped + args.settle
                check = float(report["elapsed_seconds"])
                rows.append((ident, appeared - settled, check, appeared - settled - check))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    width = max(sum(2 if ord(ch) > 0x2E7F else 1 for ch in r[0]) for r in rows)
    print(f"settle {args.settle:g} s; times in seconds; overhead = settled → report − the check's own elapsed_seconds")
    print(f"{_pad('dossier', width)}  {'settled→report':>14}  {'check':>6}  {'overhead':>8}")
    for ident, total, check, overhead in rows:
        print(f"{_pad(ident, width)}  {total:>14.2f}  {check:>6.2f}  {overhead:>8.2f}")
    overheads = [r[3] for r in rows]
    print(
        f"overhead: median {statistics.median(overheads):.2f} s, worst {max(overheads):.2f} s "
        f"(goal under {GOAL:g} s): {'met' if max(overheads) < GOAL else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
