"""Scanned fixtures against their truth, and what OCR costs (part of `make bench`).

1. `dossier batch` over fixtures/scanned/dossiers with an empty OCR cache, then again with the
   cache warm: every verdict, item, introduction 字 count (within 2 %), seal and decoy is checked
   against fixtures/scanned/truth.json; the warm re-run's time is compared with the first.
2. OCR throughput on the same page images: bare rapidocr (one engine, the machine's cores, in one
   loop) against `dossier check` with one worker, and with one worker per core.
Exits 1 when the scanned fixtures disagree with their truth.
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
from pathlib import Path
from typing import Any

import numpy as np

from extractors.ocr import engine as ocr_engine
from extractors.ocr import load_page
from extractors.sandbox import default_workers
from fixtures.scans import scanned_page

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ROOT / "fixtures" / "scanned"
DOSSIER = str(Path(sys.executable).with_name("dossier"))


def run(command: list[str], cache: Path) -> float:
    env = {**os.environ, "DOSSIER_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False, env=env)
    return time.perf_counter() - started


def overlap(a: list[float], b: list[float]) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def compare(dossier_id: str, truth: dict[str, Any], report: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if report["verdict"] != truth["verdict"]:
        problems.append(f"verdict {report['verdict']} (truth {truth['verdict']})")
    items = {i["id"]: i for i in report["items"]}
    for item_id, want in truth["items"].items():
        got = items[item_id]
        if got["present"] != want["present"]:
            problems.append(f"{item_id} present={got['present']} (truth {want['present']})")
        if item_id == "introduction" and want.get("word_count") and got["present"]:
            words = got["metrics"]["word_count"]
            if abs(words - want["word_count"]) > 0.02 * want["word_count"]:
                problems.append(f"introduction {words} 字 (truth {want['word_count']})")
    declaration = truth["items"]["authenticity_declaration"]
    seal = items["authenticity_declaration"]["seal"] or {}
    if declaration["present"]:
        sealed = bool(declaration.get("sealed", True))
        if sealed and seal.get("detected") is not True:
            problems.append(f"seal not found: {seal}")
        if not sealed and seal.get("detected") is True:
            problems.append(f"a decoy or nothing taken for a seal: {seal}")
        want_box = (declaration.get("seal") or {}).get("bbox_pt")
        if sealed and seal.get("detected") and want_box and overlap(seal["bbox"], want_box) < 0.5:
            problems.append(f"seal box {seal['bbox']} far from truth {want_box}")
    got_codes = {f"{f['code']}:{f['item']}" if f["item"] else f["code"] for f in report["findings"]}
    for code in truth.get("expected_findings", []):
        if code not in got_codes and code.split(":")[0] not in ("CONDITION_NOT_MET",):
            problems.append(f"missing finding {code}")
    return problems


def acceptance(work: Path) -> tuple[bool, float, float, int]:
    truth = json.loads((SCANNED / "truth.json").read_text(encoding="utf-8"))["dossiers"]
    cache = work / "cache"
    cold = run([DOSSIER, "batch", str(SCANNED / "dossiers"), "--out", str(work / "cold"), "--quiet"], cache)
    warm = run([DOSSIER, "batch", str(SCANNED / "dossiers"), "--out", str(work / "warm"), "--quiet"], cache)
    ok = True
    pages = 0
    print("| scanned dossier | verdict | OCR pages | result |")
    print("| --- | --- | --- | --- |")
    for dossier_id, want in sorted(truth.items()):
        path = work / "cold" / dossier_id / "report.json"
        if not path.is_file():
            print(f"| {dossier_id} | — | — | NO REPORT |")
            ok = False
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        ocr_pages = sum(f["ocr_pages"] for f in report["dossier"]["files"])
        pages += ocr_pages
        problems = compare(dossier_id, want, report)
        ok = ok and not problems
        print(f"| {dossier_id} | {report['verdict']} | {ocr_pages} | {'ok' if not problems else '; '.join(problems)} |")
    return ok, cold, warm, pages


def throughput(work: Path, count: int) -> None:
    from rapidocr import RapidOCR

    pages = [scanned_page(item, seed=n)[0] for n, item in enumerate(["introduction", "development_plan"] * count)]
    folder = work / "ocr-dossier"
    folder.mkdir()
    first = pages[0]
    first.save(folder / "扫描件.pdf", save_all=True, append_images=pages[1:], resolution=150)
    arrays = [load_page(folder / "扫描件.pdf", "pdf", n + 1, 200, native=True)[0] for n in range(len(pages))]

    def bare_seconds(engine: Any) -> float:
        engine(np.ascontiguousarray(arrays[0][:, :, ::-1]))  # load the models before timing
        started = time.perf_counter()
        for rgb in arrays:
            engine(np.ascontiguousarray(rgb[:, :, ::-1]))
        return time.perf_counter() - started

    bare = bare_seconds(RapidOCR(params={"Global.log_level": "error"}))  # as it comes, every core
    tuned = bare_seconds(ocr_engine(default_workers()))  # the models' settings the pipeline uses, every core
    cores = default_workers()
    one = run([DOSSIER, "check", str(folder), "--out", str(work / "o1"), "--workers", "1"], work / "c1")
    many = run([DOSSIER, "check", str(folder), "--out", str(work / "o2"), "--workers", str(cores)], work / "c2")
    n = len(arrays)
    print(f"\nOCR throughput on {n} scanned A4 pages (150 dpi scans, rendered at their own resolution):\n")
    print("| measure | pages/s | seconds |")
    print("| --- | --- | --- |")
    print(f"| bare rapidocr as it comes, one engine using {cores} cores | {n / bare:.3f} | {bare:.1f} |")
    print(f"| bare rapidocr with the pipeline's settings, {cores} cores | {n / tuned:.3f} | {tuned:.1f} |")
    print(f"| `dossier check --workers 1` ({cores} threads), process wall time | {n / one:.3f} | {one:.1f} |")
    print(f"| `dossier check --workers {cores}` (1 thread each) | {n / many:.3f} | {many:.1f} |")
    print(f"\nwhole `dossier check` (cold, {cores} workers) against bare rapidocr as it comes, same pages: ", end="")
    print(f"{many / bare:.2f}× the time (goal ≤ 0.40)")
    print(f"against bare rapidocr with the pipeline's model settings: {many / tuned:.2f}× the time")
    print(f"speed-up from parallel pages ({cores} workers vs 1): {one / many:.2f}×")


def dpi_choice() -> None:
    """Accuracy and time of reading one degraded scan rendered at several resolutions."""
    import difflib

    from extractors.ocr import recognise

    image, truth = scanned_page("introduction", seed=7, dpi=300, skew=1.0, noise=6.0)
    want = "".join(str(truth["text"]).split())
    print("\nRender resolution for OCR (one degraded 300-dpi scan, downsampled):\n")
    print("| dpi | seconds | characters right |")
    print("| --- | --- | --- |")
    for dpi in (120, 150, 200, 300):
        scaled = image.resize((round(image.width * dpi / 300), round(image.height * dpi / 300)))
        rgb = np.asarray(scaled.convert("RGB"))
        started = time.perf_counter()
        lines, _, _ = recognise(rgb, default_workers())
        seconds = time.perf_counter() - started
        got = "".join("".join(text for _, text, _ in lines).split())
        print(f"| {dpi} | {seconds:.1f} | {difflib.SequenceMatcher(None, want, got).ratio():.1%} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=5, help="pairs of dense pages for the throughput run")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dossier-scanned-"))
    try:
        ok, cold, warm, pages = acceptance(work)
        print(f"\nscanned fixtures: {pages} OCR pages; first run {cold:.1f} s, re-run with a warm cache {warm:.1f} s")
        print(f"warm/cold: {warm / cold:.1%} — goal under 5%")
        print("scanned fixtures agree with their truth: " + ("yes" if ok else "NO"))
        if not args.skip_throughput:
            throughput(work, args.pages)
            dpi_choice()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
