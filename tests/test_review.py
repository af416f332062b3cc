"""The clerk's decisions (pipeline/review.py) on real batch runs: the verdict follows them, every format
and the summary show them, and a re-check of changed content flags the ones that no longer apply."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.report import Report
from pipeline.review import DecisionStore, apply_decisions, load_report, refresh, review, targets
from tests.conftest import batch, inbox_of

MISSING = "08-临朐县铝型材加工-缺项"  # no development plan, no authenticity declaration
OVERSIZED = "09-滕州市煤化工-简介3010字"
COMPLETE = "01-临朐县铝型材加工"


@pytest.fixture()
def round_(tmp_path: Path) -> tuple[Path, Path]:
    inbox = inbox_of(tmp_path, (MISSING, OVERSIZED, COMPLETE))
    return inbox, batch(inbox, tmp_path / "out")


def summary_rows(out: Path) -> dict[str, dict]:
    return {row["id"]: row for row in json.loads((out / "summary.json").read_text("utf-8"))["dossiers"]}


def test_summary_records_the_inbox(round_: tuple[Path, Path]) -> None:
    inbox, out = round_
    assert json.loads((out / "summary.json").read_text("utf-8"))["inbox"] == str(inbox.resolve())
    rows = summary_rows(out)
    assert all(r["final_verdict"] == r["verdict"] and r["decisions"] == 0 for r in rows.values())


def test_decisions_change_the_final_verdict_everywhere(round_: tuple[Path, Path]) -> None:
    _, out = round_
    report = load_report(out / MISSING)
    assert report.verdict == "incomplete" and report.review is None
    missing = [f.item for f in report.findings if f.code == "ITEM_MISSING"]
    assert "authenticity_declaration" in missing and len(missing) >= 2
    store = DecisionStore(out)
    for item in missing:
        store.record(report, f"item:{item}", "present", "装订在其他证明材料之后", "张三")
    after = refresh(out, MISSING, store)
    assert after is not None and after.review is not None
    assert after.verdict == "incomplete"  # the tool's own verdict stays
    # The declaration's seal was never seen: never a bare 材料齐全.
    assert after.review.verdict == "complete" and after.review.review_count >= 1
    store.record(after, "seal:authenticity_declaration", "present", "第 2 页有公章", "张三")
    after = refresh(out, MISSING, store)
    assert after is not None and after.review is not None
    assert after.review.verdict == "complete" and after.review.review_count == 0
    assert all(d.applies and d.user == "张三" for d in after.review.decisions)

    on_disk = Report.model_validate_json((out / MISSING / "report.json").read_bytes())
    assert on_disk.review == after.review
    md = (out / MISSING / "report.md").read_text("utf-8")
    assert "人工确认" in md and "装订在其他证明材料之后" in md and "张三" in md and "系统结论（人工确认前）" in md

    apply_decisions(out)  # what a batch or watch run does before its summary
    from pipeline.reports import write_summary

    write_summary(list(summary_rows(out).values()), out, {i.id: i.title for i in report.items})
    row = summary_rows(out)[MISSING]
    assert (
        row["verdict"] == "incomplete" and row["final_verdict"] == "complete" and row["decisions"] == len(missing) + 1
    )
    sheet = load_workbook(out / "summary.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    final_col = header.index("最终结论（含人工确认）")
    line = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == MISSING)
    assert line[final_col].startswith("齐全") and "人工确认" in line[final_col]


def test_a_dismissed_finding_and_a_withdrawal(round_: tuple[Path, Path]) -> None:
    _, out = round_
    report = load_report(out / OVERSIZED)
    oversized = next(f for f in report.findings if f.code == "ITEM_OVERSIZED")
    key = next(t.key for t in targets(report) if t.kind == "finding" and t.label == oversized.message)
    store = DecisionStore(out)
    store.record(report, key, "dismissed", "目录页不计入字数", "李四")
    after = refresh(out, OVERSIZED, store)
    assert after is not None and after.review is not None
    assert not any(f.code == "ITEM_OVERSIZED" for f in after.review.findings)
    assert store.withdraw(OVERSIZED, key, "李四")
    again = refresh(out, OVERSIZED, store)
    assert again is not None and again.review is None
    assert Report.model_validate_json((out / OVERSIZED / "report.json").read_bytes()).review is None
    assert [d.value for d in store.history(OVERSIZED)] == ["dismissed", ""]  # every decision kept
    assert {a["action"] for a in store.audit(dossier=OVERSIZED)} == {"decide", "withdraw"}


def test_a_missing_decision_makes_a_complete_dossier_incomplete(round_: tuple[Path, Path]) -> None:
    _, out = round_
    report = load_report(out / COMPLETE)
    assert report.verdict == "complete"
    store = DecisionStore(out)
    store.record(report, "seal:authenticity_declaration", "missing", "公章模糊，无法辨认", "王五")
    after = refresh(out, COMPLETE, store)
    assert after is not None and after.review is not None and after.review.verdict == "incomplete"
    assert any(f.code == "SEAL_MISSING" and f.message.startswith("人工确认") for f in after.review.findings)


def test_bad_decisions_are_refused(round_: tuple[Path, Path]) -> None:
    _, out = round_
    report = load_report(out / COMPLETE)
    store = DecisionStore(out)
    with pytest.raises(ValueError, match="没有可确认的对象"):
        store.record(report, "item:no_such_item", "present", "", "张三")
    with pytest.raises(ValueError, match="只能确认为"):
        store.record(report, "item:introduction", "maybe", "", "张三")
    assert store.current(COMPLETE) == []


def test_a_recheck_keeps_what_still_applies_and_flags_the_rest(round_: tuple[Path, Path], tmp_path: Path) -> None:
    inbox, out = round_
    report = load_report(out / MISSING)
    store = DecisionStore(out)
    store.record(report, "item:development_plan", "present", "", "张三")  # rests on the whole dossier
    store.record(report, "item:introduction", "present", "", "张三")  # the tool agreed; rests on its file
    store.close()

    batch(inbox, out)  # the same content again: every decision still applies
    again = load_report(out / MISSING)
    assert again.review is not None and all(d.applies for d in again.review.decisions)

    # The county adds a file: the plan decision rested on every file, so it is flagged; the
    # introduction's file did not change, so that decision still applies.
    shutil.copy2(inbox / COMPLETE / "申报材料" / "7.其他证明材料.docx", inbox / MISSING / "9.补充说明.docx")
    batch(inbox, out)
    changed = load_report(out / MISSING)
    assert changed.review is not None
    state = {d.target: d for d in changed.review.decisions}
    assert not state["item:development_plan"].applies and "请重新确认" in (state["item:development_plan"].reason or "")
    assert state["item:introduction"].applies
    assert changed.review.verdict == "incomplete" and changed.review.stale == 1
    assert summary_rows(out)[MISSING]["stale_decisions"] == 1


def test_review_without_decisions_is_none(round_: tuple[Path, Path]) -> None:
    _, out = round_
    assert review(load_report(out / COMPLETE), []) is None
