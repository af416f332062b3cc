"""Scanned pages read only as far as they decide something (pipeline/scans.py), on a generated scanned
bound dossier: a 目录, every item, certificate annexes after the brand evidence and the platforms.

The certificate annexes are read in part; the form, the introduction and the declaration in full; and
`--full-ocr` gives the same answers (only the annexes' body lines are read in addition)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.scans import bound_scan
from pipeline.engine import check_dossier
from pipeline.ruleset import load_ruleset

DOSSIER = str(Path(sys.executable).with_name("dossier"))
FULL_TEXT_ITEMS = ("application_form", "introduction", "authenticity_declaration")


@pytest.fixture(scope="module")
def bound(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data, truth = bound_scan(pages=20, seed=1)
    path = tmp_path_factory.mktemp("bound") / "申报材料（扫描合订本）.pdf"
    path.write_bytes(data)
    return path, truth


def _answers(report: dict[str, Any]) -> tuple[object, ...]:
    return (
        report["verdict"],
        [(i["id"], i["present"], i["locations"]) for i in report["items"]],
        sorted((f["code"], f["item"]) for f in report["findings"]),
        report["fields"],
    )


def test_annexes_are_read_in_part_and_full_ocr_changes_no_answer(
    bound: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    path, truth = bound
    report = json.loads(check_dossier(path, load_ruleset()).model_dump_json())
    items = {i["id"]: i for i in report["items"]}
    assert report["verdict"] == truth["verdict"]
    assert all(item["present"] for item in items.values())
    words = items["introduction"]["metrics"]["word_count"]
    assert abs(words - truth["introduction_words"]) <= 0.02 * truth["introduction_words"]
    for item_id, pages in truth["annex_pages"].items():
        assert pages and items[item_id]["metrics"].get("ocr_pages_partial", 0) >= len(pages)
    for item_id in FULL_TEXT_ITEMS:
        assert "ocr_pages_partial" not in items[item_id]["metrics"]
    (file,) = report["dossier"]["files"]
    assert file["ocr_pages"] == truth["pages"]
    assert file["ocr_pages_partial"] >= sum(len(p) for p in truth["annex_pages"].values())

    # The clerk asks for every page in full: the same answers, nothing read in part. A cache of its own:
    # every page read anew, not finished from the partial readings kept above.
    out = tmp_path / "full"
    result = subprocess.run(
        [DOSSIER, "check", str(path), "--out", str(out), "--format", "json", "--full-ocr"],
        capture_output=True,
        text=True,
        env={**os.environ, "DOSSIER_CACHE_DIR": str(tmp_path / "cache")},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    full = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert _answers(full) == _answers(report)
    assert full["dossier"]["files"][0]["ocr_pages_partial"] == 0
    assert all("ocr_pages_partial" not in i["metrics"] for i in full["items"])
    # The evidence inventory is the one thing reading in part leaves short: an annex's body lines (the
    # honour a certificate names) are read only in full (README, known limits).
    assert sum(full["evidence"]["counts"].values()) >= sum(report["evidence"]["counts"].values())
