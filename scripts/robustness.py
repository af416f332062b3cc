"""`make robustness`: `dossier batch` over hostile corpora, each file its own dossier; then over a
generated set of dossiers built to hurt (scripts/hostile.py), measured by scripts/hostile_run.py.

Every file must get a report.json; no traceback, no hang. Prints how many files were read,
unreadable (by reason) and timed out, and the slowest ten. Memory is bounded by the extraction
workers' address-space cap (extractors/sandbox.py), not measured here.
Exits 1 when a dossier got no report or the batch printed a traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

BATCH_WALL_LIMIT = 3600  # seconds for one corpus folder; a hang shows up as this


def run_folder(folder: Path, out: Path, workers: int) -> bool:
    dossier = Path(sys.executable).with_name("dossier")
    command = [str(dossier), "batch", str(folder), "--out", str(out), "--quiet", "--workers", str(workers)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=BATCH_WALL_LIMIT)
    except subprocess.TimeoutExpired:
        print(f"  !! {folder.name}: dossier batch did not finish within {BATCH_WALL_LIMIT} s (hang)")
        return False
    wall = time.perf_counter() - started
    children = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    ok = True
    reports: list[dict] = []
    missing: list[str] = []
    for name in children:
        report = out / (name[:-4] if name.lower().endswith(".zip") else name) / "report.json"
        if report.is_file():
            reports.append(json.loads(report.read_text(encoding="utf-8")))
        else:
            missing.append(name)
    files = [f for r in reports for f in r["dossier"]["files"]]
    kinds = Counter(f["error_kind"] or "read" for f in files)
    pages = sum(f["pages"] or 0 for f in files)
    print(f"\n== {folder} ({len(children)} files) — dossier batch exit {proc.returncode}, {wall:.1f} s wall")
    print(f"  reports: {len(reports)}/{len(children)}; pages read: {pages}")
    print(
        f"  read: {kinds.pop('read', 0)}; timed out: {kinds.pop('timeout', 0)}; crashed reader: {kinds.pop('crash', 0)}"
    )
    print(
        "  unreadable or unsupported, by reason: " + (", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "none")
    )
    print("  slowest ten:")
    for f in sorted(files, key=lambda f: f.get("seconds", 0), reverse=True)[:10]:
        print(
            f"    {f.get('seconds', 0):7.2f} s  {f['path']}  ({f['format']}, {f['pages']} pages, {f['error_kind'] or 'ok'})"
        )
    if missing:
        ok = False
        print(f"  !! no report for {len(missing)}: {missing[:10]}")
    if "Traceback" in proc.stderr or "Traceback" in proc.stdout:
        ok = False
        print("  !! traceback printed:\n" + proc.stderr[-3000:])
    if proc.returncode not in (0, 1):
        ok = False
        print(f"  !! unexpected exit code {proc.returncode}:\n{proc.stderr[-2000:]}")
    return ok


def run_hostile(out: Path, scale: str, workers: int, mem_budget: int) -> bool:
    """The generated hostile dossiers: a report each, no traceback, no read outside, no write outside, no
    network, memory and time within budget (strace watches where it is installed)."""
    generated = out / f"hostile-{scale}"
    subprocess.run(
        [sys.executable, "-m", "scripts.hostile", "--out", str(generated), "--scale", scale, "--quiet"], check=True
    )
    command = [sys.executable, "-m", "scripts.hostile_run", "--inbox", str(generated), "--out", str(out / "hostile")]
    command += ["--workers", str(workers), "--mem-budget", str(mem_budget)]
    if shutil.which("strace") is None:
        print("(strace not installed: file and network access not traced; apt-get install strace)")
        command.append("--no-strace")
    print(f"\n== hostile dossiers ({scale})", flush=True)
    return subprocess.run(command).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--out", type=Path, default=Path("out/robustness"))
    parser.add_argument("--folders", default="pdfjs,poi")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hostile", choices=("small", "large", "none"), default="large")
    parser.add_argument("--mem-budget", type=int, default=2048, help="MB, the whole process tree's peak")
    args = parser.parse_args()
    ok = True
    if args.hostile != "none":
        ok = run_hostile(args.out, args.hostile, args.workers, args.mem_budget)
    for name in args.folders.split(","):
        folder = args.corpus / name
        if not folder.is_dir():
            print(f"!! corpus folder not found: {folder}")
            ok = False
            continue
        ok = run_folder(folder, args.out / name, args.workers) and ok
    print("robustness: " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
