"""The 补正通知 (pipeline/reports/notice.py) of sample dossiers really checked: GB/T 9704 layout (A4, margins,
小标宋 title, 仿宋 body at a fixed 28 pt), the missing items each with its article, the clerk's deadline and
contact, a complete dossier told 无需补正, the clerk's review deciding, and `dossier check --format notice`."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt

from cli.main import main
from extractors.sandbox import ExtractionPool
from pipeline.engine import Engine
from pipeline.formats import DEFAULT_FORMATS, DEMO_FORMATS, Format, parse_formats
from pipeline.report import Finding, Report
from pipeline.reports import write_reports
from pipeline.reports.notice import write_notice
from pipeline.review import DecisionStore, review
from tests.conftest import SAMPLES

MISSING = "08-临朐县铝型材加工-缺项"  # no 发展规划, no 真实性声明
COMPLETE = "01-临朐县铝型材加工"
WITH_WARNING = "07-诸城市预制菜"  # complete; revenue 90亿元 < 100亿元: CONDITION_NOT_MET (warning)
DAY = dt.date(2026, 12, 4)


@pytest.fixture(scope="module")
def reports(ruleset: Any) -> Iterator[dict[str, Report]]:
    with ExtractionPool(workers=2, timeout=60) as pool, Engine(ruleset, pool=pool) as engine:
        yield {name: engine.check(SAMPLES / "dossiers" / name) for name in (MISSING, COMPLETE, WITH_WARNING)}


def _letter(report: Report, path: Path, **options: Any) -> Any:
    write_notice(report, path, date=DAY, **options)
    return Document(str(path))


def _texts(document: Any) -> list[str]:
    return [p.text for p in document.paragraphs]


def _east_asia(run: Any) -> str | None:
    fonts = run._element.rPr.rFonts
    return fonts.get(qn("w:eastAsia")) if fonts is not None else None


def test_a_missing_items_notice(reports: dict[str, Report], tmp_path: Path) -> None:
    report = reports[MISSING]
    assert report.verdict == "incomplete"
    document = _letter(
        report,
        tmp_path / "notice.docx",
        deadline="2026年12月15日",
        contact="王芳 0536-3212345",
        authority="潍坊市工业和信息化局",
    )
    texts = _texts(document)
    cluster = report.fields["cluster_name"]
    assert cluster == "临朐县铝型材加工特色产业集群"
    # the title: 方正小标宋简体 二号, centred
    title = document.paragraphs[0]
    assert title.text == f"关于补正{cluster}申报材料的通知"
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert {_east_asia(r) for r in title.runs} == {"方正小标宋简体"} and title.runs[0].font.size == Pt(22)
    # 主送: the applicant
    assert f"{report.fields['applicant']}：" in texts
    # the body: 仿宋_GB2312 三号, two characters indented, lines fixed at 28 pt
    opening = next(p for p in document.paragraphs if p.text.startswith("你单位报送的"))
    assert cluster in opening.text and "需补正以下2项" in opening.text and "第七条" in opening.text
    assert "《山东省特色产业集群管理办法》（鲁工信发〔2020〕5号）" in opening.text
    assert {_east_asia(r) for r in opening.runs} == {"仿宋_GB2312"} and opening.runs[0].font.size == Pt(16)
    layout = opening.paragraph_format
    assert layout.first_line_indent == Pt(32)
    assert layout.line_spacing_rule == WD_LINE_SPACING.EXACTLY and Pt(28) <= layout.line_spacing <= Pt(29)
    # the numbered list: each missing item with its article
    first, second = (next(t for t in texts if t.startswith(n)) for n in ("一、", "二、"))
    assert "特色产业集群发展规划" in first and "第六条（三）" in first and "补充提交" in first
    assert "申报材料真实性声明" in second and "第六条（八）" in second
    assert not any(t.startswith("三、") for t in texts)
    # the clerk's deadline and contact, the signature and the date
    assert any("于2026年12月15日前" in t for t in texts)
    assert "联系人及电话：王芳 0536-3212345" in texts
    signature = [p for p in document.paragraphs if p.alignment == WD_ALIGN_PARAGRAPH.RIGHT]
    assert [p.text for p in signature] == ["潍坊市工业和信息化局", "2026年12月4日"]
    # GB/T 9704: A4, margins 37 / 35 / 28 / 26 mm
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(m.mm, 1) for m in margins] == [37.0, 35.0, 28.0, 26.0]
    # page numbers: — PAGE — in the footer
    footer = zipfile.ZipFile(tmp_path / "notice.docx").read("word/footer1.xml").decode("utf-8")
    assert "PAGE" in footer and "— " in footer and " —" in footer


def test_blanks_for_the_clerk_to_fill(reports: dict[str, Report], tmp_path: Path) -> None:
    texts = _texts(_letter(reports[MISSING], tmp_path / "notice.docx"))
    assert any("于＿＿年＿＿月＿＿日前" in t for t in texts)
    assert any(t.startswith("联系人及电话：＿") for t in texts)
    assert "＿＿市工业和信息化局" in texts
    # a deadline written with its own 前 is not doubled
    texts = _texts(_letter(reports[MISSING], tmp_path / "again.docx", deadline="2027年1月5日前"))
    assert any("于2027年1月5日前按" in t for t in texts) and not any("前前" in t for t in texts)


def test_a_complete_dossier_needs_nothing(reports: dict[str, Report], tmp_path: Path) -> None:
    report = reports[COMPLETE]
    assert report.verdict == "complete" and not report.findings
    texts = _texts(_letter(report, tmp_path / "notice.docx"))
    assert texts[0] == f"关于{report.fields['cluster_name']}申报材料审核情况的通知"
    assert any("材料齐全，无需补正" in t for t in texts)
    assert not any(t.startswith(("一、", "（一）")) or "日前" in t for t in texts)


def test_warnings_are_to_verify_and_the_tools_doubts_are_not_the_applicants(
    reports: dict[str, Report], tmp_path: Path
) -> None:
    report = reports[WITH_WARNING]
    assert report.verdict == "complete"
    assert [f.code for f in report.findings if f.severity == "warning"] == ["CONDITION_NOT_MET"]
    texts = _texts(_letter(report, tmp_path / "notice.docx"))
    assert any("无需补正" in t for t in texts)
    assert any("请你单位核实" in t for t in texts)
    [line] = [t for t in texts if t.startswith("（一）")]
    assert line.endswith("第四条（二））。") and "书面说明" in line  # the condition's article, not the form's
    # a doubt of the tool (LOW_CONFIDENCE) is the clerk's: not in the letter, and no bare 材料齐全
    doubt = Finding(
        code="LOW_CONFIDENCE", severity="warning", item="introduction", message="发展情况简介识别把握不大，请人工核对"
    )
    judged = {"verdict", "findings", "counts", "review_count"}
    doubtful = Report.judged(
        [*report.findings, doubt], **{k: getattr(report, k) for k in Report.model_fields if k not in judged}
    )
    texts = _texts(_letter(doubtful, tmp_path / "doubt.docx"))
    assert not any("人工核对" in t or "把握不大" in t for t in texts)
    assert not any("材料齐全，无需补正" in t for t in texts) and any("尚待我局进一步核对" in t for t in texts)


def test_the_clerks_review_decides(reports: dict[str, Report], tmp_path: Path) -> None:
    report = reports[MISSING].model_copy(deep=True)
    store = DecisionStore(tmp_path)
    store.record(report, "item:development_plan", "present", "附在简介之后", "张三")
    report.review = review(report, store.current(report.dossier.id))
    texts = _texts(_letter(report, tmp_path / "notice.docx"))
    numbered = [t for t in texts if t.startswith(("一、", "二、"))]
    assert len(numbered) == 1 and numbered[0].startswith("一、") and "真实性声明" in numbered[0]
    assert not any("发展规划" in t for t in texts)
    store.record(report, "item:authenticity_declaration", "present", "", "张三")
    store.record(report, "seal:authenticity_declaration", "present", "第 1 页有公章", "张三")
    report.review = review(report, store.current(report.dossier.id))
    assert report.review is not None and report.review.verdict == "complete" and report.review.review_count == 0
    assert any("材料齐全，无需补正" in t for t in _texts(_letter(report, tmp_path / "none.docx")))


def test_hostile_text_is_escaped(reports: dict[str, Report], tmp_path: Path) -> None:
    report = reports[MISSING].model_copy(deep=True)
    report.fields["applicant"] = "临朐县\x07工业和信息化局\x0b"
    texts = _texts(_letter(report, tmp_path / "notice.docx", contact="李四\x1b[2J"))
    assert "临朐县\\x07工业和信息化局\\x0b：" in texts
    assert not any("\x07" in t or "\x1b" in t for t in texts)


# --------------------------------------------------------------------------------------------------
# --format notice
# --------------------------------------------------------------------------------------------------


def test_notice_is_a_format_but_no_default(reports: dict[str, Report], tmp_path: Path) -> None:
    assert parse_formats("json,notice") == [Format.JSON, Format.NOTICE]
    assert Format.NOTICE not in DEFAULT_FORMATS and Format.NOTICE not in DEMO_FORMATS
    written = write_reports(reports[MISSING], tmp_path, "json,notice")
    assert [p.name for p in written] == ["report.json", "notice.docx"]
    assert Document(str(tmp_path / "notice.docx")).paragraphs[0].text.startswith("关于补正")


def test_dossier_check_writes_the_notice(tmp_path: Path) -> None:
    sample = str(SAMPLES / "dossiers" / MISSING)
    out = tmp_path / "out"
    args = ["check", sample, "--out", str(out), "--format", "json,notice"]
    assert main([*args, "--notice-deadline", "2026年12月15日", "--notice-contact", "王芳 0536-3212345"]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["notice.docx", "report.json"]
    texts = _texts(Document(str(out / "notice.docx")))
    assert any("于2026年12月15日前" in t for t in texts) and "联系人及电话：王芳 0536-3212345" in texts
    assert any(t.startswith("一、") and "第六条（三）" in t for t in texts)
    # the notice's options without the notice: a usage error
    assert main(["check", sample, "--out", str(tmp_path / "x"), "--notice-contact", "王芳"]) == 2
