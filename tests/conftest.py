"""Shared fixtures: the generated sample dossiers, checked once per test session."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.server import quiet_prefect

# A fresh OCR cache per test run: results cached by an earlier version must not make a test pass.
if "DOSSIER_CACHE_DIR" not in os.environ:
    os.environ["DOSSIER_CACHE_DIR"] = tempfile.mkdtemp(prefix="dossier-test-cache-")
    atexit.register(shutil.rmtree, os.environ["DOSSIER_CACHE_DIR"], True)
# Prefect's defaults (no analytics, its home and stored results in that cache), before any test imports it.
quiet_prefect()

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="write the sample dossiers' reports as the new golden reports (tests/golden); review the diff",
    )


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    return json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))["dossiers"]


def finding_keys(report: dict[str, Any]) -> set[str]:
    """Every finding as `CODE`, and as `CODE:<field or item>` (the truth files' notation)."""
    keys: set[str] = set()
    for f in report["findings"]:
        keys.add(f["code"])
        if f.get("field") or f["item"]:
            keys.add(f"{f['code']}:{f.get('field') or f['item']}")
    return keys


def inbox_of(root: Path, names: tuple[str, ...]) -> Path:
    """root/inbox holding copies of these sample dossiers."""
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    for name in names:
        source = SAMPLES / "dossiers" / name
        if source.is_dir():
            shutil.copytree(source, inbox / name)
        else:
            shutil.copy2(source, inbox / name)
    return inbox


def batch(source: Path, out: Path) -> Path:
    """`dossier batch` over every dossier of a fixture folder, in-process."""
    from pipeline.batch import run_batch
    from pipeline.ruleset import load_ruleset

    rows, all_reported = run_batch(source, out, load_ruleset(), ["json", "md"], workers=2, timeout=120, quiet=True)
    assert all_reported, [r for r in rows if r["verdict"] == "failed"]
    return out


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dossier batch` over every sample dossier, in-process; returns the output folder."""
    return batch(SAMPLES / "dossiers", tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A temporary Prefect server and result store for the module that asks; the environment that points
    a `dossier batch` process at them (so it starts no server of its own)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with (
        prefect_test_harness(server_startup_timeout=180),
        temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage}),
    ):
        yield {
            **os.environ,
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(storage),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }


@pytest.fixture(scope="module")
def ruleset() -> Any:
    """The bundled ruleset (shandong-2020)."""
    from pipeline.ruleset import load_ruleset

    return load_ruleset()


def write(path: Path, data: bytes) -> Path:
    """`data` into `path`, its folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def present(report: dict[str, Any]) -> dict[str, bool]:
    """Item id → present, from a report.json dict."""
    return {i["id"]: i["present"] for i in report["items"]}


def report_of(batch: Path, dossier_id: str) -> dict[str, Any]:
    return json.loads((batch / dossier_id / "report.json").read_text(encoding="utf-8"))
