"""The `dossier` command as other programs call it: exit codes and files (CONTRACT.md)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cli.exits import ExitCode
from cli.logs import configure_logging
from cli.main import main
from tests.conftest import SAMPLES

DOSSIER = str(Path(sys.executable).with_name("dossier"))
COMMANDS = ("check", "batch", "watch", "demo", "seals", "schema", "serve", "web", "user")


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """`main()` configures the `dossier` logger as the command line does; other tests' caplog needs it back."""
    logger = logging.getLogger("dossier")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:], logger.propagate, logger.level = saved


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


# ---------------------------------------------------------------------------------------------------
# The command line itself: commands, usage errors, exit codes, start-up, logging
# ---------------------------------------------------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    listed = re.findall(r"^  (\w+)\s", result.stdout.split("Commands:")[1], re.MULTILINE)
    assert sorted(listed) == sorted(COMMANDS)
    for command in COMMANDS:
        assert main([command, "--help"]) == 0


def test_an_interrupted_command_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (and SIGTERM, which `run()` turns into it) ends a command with 130, as shells expect."""
    import cli.main

    def interrupted(workers: int, timeout: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.main, "_check_pool", interrupted)
    assert cli.main.main(["check", "x"]) == 130


@pytest.mark.parametrize(
    "args",
    [
        ["check", "x", "--timeout", "0"],
        ["batch", "inbox", "--out", "o", "--workers", "0"],
        ["watch", "inbox", "--out", "o", "--timeout", "-1"],
        ["seals", "README.md", "--workers", "-3"],
    ],
)
def test_a_pool_that_cannot_read_is_a_usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every command that reads files refuses a time limit of 0 or no reading process (exit 2), before
    anything is read: a 0-s limit would report every file as unreadable."""
    assert main(args) == ExitCode.USAGE
    assert "错误：--workers 至少为 1，--timeout 须大于 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "请给出要执行的命令"),
        (["frobnicate"], "没有这个命令：frobnicate"),
        (["check"], "缺少参数 PATH"),
        (["check", "x", "--workers", "many"], "--workers 的值无效，须为整数"),
        (["check", "x", "--timeout", "soon"], "--timeout 的值无效，须为数字"),
        (["check", "x", "--no-such-option"], "没有这个选项：--no-such-option"),
        (["check", "x", "--out"], "选项 --out 需要一个值"),
        (["check", "x", "y"], "多余的参数：y"),
        (["batch", "inbox"], "缺少选项 --out"),
        (["seals"], "缺少参数 FILE…"),
    ],
)
def test_usage_errors_exit_2_in_chinese(args: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"错误：{said}" in err and "--help" in err


def test_bad_values_exit_2_before_anything_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = str(SAMPLES / "dossiers" / "01-临朐县铝型材加工")
    assert main(["check", sample, "--format", "json,pdf", "--out", str(tmp_path)]) == ExitCode.USAGE
    assert "不支持的报告格式：pdf" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written
    out = str(tmp_path / "out")
    assert main(["watch", str(tmp_path), "--out", out, "--settle", "-1"]) == ExitCode.USAGE
    assert "--settle 不能为负数" in capsys.readouterr().err
    assert main(["watch", str(tmp_path / "没有"), "--out", out, "--once"]) == ExitCode.USAGE
    assert "找不到收件箱目录" in capsys.readouterr().err
    assert main(["watch", str(tmp_path), "--out", str(tmp_path), "--once"]) == ExitCode.USAGE
    assert "输出目录不能是收件箱本身" in capsys.readouterr().err
    assert main(["watch", str(tmp_path), "--out", out, "--format", "xls"]) == ExitCode.USAGE
    assert main(["batch", str(tmp_path), "--out", out, "--ruleset", "no-such-rules"]) == ExitCode.USAGE


def test_serve_needs_a_prefect_server(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve", "--inbox", "/srv/收件箱"]) == ExitCode.USAGE
    assert "PREFECT_API_URL" in capsys.readouterr().err


def test_schema_describes_report_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    assert main(["schema"]) == ExitCode.OK
    schema = json.loads(capsys.readouterr().out)
    assert schema["$id"] == "dossier-report/1"
    sample = SAMPLES / "dossiers" / "08-临朐县铝型材加工-缺项"
    assert main(["check", str(sample), "--out", str(tmp_path), "--format", "json"]) == ExitCode.INCOMPLETE
    jsonschema.validate(json.loads((tmp_path / "report.json").read_text(encoding="utf-8")), schema)


def test_check_starts_its_workers_before_the_pipeline_loads() -> None:
    """`dossier check` imports only the command line and the extraction pool before its reading processes
    start; the pipeline, jieba, spaCy, Prefect and the settings (~0.2 s) load while they start."""
    code = "import sys, cli.main; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    heavy = {"prefect", "jieba", "spacy", "pydantic_settings", "pipeline.ruleset", "pipeline.dossier", "flows.check"}
    assert not heavy & loaded


def test_log_events_as_lines_and_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(tmp_path / "events.jsonl")
    log = logging.getLogger("dossier.watch")
    log.info("甲：材料齐全\x1b[2J", extra={"event": "dossier_checked", "dossier": "甲", "seconds": 1.5})
    log.warning("乙：处理失败", extra={"event": "dossier_failed", "dossier": "乙"})
    log.debug("丙：不显示", extra={"event": "dossier_checked", "dossier": "丙"})
    out, err = capsys.readouterr()
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] 甲：材料齐全\\x1b\[2J\n", out)  # terminal-safe, unwrapped
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] 乙：处理失败\n", err)
    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["event"], e["dossier"], e["level"]) for e in lines] == [
        ("dossier_checked", "甲", "INFO"),
        ("dossier_failed", "乙", "WARNING"),
        ("dossier_checked", "丙", "DEBUG"),
    ]
    assert lines[0]["seconds"] == 1.5 and lines[0]["logger"] == "dossier.watch"
