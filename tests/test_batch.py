"""The plain batch (`dossier demo`, pipeline/batch.py): one log event per dossier, in the inbox's order."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.batch import run_batch
from pipeline.engine import Engine
from pipeline.ruleset import load_ruleset
from tests.conftest import inbox_of

DOSSIERS = ("02-滕州市煤化工.zip", "08-临朐县铝型材加工-缺项")


def _events(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "dossier.batch" and hasattr(r, "event")]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return inbox_of(tmp_path, DOSSIERS)


def test_each_dossier_is_a_log_event(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dossier")
    real_check = Engine.check

    def failing_for_one(engine: Engine, path: Path, *args: object) -> object:
        if path.name.startswith("08-"):
            raise RuntimeError("测试：流程出错")
        return real_check(engine, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "check", failing_for_one)
    rows, all_reported = run_batch(inbox, tmp_path / "out", load_ruleset(), ["json"], workers=1, timeout=60)
    assert not all_reported
    checked, failed = _events(caplog)
    assert (checked.event, checked.levelname, checked.dossier, checked.source) == (
        "dossier_checked",
        "INFO",
        "02-滕州市煤化工",
        "02-滕州市煤化工.zip",
    )
    assert (checked.verdict, checked.errors, checked.review_count, checked.cached) == ("complete", 0, 0, False)
    assert checked.seconds > 0 and checked.getMessage().startswith("02-滕州市煤化工：材料齐全")
    assert (failed.event, failed.dossier) == ("dossier_failed", "08-临朐县铝型材加工-缺项")
    assert "RuntimeError" in failed.reason and [r["verdict"] for r in rows] == ["complete", "failed"]


def test_quiet_batch_logs_at_debug(inbox: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dossier")
    run_batch(inbox, tmp_path / "out", load_ruleset(), ["json"], workers=1, timeout=60, quiet=True)
    assert [(r.dossier, r.levelname) for r in _events(caplog)] == [
        ("02-滕州市煤化工", "DEBUG"),
        ("08-临朐县铝型材加工-缺项", "DEBUG"),
    ]
