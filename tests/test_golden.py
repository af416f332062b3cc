"""Golden reports: every sample dossier's report.json and report.md against a stored reference.

A change of answer (an item, a finding, a figure, a word of the report) is never silent: it fails here
until the references are written again (`pytest tests/test_golden.py --update-golden`) and the diff of
tests/golden is reviewed like code. What changes from run to run (the check time, the seconds taken) is
left out of the comparison.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden"


def stable_json(report: dict[str, Any]) -> str:
    """report.json without what differs between two runs of the same dossier."""
    report = json.loads(json.dumps(report))
    report["dossier"].pop("checked_at", None)
    report["ruleset"].pop("as_of", None)  # the check date
    report.pop("elapsed_seconds", None)
    for file in report["dossier"]["files"]:
        file.pop("seconds", None)
    return json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def stable_markdown(text: str) -> str:
    return re.sub(r"(检查时间：).*", r"\1…", text)


def _outputs(sample_batch: Path) -> dict[str, dict[str, str]]:
    outputs: dict[str, dict[str, str]] = {}
    for folder in sorted(p for p in sample_batch.iterdir() if p.is_dir()):
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        outputs[folder.name] = {
            "report.json": stable_json(report),
            "report.md": stable_markdown((folder / "report.md").read_text(encoding="utf-8")),
        }
    return outputs


def test_sample_reports_match_golden(sample_batch: Path, request: pytest.FixtureRequest) -> None:
    outputs = _outputs(sample_batch)
    assert len(outputs) >= 20, sorted(outputs)
    if request.config.getoption("--update-golden"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for ident, files in outputs.items():
            for name, text in files.items():
                (GOLDEN / ident).mkdir(parents=True, exist_ok=True)
                (GOLDEN / ident / name).write_text(text, encoding="utf-8")
        pytest.skip("golden reports written: review `git diff tests/golden`")
    stored = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) if GOLDEN.is_dir() else []
    assert stored == sorted(outputs), "dossiers differ from tests/golden (write them with --update-golden)"
    changed = [
        f"{ident}/{name}"
        for ident, files in outputs.items()
        for name, text in files.items()
        if (GOLDEN / ident / name).read_text(encoding="utf-8") != text
    ]
    assert not changed, f"reports differ from tests/golden (review, then --update-golden): {changed}"
