"""How fast the clerk's web page loads a round of 500 dossiers (goal: under a second).

Makes a round of N dossiers (default 500) from a real batch over the sample dossiers (each report copied
under new ids, as a long watch-folder season would leave them), starts `dossier web` on it as a real
process, and times:
- `GET /` (the round page, rendered on the server) and `GET /api/round` (what the page polls), over HTTP;
- in headless Chromium (when Debian's chromium and playwright are installed), from navigation until
  every row is in the table.

    python -m scripts.bench_web [--count 500] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from pipeline.batch import run_batch
from pipeline.reports import write_summary
from pipeline.ruleset import load_ruleset
from tests.web_server import CHROMIUM, CHROMIUM_ARGS, Web, browser_missing

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples" / "dossiers"
GOAL = 1.0


def make_round(work: Path, count: int) -> Path:
    """OUT with COUNT dossiers: the samples checked for real, then copied under new ids."""
    inbox, seed = work / "inbox", work / "seed"
    inbox.mkdir(parents=True)
    for child in sorted(SAMPLES.iterdir())[:8]:
        target = inbox / child.name
        shutil.copytree(child, target) if child.is_dir() else shutil.copy2(child, target)
    ruleset = load_ruleset()
    rows, _ = run_batch(inbox, seed, ruleset, ["json", "html"], workers=2, timeout=300, quiet=True)
    out = work / "out"
    out.mkdir()
    copies = []
    for n in range(count):
        row = dict(rows[n % len(rows)])
        ident = f"{n + 1:04d}-{row['id']}"
        shutil.copytree(seed / row["id"], out / ident)
        report = json.loads((out / ident / "report.json").read_text("utf-8"))
        report["dossier"]["id"] = ident
        (out / ident / "report.json").write_text(json.dumps(report, ensure_ascii=False), "utf-8")
        copies.append({**row, "id": ident, "report": f"{ident}/report.html"})
    write_summary(copies, out, {item.id: item.title for item in ruleset.items}, inbox=inbox)
    return out


def fetch(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def browser_times(url: str, count: int, runs: int) -> list[float] | None:
    if browser_missing():
        return None
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for _ in range(runs):
            started = time.perf_counter()
            page.goto(url + "/", wait_until="domcontentloaded")
            page.wait_for_function(f"() => document.querySelectorAll('#round tr[data-id]').length >= {count}")
            times.append(time.perf_counter() - started)
        browser.close()
    return times


def line(name: str, times: list[float]) -> str:
    median = statistics.median(times)
    return f"| {name} | {min(times):.3f} | {median:.3f} | {max(times):.3f} | {median / GOAL:.2f}× |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        print(f"making a round of {args.count} dossiers …", flush=True)
        out = make_round(Path(tmp), args.count)
        web = Web(out, None, Path(tmp) / "web.log")  # started, and answering
        url = web.url
        try:
            first = fetch(url + "/")
            page = [fetch(url + "/") for _ in range(args.runs)]
            api = [fetch(url + "/api/round") for _ in range(args.runs)]
            shown = browser_times(url, args.count, max(3, args.runs // 3))
        finally:
            web.stop()
    print(f"\nA round of {args.count} dossiers, seconds (goal: under {GOAL:g} s; ratio = median / goal)\n")
    print("| what | min | median | max | ratio to goal |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| first GET / after start | {first:.3f} | {first:.3f} | {first:.3f} | {first / GOAL:.2f}× |")
    print(line("GET / (round page)", page))
    print(line("GET /api/round", api))
    if shown is None:
        print("| in Chromium | — | — | — | (chromium or playwright not installed) |")
    else:
        print(line("in Chromium, until every row is shown", shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
