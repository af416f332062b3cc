"""`make bench`: throughput of the pipeline against bare text extraction, and `dossier check` wall time.

1. Pages per second of `dossier batch` (a real process, interpreter start included) over the text
   fixtures: every sample PDF as its own dossier plus five generated 100-page bound PDFs, against
   bare pypdfium2 text extraction of the same files in one loop; their ratio (goal: within 3×).
2. Wall time of `dossier check` on a 100-page bound text PDF, interpreter start included
   (goal: under 2 s), median and worst of five runs.
Timing goals live here, never in the test suite: machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pypdfium2 as pdfium

from fixtures.generate import write_bound_pdf

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "dossiers"
DOSSIER = str(Path(sys.executable).with_name("dossier"))


def collect_pdfs(target: Path) -> list[Path]:
    """Every text PDF of the samples (zip members too), each copied as a single-file dossier."""
    target.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    for source in sorted(SAMPLES.iterdir()):
        if source.suffix.lower() == ".zip":
            with zipfile.ZipFile(source) as archive:
                for n, info in enumerate(archive.infolist()):
                    if info.filename.lower().endswith(".pdf"):
                        data = archive.read(info)
                        if data.startswith(b"%PDF"):
                            path = target / f"{source.stem}-{n}.pdf"
                            path.write_bytes(data)
                            found.append(path)
            continue
        files = [source] if source.is_file() else sorted(source.rglob("*.pdf"))
        for n, pdf in enumerate(files):
            if pdf.suffix.lower() == ".pdf" and pdf.read_bytes()[:5] == b"%PDF-":
                path = target / f"{source.name}-{n}.pdf"
                shutil.copyfile(pdf, path)
                found.append(path)
    return found


def bare_extraction(files: list[Path]) -> tuple[int, float]:
    pages = 0
    started = time.perf_counter()
    for path in files:
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError:
            continue
        for page in pdf:
            page.get_textpage().get_text_range()
            pages += 1
        pdf.close()
    return pages, time.perf_counter() - started


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    # Every run really checks: `dossier batch` would otherwise serve the second run from its cache.
    env = {**os.environ, "PREFECT_TASKS_REFRESH_CACHE": "true"}
    subprocess.run(command, capture_output=True, check=False, env=env)
    return time.perf_counter() - started


def evidence_cost(pdf: Path) -> tuple[float, float]:
    """Seconds to build the spaCy evidence pipeline (once per process), and to run it over every
    page of one dossier."""
    from extractors import read_file
    from pipeline import evidence
    from pipeline.ruleset import DEFAULT_EVIDENCE

    doc = read_file(pdf, pdf.name, "-", pdf.stat().st_size)
    started = time.perf_counter()
    finder = evidence.EvidenceFinder(evidence.load_rules(DEFAULT_EVIDENCE))
    loaded = time.perf_counter()
    evidence.inventory(((b.text, doc.path, b.page) for b in doc.blocks), finder)
    return loaded - started, time.perf_counter() - loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bound", type=int, default=5, help="100-page bound PDFs added to the batch")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dossier-bench-"))
    try:
        inbox = work / "inbox"
        files = collect_pdfs(inbox)
        for n in range(args.bound):
            path = inbox / f"bound-{n}.pdf"
            write_bound_pdf(path, pages=100, seed=n)
            files.append(path)
        bare_pages, bare_seconds = min(bare_extraction(files) for _ in range(3))

        print(f"text fixtures: {len(files)} PDFs, {bare_pages} pages\n")
        print("| measure | value |")
        print("| --- | --- |")
        print(f"| bare pypdfium2 text extraction | {bare_pages / bare_seconds:,.0f} pages/s ({bare_seconds:.2f} s) |")
        batch_rates: dict[int, float] = {}
        for workers in (1, 2):
            out = work / f"out-{workers}"
            seconds = min(
                timed([DOSSIER, "batch", str(inbox), "--out", str(out), "--quiet", "--workers", str(workers)])
                for _ in range(2)
            )
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            assert len(summary["dossiers"]) == len(files)
            batch_rates[workers] = bare_pages / seconds
            print(
                f"| `dossier batch --workers {workers}` (process wall time) | {bare_pages / seconds:,.0f} pages/s "
                f"({seconds:.2f} s); bare is {seconds / bare_seconds:.2f}× faster |"
            )
        bound = inbox / "bound-0.pdf"
        runs = [timed([DOSSIER, "check", str(bound), "--out", str(work / "check")]) for _ in range(args.runs)]
        print(
            f"| `dossier check` on a 100-page bound PDF (wall, interpreter start included) | "
            f"median {statistics.median(runs):.2f} s, worst {max(runs):.2f} s over {args.runs} runs |"
        )
        spacy_load, spacy_per_dossier = evidence_cost(bound)
        print(
            f"| spaCy evidence inventory: load once per process | {spacy_load:.2f} s; then {spacy_per_dossier:.2f} s "
            "for the 100-page dossier (goal: under 0.5 s) |"
        )
        print()
        ratio = bare_pages / bare_seconds / batch_rates[1]
        print(f"pipeline/bare time ratio (1 worker): {ratio:.2f}× — goal ≤ 3×: {'met' if ratio <= 3 else 'NOT met'}")
        median = statistics.median(runs)
        print(f"check on 100 pages: {median:.2f} s — goal < 2 s: {'met' if median < 2 else 'NOT met'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
