"""Read page images with whatever `extractors.ocr` is first on the path; print per-page text and seconds
as JSON (scripts/bench_ocr.py runs it under this tree and under an older commit's, one process each).

Usage: python scripts/ocr_read.py PAGES_DIR  (PNG files; the first one is read once untimed, to load
the models). One inference thread: what one worker of the pool does."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from extractors.ocr import recognise


def reading_order(lines: list[tuple[np.ndarray, str, float]]) -> list[tuple[np.ndarray, str, float]]:
    """Top to bottom, left to right within a band of half a line's height (both versions alike)."""
    bands: list[list[tuple[np.ndarray, str, float]]] = []
    for line in sorted(lines, key=lambda line: float(line[0][:, 1].mean())):
        centre, height = float(line[0][:, 1].mean()), float(np.ptp(line[0][:, 1]))
        if bands and abs(centre - float(bands[-1][0][0][:, 1].mean())) < height / 2:
            bands[-1].append(line)
        else:
            bands.append([line])
    return [line for band in bands for line in sorted(band, key=lambda line: float(line[0][:, 0].min()))]


def main() -> None:
    pages = sorted(Path(sys.argv[1]).glob("*.png"))
    images = {p.name: np.asarray(Image.open(p).convert("RGB")) for p in pages}
    recognise(next(iter(images.values())), 1)  # the models load here, untimed
    out: dict[str, dict[str, object]] = {}
    for name, rgb in images.items():
        started = time.perf_counter()
        lines, turn, _ = recognise(rgb, 1)
        seconds = time.perf_counter() - started
        out[name] = {"seconds": seconds, "turn": turn, "text": "\n".join(t for _, t, _ in reading_order(lines))}
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
