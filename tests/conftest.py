"""Shared fixtures: the generated sample dossiers, checked once per test session."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    return json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))["dossiers"]


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dossier batch` over every sample dossier, in-process; returns the output folder."""
    from pipeline.batch import run_batch
    from pipeline.ruleset import load_ruleset

    out = tmp_path_factory.mktemp("batch")
    rows, all_reported = run_batch(
        SAMPLES / "dossiers", out, load_ruleset(), ["json"], workers=2, timeout=60, quiet=True
    )
    assert all_reported, [r for r in rows if r["verdict"] == "failed"]
    return out


def report_of(batch: Path, dossier_id: str) -> dict[str, Any]:
    return json.loads((batch / dossier_id / "report.json").read_text(encoding="utf-8"))
