"""The `dossier` command as other programs call it: exit codes and files (CONTRACT.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl

from tests.conftest import SAMPLES

DOSSIER = str(Path(sys.executable).with_name("dossier"))


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOSSIER, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def _sample(truth: dict[str, Any], verdict: str) -> Path:
    name = next(d["source"] for d in truth.values() if d["verdict"] == verdict)
    return SAMPLES / "dossiers" / name


def test_check_complete_dossier_exits_0(tmp_path: Path, truth: dict[str, Any]) -> None:
    result = _run("check", str(_sample(truth, "complete")), "--out", str(tmp_path), "--format", "json,html,md,docx")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "材料齐全" in result.stdout
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["report.docx", "report.html", "report.json", "report.md", "seal-authenticity_declaration.png"]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "complete"
    seal = next(i["seal"] for i in report["items"] if i["id"] == "authenticity_declaration")
    assert seal["detected"] is True and seal["crop"] in names
    assert 'src="seal-authenticity_declaration.png"' in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_check_incomplete_dossier_exits_1(tmp_path: Path, truth: dict[str, Any]) -> None:
    result = _run("check", str(_sample(truth, "incomplete")), "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]
    assert "需补正" in result.stdout


def test_check_all_unreadable_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntruncated")
    result = _run("check", str(broken), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["dossier"]["files"][0]["error"]
    assert {f["code"] for f in report["findings"]} >= {"FILE_UNREADABLE", "ITEM_MISSING"}


def test_bad_arguments_exit_2(tmp_path: Path, truth: dict[str, Any]) -> None:
    sample = str(_sample(truth, "complete"))
    missing = _run("check", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "找不到" in missing.stderr
    assert _run("check", sample, "--format", "pdf", "--out", str(tmp_path)).returncode == 2
    assert _run("check", sample, "--ruleset", "no-such-rules", "--out", str(tmp_path)).returncode == 2
    assert _run("batch", str(tmp_path / "nope"), "--out", str(tmp_path)).returncode == 2
    assert _run("frobnicate").returncode == 2
    os.mkfifo(fifo := tmp_path / "管道")
    piped = _run("check", str(fifo))  # would block forever if it were opened
    assert piped.returncode == 2 and "命名管道" in piped.stderr


def test_another_ruleset_file_changes_the_rules(tmp_path: Path, truth: dict[str, Any]) -> None:
    import yaml

    rules = yaml.safe_load((Path("pipeline/rulesets/shandong-2020.yaml")).read_text(encoding="utf-8"))
    rules["id"] = "test-stricter"
    for item in rules["items"]:
        if item["id"] == "introduction":
            item["limit_words"] = 100
    path = tmp_path / "stricter.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    result = _run("check", str(_sample(truth, "complete")), "--ruleset", str(path), "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert report["ruleset"]["id"] == "test-stricter"
    assert any(f["code"] == "ITEM_OVERSIZED" for f in report["findings"])


def test_batch_writes_reports_and_summaries(tmp_path: Path, truth: dict[str, Any]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for verdict in ("complete", "incomplete"):
        source = _sample(truth, verdict)
        (inbox / source.name).symlink_to(source)
    (inbox / "a.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: a dossier with no files
    (inbox / "a").mkdir()  # clashes with a.zip's id
    result = _run("batch", str(inbox), "--out", str(tmp_path / "out"), "--workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    ids = sorted(row["id"] for row in summary["dossiers"])
    assert len(ids) == 4 and {"a", "a-2"} <= set(ids)
    for row in summary["dossiers"]:
        assert (tmp_path / "out" / row["id"] / "report.json").is_file()
    sheet = openpyxl.load_workbook(tmp_path / "out" / "summary.xlsx").active
    assert sheet.max_row == 5
