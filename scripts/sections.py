"""Print how a file is split and identified: `python -m scripts.sections FILE` (for debugging rules)."""

from __future__ import annotations

import sys
from pathlib import Path

from extractors import read_file
from pipeline.dossier import segmenter_for
from pipeline.identify import score_section
from pipeline.ruleset import load_ruleset
from pipeline.scans import merge_ocr, ocr_jobs
from pipeline.sections import analyse, split_sections


def main() -> int:
    ruleset = load_ruleset(sys.argv[2] if len(sys.argv) > 2 else "shandong-2020")
    path = Path(sys.argv[1])
    doc = read_file(path, path.name, "-", path.stat().st_size)
    jobs = ocr_jobs([doc], {doc.path: path}, pool_size=1)
    merge_ocr(doc, [job.run() for job in jobs])  # in-process: slow, but this is for one file
    print(f"{doc.path}: {doc.format}, {doc.page_count} pages, {len(doc.blocks)} blocks, error={doc.error}")
    layout = analyse(doc)
    print(f"目录 entries: {layout.toc_entries}")
    by_index = {b.index: b for b in doc.blocks}
    for index, prominence in layout.headings.items():
        block = by_index[index]
        print(f"  heading p={prominence:5.1f} page={block.page} size={block.font_size} {block.text[:40]}")
    segmenter = segmenter_for(ruleset)
    for section in split_sections(doc, ruleset):
        candidate = score_section(section, ruleset, segmenter)
        best = sorted(candidate.scores.items(), key=lambda kv: -kv[1])[:3]
        print(f"[{section.role}] {section.label()} ({section.title_source}) blocks={len(section.blocks)} {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
