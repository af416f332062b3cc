"""Tests for pipeline.reports: the clerk's HTML / Markdown / Word report and the batch summary."""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook

from pipeline.formats import FormatError
from pipeline.report import Report
from pipeline.reports import (
    FORMATS,
    SummaryRow,
    failed_row,
    outline,
    render_html,
    render_markdown,
    summary_row,
    write_docx,
    write_reports,
    write_summary,
)
from pipeline.reports.outline import Figure, headings
from pipeline.reports.wording import NOTHING_TO_FIX
from pipeline.ruleset import load_ruleset

SHA = "9f2c4e1ab37d" + "0" * 52

ITEM_DEFS = [
    ("application_form", "第六条（一）", "山东省特色产业集群申请表", True),
    ("introduction", "第六条（二）", "特色产业集群发展情况简介", True),
    ("development_plan", "第六条（三）", "特色产业集群发展规划", True),
    ("brand_evidence", "第六条（四）", "名牌产品、驰（著）名商标或产业荣誉称号、媒体宣传报道等材料", True),
    ("innovation_platforms", "第六条（五）", "创新研发中心、公共服务平台、服务体系建设材料", True),
    ("informatization", "第六条（六）", "信息化智能化建设情况", True),
    ("other_materials", "第六条（七）", "其他证明材料", False),
    ("authenticity_declaration", "第六条（八）", "申报材料真实性声明", True),
]
TITLES = {item_id: title for item_id, _, title, _ in ITEM_DEFS}


def _finding(
    code: str, severity: str, item: str | None, message: str, file: str | None = None, pages: Any = None
) -> dict[str, Any]:
    location = {"file": file, "pages": pages} if file else None
    return {"code": code, "severity": severity, "item": item, "message": message, "location": location}


def _sec(item: str | None, title: str, pages: list[int] | None, confidence: float) -> dict[str, Any]:
    return {"item": item, "title": title, "pages": pages, "confidence": confidence}


def example_data() -> dict[str, Any]:
    """An incomplete dossier: one item missing, one oversized, one unreadable file, one unsure item."""
    findings = [
        _finding("ITEM_MISSING", "error", "development_plan", "缺少：特色产业集群发展规划"),
        _finding(
            "ITEM_OVERSIZED",
            "error",
            "introduction",
            "发展情况简介 3412 字，超过 3000 字上限",
            "申报材料/2.发展情况简介.pdf",
            [1, 4],
        ),
        _finding(
            "FILE_UNREADABLE",
            "error",
            None,
            "文件已加密，无法打开：申报材料/6.研发&服务平台.pdf",
            "申报材料/6.研发&服务平台.pdf",
        ),
        _finding(
            "LOW_CONFIDENCE",
            "warning",
            "informatization",
            "“信息化智能化建设情况”识别把握不大（置信度 55%），请人工确认",
            "临朐县铝型材加工集群申报材料（合订本）.pdf",
            [41, 47],
        ),
        _finding(
            "FORM_FIELD_MISSING",
            "warning",
            "application_form",
            "申请表“年营业收入”一栏未填写",
            "申报材料/1.申请表.docx",
        ),
        _finding(
            "DUPLICATE_FILE",
            "info",
            None,
            "扫描件001.pdf 与 申报材料/8.真实性声明.pdf 内容相同",
            "申报材料/扫描件001.pdf",
            [1, 1],
        ),
    ]
    state: dict[str, dict[str, Any]] = {
        "application_form": {
            "present": True,
            "confidence": 0.98,
            "locations": [{"file": "申报材料/1.申请表.docx", "pages": None}],
        },
        "introduction": {
            "present": True,
            "confidence": 0.97,
            "locations": [{"file": "申报材料/2.发展情况简介.pdf", "pages": [1, 4]}],
            "metrics": {"word_count": 3412, "char_count_no_spaces": 3488, "limit": 3000},
        },
        "brand_evidence": {
            "present": True,
            "confidence": 0.91,
            "locations": [{"file": "临朐县铝型材加工集群申报材料（合订本）.pdf", "pages": [12, 30]}],
        },
        "innovation_platforms": {
            "present": True,
            "confidence": 0.88,
            "locations": [{"file": "临朐县铝型材加工集群申报材料（合订本）.pdf", "pages": [31, 40]}],
        },
        "informatization": {
            "present": True,
            "confidence": 0.55,
            "locations": [{"file": "临朐县铝型材加工集群申报材料（合订本）.pdf", "pages": [41, 47]}],
        },
        "authenticity_declaration": {
            "present": True,
            "confidence": 0.95,
            "locations": [{"file": "申报材料/8.真实性声明.pdf", "pages": [1, 1]}],
            "seal": {
                "detected": True,
                "file": "申报材料/8.真实性声明.pdf",
                "page": 1,
                "bbox": [350.0, 600.0, 470.0, 720.0],
                "score": 0.93,
                "diameter_mm": 42.0,
                "crop": "",  # no crop written: the HTML shows no picture
            },
        },
    }
    items = []
    for item_id, article, title, required in ITEM_DEFS:
        own = state.get(item_id, {})
        items.append(
            {
                "id": item_id,
                "article": article,
                "title": title,
                "required": required,
                "present": own.get("present", False),
                "confidence": own.get("confidence", 0.0),
                "locations": own.get("locations", []),
                "metrics": own.get("metrics", {}),
                "seal": own.get("seal"),
                "findings": [f for f in findings if f["item"] == item_id],
            }
        )
    files = [
        {
            "path": "申报材料/1.申请表.docx",
            "sha256": "1" * 64,
            "format": "docx",
            "pages": None,
            "ocr_pages": 0,
            "error": None,
            "size": 48_211,
            "error_kind": None,
            "identified_as": [_sec("application_form", "山东省特色产业集群申请表", None, 0.98)],
        },
        {
            "path": "申报材料/2.发展情况简介.pdf",
            "sha256": "2" * 64,
            "format": "pdf",
            "pages": 4,
            "ocr_pages": 0,
            "error": None,
            "size": 312_004,
            "error_kind": None,
            "identified_as": [_sec("introduction", "临朐县铝型材加工特色产业集群发展情况简介", [1, 4], 0.97)],
        },
        {
            "path": "临朐县铝型材加工集群申报材料（合订本）.pdf",
            "sha256": SHA,
            "format": "pdf",
            "pages": 47,
            "ocr_pages": 19,
            "error": None,
            "size": 18_402_113,
            "error_kind": None,
            "identified_as": [
                _sec(None, "目录", [1, 2], 0.0),
                _sec("brand_evidence", "四、品牌建设材料", [12, 30], 0.91),
                _sec("innovation_platforms", "五、创新平台", [31, 40], 0.88),
                _sec("informatization", "六、数字化转型", [41, 47], 0.55),
            ],
        },
        {
            "path": "申报材料/6.研发&服务平台.pdf",
            "sha256": "6" * 64,
            "format": "pdf",
            "pages": None,
            "ocr_pages": 0,
            "error": "文件已加密，无法打开",
            "size": 90_112,
            "error_kind": "encrypted",
            "identified_as": [],
        },
        {
            "path": "申报材料/8.真实性声明.pdf",
            "sha256": "8" * 64,
            "format": "pdf",
            "pages": 1,
            "ocr_pages": 1,
            "error": None,
            "size": 402_331,
            "error_kind": None,
            "identified_as": [_sec("authenticity_declaration", "申报材料真实性声明", [1, 1], 0.95)],
        },
        {
            "path": "申报材料/扫描件001.pdf",
            "sha256": "8" * 64,
            "format": "pdf",
            "pages": 1,
            "ocr_pages": 1,
            "error": None,
            "size": 402_331,
            "error_kind": None,
            "identified_as": [_sec("authenticity_declaration", "申报材料真实性声明", [1, 1], 0.95)],
        },
    ]
    return {
        "schema": "dossier-report/1",
        "dossier": {
            "id": "临朐县铝型材加工",
            "source": "临朐县铝型材加工.zip",
            "checked_at": "2026-11-29T16:00:00+08:00",
            "files": files,
        },
        "ruleset": {
            "id": "shandong-2020",
            "title": "山东省特色产业集群管理办法（鲁工信发〔2020〕5号）",
            "field_labels": {f.id: f.label for f in load_ruleset().form_fields},
            "field_units": {f.id: f.unit for f in load_ruleset().form_fields if f.unit},
        },
        "verdict": "incomplete",
        "items": items,
        "fields": {
            "cluster_name": "临朐县铝型材加工特色产业集群",
            "applicant": "临朐县工业和信息化局",
            "region": "潍坊市临朐县",
            "leading_industry": "铝型材加工",
            "area_km2": 36.5,
            "enterprise_count": 180,
            "annual_revenue_cny": None,
        },
        "conditions": [
            {
                "id": "area_max",
                "op": "<=",
                "article": "第四条（二）",
                "status": "pass",
                "value": 36.5,
                "threshold": 100,
                "unit": "km2",
                "title": "集群区域面积在100平方公里以内",
            },
            {
                "id": "enterprise_min",
                "op": ">=",
                "article": "第四条（二）",
                "status": "pass",
                "value": 180,
                "threshold": 100,
                "unit": "enterprises",
                "title": "",
            },
            {
                "id": "revenue_min",
                "op": ">=",
                "article": "第四条（二）",
                "status": "unknown",
                "value": None,
                "threshold": 10_000_000_000,
                "unit": "cny",
                "title": "年营业收入100亿元以上",
            },
        ],
        "findings": findings,
        "counts": {"error": 3, "warning": 2, "info": 1},
        "review_count": 1,
    }


def example_report() -> Report:
    return Report.model_validate(example_data())


def complete_data() -> dict[str, Any]:
    """A complete dossier with no conditions checked and no form fields extracted."""
    report = copy.deepcopy(example_data())
    report["dossier"]["id"] = "滕州市煤基精细化工"
    report["dossier"]["source"] = "滕州市煤基精细化工"
    report["verdict"] = "complete"
    report["findings"] = []
    report["counts"] = {"error": 0, "warning": 0, "info": 0}
    report["review_count"] = 0
    report["conditions"] = []
    report["fields"] = dict.fromkeys(report["fields"])
    for item in report["items"]:
        item["findings"] = []
        if item["id"] != "other_materials":
            item["present"] = True
    return report


def complete_report() -> Report:
    return Report.model_validate(complete_data())


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def _parse(page: str) -> _TextCollector:
    parser = _TextCollector()
    parser.feed(page)
    parser.close()
    return parser


def _expected_texts(report: Report) -> list[str]:
    texts = [item.title for item in report.items]
    texts += [finding.message for finding in report.findings]
    texts += [file.path for file in report.dossier.files]
    return texts


def _docx_text(path: Path) -> tuple[str, set[str]]:
    """The paragraphs of a Word file, and the text of its table cells."""
    document = Document(str(path))
    cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells}
    return "\n".join(p.text for p in document.paragraphs), cells


# --- the outline --------------------------------------------------------------------------------------


def test_outline_orders_the_sections() -> None:
    blocks = outline(example_report())
    sections = [text for _, text in headings(blocks)]
    assert sections == [
        "申报材料预审报告：临朐县铝型材加工",
        "补正清单",
        "需补正（3 项）",
        "提醒（2 项）",
        "申报材料逐项核对（第六条）",
        "基本条件（第四条）",
        "申请表主要数据",
        "申请表全部栏目",
        "数据一致性核对",
        "品牌与创新证明材料清单",
        "材料包文件",
        "其他说明",
    ]
    assert not [b for b in blocks if isinstance(b, Figure)]  # the seal found has no crop: no picture
    assert NOTHING_TO_FIX not in [getattr(b, "text", "") for b in blocks]  # it needs 补正


def test_field_labels_come_from_the_ruleset() -> None:
    data = example_data()
    data["ruleset"]["field_labels"] = {"cluster_name": "产业集群名称", "applicant": "申报主体"}
    data["cross_checks"] = [
        {
            "field": "cluster_name",
            "item": "introduction",
            "text": "临朐县铝型材加工特色产业集群",
            "value": "临朐县铝型材加工特色产业集群",
            "agrees": False,
            "location": {"file": "申报材料/2.发展情况简介.pdf", "pages": [1, 1]},
        }
    ]
    text = "\n".join(_parse(render_html(Report.model_validate(data))).chunks)
    assert "产业集群名称" in text and "集群名称" not in text.replace("产业集群名称", "")
    assert "申报主体" in text
    assert "申报材料/2.发展情况简介.pdf 第1页" in text and "不一致" in text


def test_condition_operator_from_the_condition() -> None:
    data = example_data()
    data["conditions"][0]["op"] = ">="  # a ruleset may say so, whatever the id
    text = "\n".join(_parse(render_html(Report.model_validate(data))).chunks)
    assert "≥ 100 平方公里" in text and "≤ 100 平方公里" not in text


def test_validity_note_is_shown() -> None:
    data = example_data()
    data["ruleset"].update(as_of="2026-12-01", in_force=False, validity_note="该办法有效期至2025年10月8日，已失效")
    report = Report.model_validate(data)
    assert "该办法有效期至2025年10月8日，已失效" in "\n".join(_parse(render_html(report)).chunks)
    assert "该办法有效期至2025年10月8日，已失效" in render_markdown(report)


# --- HTML ---------------------------------------------------------------------------------------------


def test_html_parses_and_has_everything() -> None:
    report = example_report()
    page = render_html(report)
    parsed = _parse(page)
    text = "\n".join(parsed.chunks)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in page
    assert '<meta charset="utf-8">' in page
    assert {"table", "ol", "h1", "h2", "style"} <= set(parsed.tags)
    assert "材料不齐全，需补正" in text
    for expected in _expected_texts(report):
        assert expected in text, expected
    # the verdict comes before the correction list, which comes before the items table
    assert text.index("材料不齐全，需补正") < text.index("补正清单") < text.index("申报材料逐项核对")
    assert '<div class="verdict bad">' in page and '<ol class="fix warnings" start="4">' in page


def test_html_is_self_contained_and_escaped() -> None:
    page = render_html(example_report())
    parsed = _parse(page)
    assert "link" not in parsed.tags and "script" not in parsed.tags and "img" not in parsed.tags
    assert not [value for name, value in parsed.attrs if name in {"src", "href"}]
    assert "研发&amp;服务平台" in page  # & escaped in the markup
    assert "研发&服务平台" not in page


def test_html_escapes_markup_in_names() -> None:
    data = example_data()
    data["dossier"]["files"][0]["path"] = '<script>alert("x")</script>.docx'
    page = render_html(Report.model_validate(data))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_html_checklist_and_item_statuses() -> None:
    text = "\n".join(_parse(render_html(example_report())).chunks)
    assert "缺少：特色产业集群发展规划（第六条（三））" in text
    assert "申报材料/2.发展情况简介.pdf 第1–4页" in text
    assert "需补正（3 项）" in text and "提醒（2 项）" in text
    for status in ("已提供", "缺失", "有问题", "需人工确认", "未提供（可选）"):
        assert status in text
    assert "字数 3,412 / 上限 3,000（超出）" in text
    assert "已检测到公章（第1页，得分 0.93）" in text
    assert SHA[:12] in text and SHA[:13] not in text
    assert "「目录」第1–2页 → 未识别为申报材料" in text
    assert "文件已加密，无法打开（encrypted）" in text
    assert "其他说明" in text
    assert "未提取" in text  # annual revenue is null
    assert "≥ 100 亿元" in text and "≤ 100 平方公里" in text
    assert "enterprise_min" in text  # a condition without a title of its own: its id


def test_html_complete_report_with_empty_conditions_and_null_fields() -> None:
    report = complete_report()
    text = "\n".join(_parse(render_html(report)).chunks)
    assert "材料齐全" in text and "材料不齐全" not in text
    assert "无需补正" in text
    assert text.count("未提取") == len(report.fields)
    assert "未核对基本条件" in text
    assert "其他说明" not in text


def test_a_complete_dossier_with_a_doubt_is_never_bare_complete(tmp_path: Path) -> None:
    data = complete_data()
    doubt = _finding("LOW_CONFIDENCE", "warning", "informatization", "识别把握不大，请人工确认")
    data["findings"] = [doubt]
    data["counts"]["warning"] = 1
    data["review_count"] = 1
    report = Report.model_validate(data)
    assert "材料齐全，1 项请人工核对" in "\n".join(_parse(render_html(report)).chunks)
    assert "⚠️ **材料齐全，1 项请人工核对**" in render_markdown(report)
    assert summary_row(report, "d")["review_count"] == 1


def test_render_tolerates_sparse_report() -> None:
    report = Report.model_validate(
        {
            "schema": "dossier-report/1",
            "dossier": {"id": "空材料包", "source": "空材料包", "checked_at": "not a date", "files": []},
            "ruleset": {"id": "shandong-2020", "title": ""},
            "verdict": "incomplete",
            "items": [],
            "fields": {},
            "conditions": [],
            "findings": [],
            "counts": {},
            "review_count": 0,
        }
    )
    assert "材料包中没有文件" in render_html(report)
    assert "材料包中没有文件" in render_markdown(report)
    assert "not a date" in render_markdown(report)


# --- seal crops -----------------------------------------------------------------------------------------


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _with_crop() -> Report:
    report = example_report()
    declaration = next(i for i in report.items if i.id == "authenticity_declaration")
    assert declaration.seal is not None and declaration.seal.detected
    declaration.seal.crop = "seal-authenticity_declaration.png"  # type: ignore[union-attr]
    declaration.seal_crop = _png()
    return report


def test_seal_crops_in_every_format(tmp_path: Path) -> None:
    report = _with_crop()
    [figure] = [b for b in outline(report) if isinstance(b, Figure)]
    assert figure.src == "seal-authenticity_declaration.png" and figure.image == report.items[-1].seal_crop
    written = write_reports(report, tmp_path, ["html", "md", "docx"])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    parsed = _parse(page)
    assert [value for name, value in parsed.attrs if name == "src"] == ["seal-authenticity_declaration.png"]
    assert '<figure class="seal">' in page and "申报材料真实性声明：申报材料/8.真实性声明.pdf 第1页" in page
    assert "![公章](seal-authenticity_declaration.png)" in (tmp_path / "report.md").read_text(encoding="utf-8")
    document = Document(str(tmp_path / "report.docx"))
    [shape] = document.inline_shapes
    blip = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
    assert document.part.related_parts[blip].blob == report.items[-1].seal_crop
    assert [p.name for p in written] == ["report.html", "report.md", "report.docx"]


# --- Markdown -----------------------------------------------------------------------------------------


def test_markdown_has_everything() -> None:
    report = example_report()
    markdown = render_markdown(report)
    plain = re.sub(r"\\(.)", r"\1", markdown)
    assert "材料不齐全，需补正" in plain
    for expected in _expected_texts(report):
        assert expected in plain, expected
    assert "| 条款 | 材料 | 必需/可选 | 状态 |" in markdown
    assert "1. 缺少：特色产业集群发展规划（第六条（三））" in plain
    assert "4. “信息化智能化建设情况”识别把握不大" in plain  # warnings numbered on after the errors
    assert "   处理：请申报单位补充提交该项材料" in plain
    assert markdown.endswith("---\n\n本报告由系统自动预审生成，供合规性审核参考；结论以人工审核为准。\n")
    assert "\n\n\n" not in markdown


def test_markdown_escapes_pipes_in_cells() -> None:
    data = example_data()
    data["dossier"]["files"][0]["path"] = "申报材料/申请表|最终版.docx"
    markdown = render_markdown(Report.model_validate(data))
    assert "申请表\\|最终版.docx" in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| 文件 |"))
    row = next(line for line in markdown.splitlines() if "最终版" in line and line.startswith("|"))
    unescaped_pipes = len(re.findall(r"(?<!\\)\|", row))
    assert unescaped_pipes == header.count("|")


def test_markdown_escapes_specials_and_line_breaks() -> None:
    data = example_data()
    data["dossier"]["id"] = "#1 *包* [a](b) <x>\n第二行"
    markdown = render_markdown(Report.model_validate(data))
    assert markdown.startswith("# 申报材料预审报告：\\#1 \\*包\\* \\[a\\](b) \\<x\\> 第二行\n")


# --- Word ---------------------------------------------------------------------------------------------


def test_docx_opens_and_has_verdict(tmp_path: Path) -> None:
    report = example_report()
    path = tmp_path / "report.docx"
    write_docx(report, path)
    document = Document(str(path))
    runs = [run for paragraph in document.paragraphs for run in paragraph.runs]
    verdict = next(run for run in runs if run.text == "材料不齐全，需补正")
    assert verdict.bold
    assert str(verdict.font.color.rgb) == "C00000"
    assert document.tables and all(table.style.name == "Table Grid" for table in document.tables)
    body, cells = _docx_text(path)
    for item in report.items:
        assert item.title in cells
    for finding in report.findings:
        assert finding.message in body
    assert document.core_properties.title == "申报材料预审报告：临朐县铝型材加工"


def test_docx_has_what_the_html_has(tmp_path: Path) -> None:
    data = example_data()
    data["form"] = [
        {
            "field": "area_km2",
            "label": "集群区域面积（平方公里）",
            "text": "36.5",
            "value": 36.5,
            "approximate": False,
            "location": {"file": "申报材料/1.申请表.docx", "pages": None},
        }
    ]
    data["evidence"] = {
        "counts": {"HONOUR": 1},
        "items": [
            {
                "label": "HONOUR",
                "text": "山东名牌产品",
                "normalized": "山东名牌产品",
                "level": "省级",
                "file": "申报材料/2.发展情况简介.pdf",
                "pages": [2],
                "locations": [],
            }
        ],
    }
    path = tmp_path / "report.docx"
    write_docx(Report.model_validate(data), path)
    body, cells = _docx_text(path)
    for heading in ("申请表全部栏目", "数据一致性核对", "品牌与创新证明材料清单", "其他说明"):
        assert heading in body
    assert {
        "集群区域面积（平方公里）",
        "36.5 平方公里",
        "荣誉称号",
        "山东名牌产品",
        "申报材料/2.发展情况简介.pdf 第2页",
    } <= cells
    assert "（无可比对的表述）" in body


def test_docx_complete_is_green(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    write_docx(complete_report(), path)
    runs = [run for paragraph in Document(str(path)).paragraphs for run in paragraph.runs]
    verdict = next(run for run in runs if run.text == "材料齐全")
    assert verdict.bold and str(verdict.font.color.rgb) == "1B7F3B"


# --- write_reports ------------------------------------------------------------------------------------


def test_write_reports_writes_exactly_requested(tmp_path: Path) -> None:
    report = example_report()
    out = tmp_path / "out" / "临朐县铝型材加工"
    written = write_reports(report, out, ["json", "md"])
    assert written == [out / "report.json", out / "report.md"]
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]
    raw = (out / "report.json").read_text(encoding="utf-8")
    assert "临朐县铝型材加工" in raw  # ensure_ascii=False
    assert json.loads(raw) == report.as_dict()


def test_write_reports_all_formats(tmp_path: Path) -> None:
    written = write_reports(example_report(), tmp_path, ("json", "html", "md", "docx"))
    assert sorted(p.name for p in written) == ["report.docx", "report.html", "report.json", "report.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    Document(str(tmp_path / "report.docx"))
    assert write_reports(example_report(), tmp_path / "s", "md,json") == [
        tmp_path / "s" / n for n in ("report.md", "report.json")
    ]


def test_write_reports_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="pdf"):
        write_reports(example_report(), tmp_path / "x", ["html", "pdf"])
    assert not (tmp_path / "x").exists() or not list((tmp_path / "x").iterdir())
    with pytest.raises(ValueError, match="pdf"):  # a FormatError is a ValueError
        write_reports(example_report(), tmp_path / "x", "pdf")


def test_write_reports_makes_every_string_printable(tmp_path: Path) -> None:
    report = _with_crop()
    report.dossier.files[0].path = "申报材料/\x07申请表\x0b.docx"
    write_reports(report, tmp_path, FORMATS)
    for name in ("report.json", "report.html", "report.md"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "\x07" not in text and "\\x07" in text and "\\x0b" in text, name
    xml = zipfile.ZipFile(tmp_path / "report.docx").read("word/document.xml")
    assert b"\x07" not in xml and b"\\x07" in xml
    assert len(Document(str(tmp_path / "report.docx")).inline_shapes) == 1  # the crop kept
    assert report.dossier.files[0].path == "申报材料/\x07申请表\x0b.docx"  # the caller's report untouched


# --- summary ------------------------------------------------------------------------------------------

ROW_KEYS = [
    *("id", "source", "verdict", "items", "errors", "warnings", "review_count", "report", "fields", "failure"),
    *("checked_at", "final_verdict", "final_review_count", "final_errors", "final_warnings"),
    *("decisions", "stale_decisions"),
]


def test_summary_row_statuses() -> None:
    row = summary_row(example_report(), "临朐县铝型材加工")
    assert list(row) == ROW_KEYS  # one row shape: the documented keys, nothing else
    assert row["id"] == "临朐县铝型材加工"
    assert row["verdict"] == "incomplete"
    assert row["items"] == {
        "application_form": "present",
        "introduction": "defective",
        "development_plan": "missing",
        "brand_evidence": "present",
        "innovation_platforms": "present",
        "informatization": "present",
        "other_materials": "absent_optional",
        "authenticity_declaration": "present",
    }
    assert (row["errors"], row["warnings"], row["review_count"]) == (3, 2, 1)
    assert row["report"] == "临朐县铝型材加工/report.html"
    assert row["failure"] is None
    assert row["fields"]["enterprise_count"] == 180
    json.dumps(row)
    failed = failed_row("坏包", "坏包.zip", "压缩包已损坏，无法解压")
    assert list(failed) == ROW_KEYS
    assert failed["verdict"] == "failed" and failed["failure"] == "压缩包已损坏，无法解压"
    assert summary_row(example_report(), "")["report"] == "report.html"
    assert summary_row(example_report(), "a\\b\\")["report"] == "a/b/report.html"


def test_write_summary(tmp_path: Path) -> None:
    reports = {"临朐县铝型材加工": example_report(), "滕州市煤基精细化工": complete_report()}
    rows = [summary_row(report, ident) for ident, report in reports.items()]
    rows.append(failed_row("坏包", "坏包.zip", "压缩包已损坏，无法解压"))
    json_path, xlsx_path = write_summary(rows, tmp_path, TITLES)
    assert (json_path, xlsx_path) == (tmp_path / "summary.json", tmp_path / "summary.xlsx")

    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["schema"] == "dossier-summary/1"
    assert data["generated_at"]
    assert [d["id"] for d in data["dossiers"]] == ["临朐县铝型材加工", "滕州市煤基精细化工", "坏包"]
    assert data["dossiers"] == rows

    sheet = load_workbook(xlsx_path).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    titles = [title for _, _, title, _ in ITEM_DEFS]
    assert header == [
        "申报材料包",
        "来源",
        "结论",
        "最终结论（含人工确认）",
        *titles,
        "错误数",
        "提醒数",
        "报告",
        "处理失败原因",
    ]
    assert sheet.freeze_panes is not None and sheet.freeze_panes[1:] == "2"  # header row frozen
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}4"
    assert sheet.max_row == 4

    col = {name: index + 1 for index, name in enumerate(header)}
    lin = {name: sheet.cell(2, index) for name, index in col.items()}
    assert lin["结论"].value == "不齐全"
    assert lin["特色产业集群发展规划"].value == "✗ 缺失"
    assert lin["特色产业集群发展情况简介"].value == "! 有问题"
    assert lin["山东省特色产业集群申请表"].value == "✓ 已提供"
    assert lin["其他证明材料"].value == "—"
    assert (lin["错误数"].value, lin["提醒数"].value) == (3, 2)

    def rgb(cell: Any) -> str:
        return str(cell.fill.fgColor.rgb)[-6:]

    red, green = "FFC7CE", "C6EFCE"
    assert rgb(lin["结论"]) == red
    assert rgb(lin["特色产业集群发展规划"]) == red
    assert rgb(lin["山东省特色产业集群申请表"]) == green
    assert rgb(sheet.cell(3, col["结论"])) == green
    assert sheet.cell(3, col["结论"]).value == "齐全"

    link = lin["报告"]
    assert link.hyperlink is not None
    assert link.hyperlink.target == "临朐县铝型材加工/report.html"

    failed = {name: sheet.cell(4, index) for name, index in col.items()}
    assert failed["结论"].value == "处理失败"
    assert failed["处理失败原因"].value == "压缩包已损坏，无法解压"
    assert failed["报告"].hyperlink is None
    assert sheet.column_dimensions["A"].width >= 10


def test_write_summary_item_titles_mapping_and_empty(tmp_path: Path) -> None:
    rows = [failed_row("坏包", "坏包.zip", "无法读取")]
    _, xlsx = write_summary(rows, tmp_path, item_titles={"application_form": "申请表"})
    header = [cell.value for cell in load_workbook(xlsx).worksheets[0][1]]
    assert header[4] == "申请表"
    _, xlsx = write_summary([], tmp_path / "empty", {})
    sheet = load_workbook(xlsx).worksheets[0]
    assert sheet.max_row == 1


def test_write_summary_keeps_one_row_shape_and_unknown_items(tmp_path: Path) -> None:
    """A row stored by an older version (with its extra key, and an item the ruleset no longer has): the
    ruleset's items title the columns, the other item keeps its id, summary.json keeps one row shape."""
    old = {**summary_row(example_report(), "x"), "item_titles": {"application_form": "旧标题"}}
    old["items"] = {**old["items"], "retired_item": "present"}
    json_path, xlsx = write_summary([old], tmp_path, TITLES)
    header = [cell.value for cell in load_workbook(xlsx).worksheets[0][1]]
    assert header[4] == "山东省特色产业集群申请表" and header[4 + len(ITEM_DEFS)] == "retired_item"
    [row] = json.loads(json_path.read_text(encoding="utf-8"))["dossiers"]
    assert list(row) == ROW_KEYS


def test_write_summary_makes_rows_printable(tmp_path: Path) -> None:
    row = failed_row("坏\x01包", "坏\x01包.zip", "无法读取\x0c")
    json_path, xlsx = write_summary([SummaryRow.model_validate(row)], tmp_path, TITLES)
    assert "\\x01" in json_path.read_text(encoding="utf-8")
    assert load_workbook(xlsx).worksheets[0].cell(2, 1).value == "坏\\x01包"
