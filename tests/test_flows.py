"""The `check_dossiers` Prefect flow (flows/check.py) and `dossier batch` on it.

Prefect costs seconds to start (a temporary server), so the module starts one server for all its
tests (conftest.py `prefect_env`) and checks three small text dossiers in one test (reports, summaries,
the cache, a failure through the command line). On a Dask cluster: tests/test_dask_cluster.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from flows import check
from pipeline.engine import Engine
from pipeline.runner import content_hash
from tests.conftest import SAMPLES, inbox_of

DOSSIERS = SAMPLES / "dossiers"
DOSSIER = str(Path(sys.executable).with_name("dossier"))
# Small text dossiers (no OCR): two folders and a zip.
FLOW_DOSSIERS = ("01-临朐县铝型材加工", "02-滕州市煤化工.zip", "08-临朐县铝型材加工-缺项")


def _ids(names: tuple[str, ...]) -> list[str]:
    return [n.removesuffix(".zip") for n in names]


def _batch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOSSIER, "batch", *args], capture_output=True, text=True, timeout=600, env=env)


def _summary(out: Path) -> list[dict[str, Any]]:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))["dossiers"]


def _checked(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "dossier.flow" and getattr(r, "event", None) == "dossier_checked"]


def test_flow_reports_summaries_cache_and_failures(
    prefect_env: dict[str, str],
    tmp_path: Path,
    truth: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = inbox_of(tmp_path, FLOW_DOSSIERS)
    ids = _ids(FLOW_DOSSIERS)
    ran: list[str] = []
    real_run_one = Engine.run_one

    def counting_run_one(engine: Engine, child: Path, ident: str, *args: Any) -> check.Outcome:
        ran.append(ident)
        return real_run_one(engine, child, ident, *args)

    monkeypatch.setattr(Engine, "run_one", counting_run_one)
    caplog.set_level(logging.DEBUG, logger="dossier")

    # First run: every dossier is checked; one report folder each, the summaries in the inbox's order.
    first = tmp_path / "first"
    rows = check.run_check_dossiers(inbox, first, workers=2, progress=True)
    assert sorted(ran) == sorted(ids)
    # A log record per dossier, at INFO as `dossier batch` shows them (DEBUG without `progress`).
    by_dossier = {r.dossier: r for r in _checked(caplog)}
    assert sorted(by_dossier) == sorted(ids)
    for ident in ids:
        record = by_dossier[ident]
        assert (record.levelname, record.verdict, record.cached) == ("INFO", truth[ident]["verdict"], False)
        assert record.seconds > 0
    assert [r["id"] for r in rows] == ids == [r["id"] for r in _summary(first)]
    for ident in ids:
        report = json.loads((first / ident / "report.json").read_text(encoding="utf-8"))
        assert report["dossier"]["id"] == ident
        assert report["verdict"] == truth[ident]["verdict"]
        assert (first / ident / "report.html").is_file()
    assert sorted(p.name for p in first.iterdir()) == sorted([*ids, "summary.json", "summary.xlsx"])
    assert openpyxl.load_workbook(first / "summary.xlsx").active.max_row == 1 + len(ids)

    # Second run, same content, a new output folder: nothing is checked again (the task body never
    # runs), yet the reports are there, written from the cached results.
    ran.clear()
    caplog.clear()
    second = tmp_path / "second"
    again = check.run_check_dossiers(inbox, second, workers=2)
    assert ran == []
    assert again == rows
    assert sorted((r.dossier, r.levelname, r.cached) for r in _checked(caplog)) == [(i, "DEBUG", True) for i in ids]
    for ident in ids:
        assert (second / ident / "report.json").read_bytes() == (first / ident / "report.json").read_bytes()
        assert (second / ident / "report.html").is_file()
    assert (second / "01-临朐县铝型材加工" / "seal-authenticity_declaration.png").is_file()

    # Through the command line, in another process: a child that is a link (here a dangling one) is not
    # followed; it gets a report saying so, the others still get theirs (from the cache).
    (inbox / "损坏的快捷方式").symlink_to(tmp_path / "no-such-dossier")
    third = tmp_path / "third"
    result = _batch(prefect_env, str(inbox), "--out", str(third), "--workers", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    by_id = {r["id"]: r for r in _summary(third)}
    assert by_id["损坏的快捷方式"]["verdict"] == "incomplete"
    link = json.loads((third / "损坏的快捷方式" / "report.json").read_text(encoding="utf-8"))
    assert link["dossier"]["files"] == []
    assert any("符号链接" in f["message"] for f in link["findings"] if f["code"] == "ARCHIVE_ENTRY_SKIPPED")
    for ident in ids:
        assert by_id[ident]["verdict"] == truth[ident]["verdict"]
        assert (third / ident / "report.json").read_bytes() == (first / ident / "report.json").read_bytes()


def test_a_run_without_engines_holds_its_own(
    prefect_env: dict[str, str], tmp_path: Path, truth: dict[str, Any]
) -> None:
    # The flow called as a Prefect server's run calls it (`dossier serve`): nobody hands it engines, so it
    # holds its own for its tasks and closes them (their reading processes) at its end.
    import multiprocessing

    names = ("10-泰安市岱岳区绿色建材-简介3000字",)
    before = set(multiprocessing.active_children())
    rows = check.check_dossiers(inbox=str(inbox_of(tmp_path, names)), out=str(tmp_path / "out"))
    assert [(r["id"], r["verdict"]) for r in rows] == [(n, truth[n]["verdict"]) for n in names]
    assert check.RUN_ENGINES.get(None) is None
    assert set(multiprocessing.active_children()) <= before


def test_batch_rejects_an_unreachable_dask_address(tmp_path: Path) -> None:
    # Exit 2 at once: no Prefect server is started for a scheduler that is not there.
    (tmp_path / "inbox").mkdir()
    result = _batch(
        {**os.environ}, str(tmp_path / "inbox"), "--out", str(tmp_path / "out"), "--dask-address", "tcp://127.0.0.1:9"
    )
    assert result.returncode == 2 and "Dask" in result.stderr


def test_content_hash_follows_content_not_place(tmp_path: Path) -> None:
    source = DOSSIERS / "08-临朐县铝型材加工-缺项"
    here, there = tmp_path / "a" / source.name, tmp_path / "b" / "another-name"
    shutil.copytree(source, here)
    shutil.copytree(source, there)
    assert content_hash(here) == content_hash(there) == content_hash(source)

    changed = next(p for p in sorted(there.rglob("*")) if p.is_file())
    data = bytearray(changed.read_bytes())
    data[len(data) // 2] ^= 1
    changed.write_bytes(bytes(data))
    assert content_hash(there) != content_hash(here)

    renamed = next(p for p in sorted(here.rglob("*")) if p.is_file())
    renamed.rename(renamed.with_name("x" + renamed.name))
    assert content_hash(here) != content_hash(source)


def test_content_hash_of_a_file(tmp_path: Path) -> None:
    source = DOSSIERS / "02-滕州市煤化工.zip"
    copy = tmp_path / "renamed.zip"
    shutil.copy2(source, copy)
    assert content_hash(copy) == content_hash(source)
    copy.write_bytes(source.read_bytes()[:-1] + bytes([source.read_bytes()[-1] ^ 1]))
    assert content_hash(copy) != content_hash(source)


def test_stored_results_past_the_cache_expiry_are_pruned(tmp_path: Path) -> None:
    from flows.server import RESULTS_KEPT, prune_results

    old, fresh = tmp_path / "old-result", tmp_path / "fresh-result"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    past = time.time() - RESULTS_KEPT.total_seconds() - 60
    os.utime(old, (past, past))
    assert prune_results(tmp_path) == 1
    assert not old.exists() and fresh.exists()
    assert prune_results(tmp_path / "missing") == 0  # no store yet: nothing to do
