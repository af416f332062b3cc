"""How one file is split and identified: `python -m scripts.sections FILE [--ruleset ID_OR_FILE]`.

Prints the 目录 found (entries, printed and physical pages, how each item's start was found), the
headings with their format, the decision (bound or one item, and why), then each section with its
pages and its best item scores. Scanned pages are read by OCR first (cached like `dossier check`:
by the file's real hash and the page image's hash).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from extractors import read_file
from pipeline.identify import score_section
from pipeline.ruleset import DEFAULT_RULESET, load_ruleset
from pipeline.scans import merge_ocr, ocr_jobs
from pipeline.sections import analyse, split_sections
from pipeline.words import Segmenter


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.sections", description="显示一个文件如何拆分、识别")
    parser.add_argument("file")
    parser.add_argument("--ruleset", default=DEFAULT_RULESET)
    args = parser.parse_args(argv)
    ruleset = load_ruleset(args.ruleset)
    path = Path(args.file)
    if not path.is_file():
        parser.error(f"不是一个文件：{path}")
    doc = read_file(path, path.name, sha256(path), path.stat().st_size)
    jobs = ocr_jobs([doc], {doc.path: path}, pool_size=1)
    merge_ocr(doc, [job.run() for job in jobs])  # in-process: slow, but this is for one file
    print(f"{doc.path}: {doc.format}, {doc.page_count} pages ({len(jobs)} by OCR), {len(doc.blocks)} blocks")
    if doc.error:
        print(f"error: {doc.error}")
        return 1
    layout = analyse(doc, ruleset)
    if layout.toc:
        print(f"目录 ({'names items' if layout.item_toc else 'does not name items'}):")
        for entry in layout.toc:
            start = layout.units[entry.start].page if entry.start is not None else None
            print(f"  {entry.title[:36]:<36} printed={entry.page} target={entry.target} start={start} {entry.found}")
    print("headings:")
    for i, heading in sorted(layout.headings.items()):
        unit = heading.unit
        mark = "*" if i in layout.splits else " "
        top = "top" if heading.page_top else "   "
        print(f" {mark} page={unit.page} {top} {heading.signature} {sorted(heading.items)} {unit.text[:40]}")
    print(f"decision: {layout.decision}")
    segmenter = Segmenter(ruleset.all_cues()).start()
    for section in split_sections(doc, ruleset):
        candidate = score_section(section, ruleset, segmenter)
        best = sorted(candidate.scores.items(), key=lambda kv: -kv[1])[:3]
        print(f"[{section.role}] {section.label()} ({section.title_source}) blocks={len(section.blocks)} {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
