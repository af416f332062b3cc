"""Render a finished report.json dict for a bureau clerk (HTML, Markdown, Word) and the batch summary.

Everything here takes plain dicts (the report.json of CONTRACT.md plus `counts`, files' `size`,
`error_kind` and `identified_as`) and writes files or returns strings. The three renderers share one
view model (`_build_view`): every string the clerk reads is computed once, in Chinese, and each
renderer only lays it out, so HTML, Markdown and Word always say the same thing.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from core.names import xml_safe

from .checks import SEVERITY

__all__ = [
    "FORMATS",
    "failed_row",
    "render_html",
    "render_markdown",
    "review_count",
    "summary_row",
    "verdict_text",
    "write_docx",
    "write_reports",
    "write_summary",
]

FORMATS: tuple[str, ...] = ("json", "html", "md", "docx")
SUMMARY_SCHEMA = "dossier-summary/1"

Tone = Literal["ok", "bad", "warn", "muted", ""]
ItemState = Literal["present", "missing", "defective", "absent_optional"]

# ---------------------------------------------------------------------------------------------------
# Chinese wording
# ---------------------------------------------------------------------------------------------------

VERDICT_TEXT: dict[str, str] = {"complete": "材料齐全", "incomplete": "材料不齐全，需补正"}
SUMMARY_VERDICT_TEXT: dict[str, str] = {"complete": "齐全", "incomplete": "不齐全", "failed": "处理失败"}
# Doubts the tool states instead of guessing (CONTRACT.md): an uncertain reading, and pages not read at all.
REVIEW_CODES = ("LOW_CONFIDENCE", "LIMIT_REACHED")


def review_count(report: Mapping[str, Any]) -> int:
    """How many warnings ask a person to look (CONTRACT.md: 请人工核对)."""
    return sum(1 for f in _findings(report) if f.get("code") in REVIEW_CODES)


def verdict_text(verdict: str, reviews: int, short: bool = False) -> str:
    """The verdict as people read it: a complete dossier with doubts is never a bare 材料齐全."""
    text = (SUMMARY_VERDICT_TEXT if short else VERDICT_TEXT).get(verdict, verdict or "未知")
    if verdict == "complete" and reviews:
        text += f"，{reviews} 项请人工核对"
    return text


def verdict_tone(verdict: str, reviews: int) -> Tone:
    if verdict == "complete":
        return "warn" if reviews else "ok"
    return "bad"


SUMMARY_ITEM_TEXT: dict[str, str] = {
    "present": "✓ 已提供",
    "missing": "✗ 缺失",
    "defective": "! 有问题",
    "absent_optional": "—",
}

# What the clerk should ask the applicant to do, by finding code (unknown codes get no hint).
ACTION_HINTS: dict[str, str] = {
    "ITEM_MISSING": "请申报单位补充提交该项材料",
    "ITEM_OVERSIZED": "请申报单位精简内容至规定上限以内后重新提交",
    "SEAL_MISSING": "请申报单位加盖公章后重新提交（扫描件须清晰可见公章）",
    "ITEM_EMPTY": "该项材料内容为空或过少，请补充完整",
    "FILE_UNREADABLE": "请重新提交可正常打开的文件（不加密、未损坏）",
    "FORM_FIELD_MISSING": "请补填申请表中的该栏目",
    "CONDITION_NOT_MET": "请核实申报数据；如属主导产业全省第一或全国前列可放宽的情形，请附说明",
    "INCONSISTENT_VALUE": "请核对相关材料并统一数据口径",
    "UNSUPPORTED_FORMAT": "请转换为 PDF 或 Word（.docx）格式后重新提交",
    "OCR_LOW_CONFIDENCE": "扫描件不够清晰，请人工核对或请申报单位提供清晰扫描件",
    "LOW_CONFIDENCE": "系统识别把握不大，请人工核对",
    "DUPLICATE_FILE": "可删除重复文件",
}


FIELD_LABELS: dict[str, str] = {
    "cluster_name": "集群名称",
    "applicant": "申报单位",
    "region": "所在地区",
    "leading_industry": "主导产业",
    "area_km2": "集群区域面积",
    "enterprise_count": "企业数量",
    "annual_revenue_cny": "年营业收入",
}

CONDITION_LABELS: dict[str, str] = {
    "area_max": "集群区域面积",
    "enterprise_min": "相关企业数量",
    "revenue_min": "年营业收入",
}

CONDITION_STATUS: dict[str, tuple[str, Tone]] = {
    "pass": ("符合", "ok"),
    "fail": ("不符合", "warn"),
    "unknown": ("无法判断", "muted"),
}

_YUAN_UNITS = {"cny", "yuan", "元", "rmb"}
_UNIT_LABELS: dict[str, str] = {
    "km2": "平方公里",
    "km²": "平方公里",
    "平方公里": "平方公里",
    "enterprises": "家",
    "enterprise": "家",
    "count": "家",
    "家": "家",
    "户": "户",
    "亿元": "亿元",
    "万元": "万元",
}

NOT_EXTRACTED = "未提取"
FOOTER = "本报告由系统自动预审生成，供合规性审核参考；结论以人工审核为准。"
DASH = "—"


# ---------------------------------------------------------------------------------------------------
# Small formatting helpers
# ---------------------------------------------------------------------------------------------------


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _pages_text(pages: Any) -> str:
    """`[3, 5]` → 第3–5页, `[2, 2]` → 第2页, None → ''."""
    if not isinstance(pages, list | tuple) or not pages:
        return ""
    first = pages[0]
    last = pages[-1] if len(pages) > 1 else first
    if first == last:
        return f"第{first}页"
    return f"第{first}–{last}页"


def _location_text(location: Any) -> str:
    """A location dict as `file 第a–b页`, or just the file where pages is null."""
    if not isinstance(location, Mapping):
        return ""
    file = _s(location.get("file"))
    pages = _pages_text(location.get("pages"))
    return f"{file} {pages}".strip()


def _number(value: float | int) -> str:
    """36.5 → '36.5', 180 → '180', 12345.0 → '12,345'; no trailing zeros."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _yuan_text(value: float | int) -> str:
    """Yuan in the unit a clerk reads: 41000000000 → '410 亿元'."""
    if abs(value) >= 1e8:
        return f"{_number(round(value / 1e8, 2))} 亿元"
    if abs(value) >= 1e4:
        return f"{_number(round(value / 1e4, 2))} 万元"
    return f"{_number(value)} 元"


def _quantity_text(value: Any, unit: str | None) -> str:
    if value is None:
        return NOT_EXTRACTED
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _s(value)
    key = (unit or "").strip().lower()
    if key in _YUAN_UNITS:
        return _yuan_text(value)
    label = _UNIT_LABELS.get(key, unit or "")
    return f"{_number(value)} {label}".strip()


def _field_value_text(key: str, value: Any) -> str:
    if value is None or value == "":
        return NOT_EXTRACTED
    if key.endswith("_cny"):
        return _quantity_text(value, "cny")
    if key.endswith("_km2"):
        return _quantity_text(value, "km2")
    if key == "enterprise_count" or key.endswith("_count"):
        return _quantity_text(value, "家")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    if isinstance(value, list | tuple):
        return "、".join(_s(v) for v in value)
    return _s(value)


def _confidence_text(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return DASH
    return f"{value:.0%}"


def _size_text(size: Any) -> str:
    if not isinstance(size, int | float) or isinstance(size, bool):
        return DASH
    if size < 1024:
        return f"{int(size)} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _datetime_text(value: Any) -> str:
    """ISO 8601 → '2026年11月29日 16:00:00 (UTC+08:00)'; anything else verbatim."""
    text = _s(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    shown = f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M:%S}"
    offset = moment.strftime("%z")
    if offset:
        shown += f"（UTC{offset[:3]}:{offset[3:]}）"
    return shown


def _display_width(text: str) -> int:
    """Columns a string takes in a spreadsheet: CJK and full-width characters count 2."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


# ---------------------------------------------------------------------------------------------------
# Reading the report dict
# ---------------------------------------------------------------------------------------------------


def _findings(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report.get("findings") or [] if isinstance(f, Mapping)]


def _item_findings(report: Mapping[str, Any], item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """An item's findings: the top-level ones that name it, plus any the item carries itself."""
    item_id = item.get("id")
    found: list[Mapping[str, Any]] = [f for f in _findings(report) if f.get("item") == item_id]
    seen = {(f.get("code"), f.get("message")) for f in found}
    for own in item.get("findings") or []:
        if isinstance(own, Mapping):
            if (own.get("code"), own.get("message")) not in seen:
                found.append(own)
        elif isinstance(own, str) and own not in {f.get("code") for f in found}:  # a bare code
            found.append({"code": own, "severity": SEVERITY.get(own, ""), "message": own})
    return found


def _has_error(findings: Iterable[Mapping[str, Any]]) -> bool:
    return any(f.get("severity") == "error" for f in findings)


def _has_low_confidence(findings: Iterable[Mapping[str, Any]]) -> bool:
    return any(f.get("code") == "LOW_CONFIDENCE" for f in findings)


def _counts(report: Mapping[str, Any]) -> dict[str, int]:
    given = report.get("counts")
    if isinstance(given, Mapping):
        return {k: int(given.get(k) or 0) for k in ("error", "warning", "info")}
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in _findings(report):
        severity = finding.get("severity")
        if severity in counts:
            counts[severity] += 1
    return counts


def _item_state(report: Mapping[str, Any], item: Mapping[str, Any]) -> ItemState:
    """The summary's four-valued item status."""
    if item.get("present"):
        return "defective" if _has_error(_item_findings(report, item)) else "present"
    return "missing" if item.get("required", True) else "absent_optional"


def _item_display(report: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[str, Tone]:
    """The report's item status: 已提供 / 缺失 / 有问题 / 需人工确认 (/ 未提供（可选）)."""
    findings = _item_findings(report, item)
    error = _has_error(findings)
    unsure = _has_low_confidence(findings)
    if item.get("present"):
        if error:
            return "有问题", "bad"
        if unsure:
            return "需人工确认", "warn"
        return "已提供", "ok"
    if unsure and not error:
        return "需人工确认", "warn"
    if item.get("required", True):
        return "缺失", "bad"
    return "未提供（可选）", "muted"


def _item_titles(report: Mapping[str, Any]) -> dict[str, str]:
    return {
        _s(item.get("id")): _s(item.get("title")) or _s(item.get("id"))
        for item in report.get("items") or []
        if isinstance(item, Mapping) and item.get("id")
    }


# ---------------------------------------------------------------------------------------------------
# The view model every renderer lays out
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Cell:
    text: str
    tone: Tone = ""


@dataclass
class _Table:
    headers: list[str]
    rows: list[list[_Cell]]
    empty: str = "（无）"


@dataclass
class _Line:
    """One line of the 补正清单: what is wrong, where, and what to do."""

    text: str
    where: str = ""
    hint: str = ""
    severity: str = "error"


@dataclass
class _View:
    title: str
    dossier_id: str
    verdict: str
    verdict_tone: Tone
    meta: list[tuple[str, str]]
    counts: dict[str, int]
    errors: list[_Line]
    warnings: list[_Line]
    notes: list[_Line]
    items: _Table
    conditions: _Table
    fields: _Table
    files: _Table


def _finding_line(finding: Mapping[str, Any], items_by_id: Mapping[str, Mapping[str, Any]]) -> _Line:
    message = _s(finding.get("message")) or _s(finding.get("code"))
    item = items_by_id.get(_s(finding.get("item")))
    if item is not None:
        article = _s(item.get("article"))
        if article and article not in message:
            message += f"（{article}）"
    where = _location_text(finding.get("location"))
    return _Line(
        text=message,
        where="" if where and where in message else where,
        hint=ACTION_HINTS.get(_s(finding.get("code")), ""),
        severity=_s(finding.get("severity")),
    )


def _metrics_text(metrics: Any) -> tuple[str, Tone]:
    if not isinstance(metrics, Mapping) or not metrics:
        return DASH, ""
    parts: list[str] = []
    tone: Tone = ""
    words = metrics.get("word_count")
    limit = metrics.get("limit")
    if words is not None:
        text = f"字数 {_number(words)}"
        if limit is not None:
            text += f" / 上限 {_number(limit)}"
            if isinstance(words, int | float) and isinstance(limit, int | float) and words > limit:
                text += "（超出）"
                tone = "bad"
        parts.append(text)
    elif limit is not None:
        parts.append(f"上限 {_number(limit)}")
    chars = metrics.get("char_count_no_spaces")
    if chars is not None:
        parts.append(f"字符数（不计空格）{_number(chars)}")
    for key, value in metrics.items():
        if key in {"word_count", "limit", "char_count_no_spaces"} or value is None:
            continue
        shown = _number(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        parts.append(f"{key} {shown}")
    return "；".join(parts) or DASH, tone


def _seal_text(seal: Any) -> tuple[str, Tone]:
    if not isinstance(seal, Mapping):
        return DASH, ""
    detected = seal.get("detected")
    details: list[str] = []
    if seal.get("page") is not None:
        details.append(f"第{seal['page']}页")
    if isinstance(seal.get("score"), int | float):
        details.append(f"得分 {seal['score']:.2f}")
    if seal.get("reason"):
        details.append(_s(seal["reason"]))
    suffix = f"（{'，'.join(details)}）" if details else ""
    if detected is True:
        return "已检测到公章" + suffix, "ok"
    if detected is False:
        return "未检测到公章" + suffix, "bad"
    return "无法判断是否盖章" + suffix, "warn"


def _items_table(report: Mapping[str, Any]) -> _Table:
    rows: list[list[_Cell]] = []
    for item in report.get("items") or []:
        if not isinstance(item, Mapping):
            continue
        status, tone = _item_display(report, item)
        unsure = _has_low_confidence(_item_findings(report, item))
        locations = [_location_text(loc) for loc in item.get("locations") or []]
        metrics, metrics_tone = _metrics_text(item.get("metrics"))
        seal, seal_tone = _seal_text(item.get("seal"))
        rows.append(
            [
                _Cell(_s(item.get("article"))),
                _Cell(_s(item.get("title"))),
                _Cell("必需" if item.get("required", True) else "可选"),
                _Cell(status, tone),
                _Cell(_confidence_text(item.get("confidence")) if item.get("present") or unsure else DASH),
                _Cell("；".join(loc for loc in locations if loc) or DASH),
                _Cell(metrics, metrics_tone),
                _Cell(seal, seal_tone),
            ]
        )
    headers = ["条款", "材料", "必需/可选", "状态", "置信度", "所在位置", "指标", "公章"]
    return _Table(headers, rows, empty="（规则集中没有材料项）")


def _condition_name(cond: Mapping[str, Any]) -> str:
    cond_id = _s(cond.get("id"))
    return _s(cond.get("title")) or CONDITION_LABELS.get(cond_id, cond_id)


def _condition_requirement(cond: Mapping[str, Any]) -> str:
    threshold = cond.get("threshold")
    if threshold is None:
        return DASH
    cond_id = _s(cond.get("id"))
    op = _s(cond.get("op")) or ("≤" if cond_id.endswith("_max") else "≥" if cond_id.endswith("_min") else "")
    op = {"<=": "≤", ">=": "≥"}.get(op, op)
    return f"{op} {_quantity_text(threshold, cond.get('unit'))}".strip()


def _conditions_table(report: Mapping[str, Any]) -> _Table:
    rows: list[list[_Cell]] = []
    for cond in report.get("conditions") or []:
        if not isinstance(cond, Mapping):
            continue
        status = _s(cond.get("status"))
        status_text, tone = CONDITION_STATUS.get(status, (status or DASH, ""))
        value = cond.get("value")
        rows.append(
            [
                _Cell(_s(cond.get("article"))),
                _Cell(_condition_name(cond)),
                _Cell(_quantity_text(value, cond.get("unit")) if value is not None else NOT_EXTRACTED),
                _Cell(_condition_requirement(cond)),
                _Cell(status_text, tone),
            ]
        )
    return _Table(["条款", "条件", "申报值", "要求", "结果"], rows, empty="（未核对基本条件）")


def _fields_table(report: Mapping[str, Any]) -> _Table:
    fields = report.get("fields")
    rows: list[list[_Cell]] = []
    if isinstance(fields, Mapping):
        for key, value in fields.items():
            text = _field_value_text(key, value)
            rows.append([_Cell(FIELD_LABELS.get(key, key)), _Cell(text, "muted" if value is None else "")])
    return _Table(["项目", "申报数据"], rows, empty="（未提取申请表数据）")


def _identified_text(file: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    parts: list[str] = []
    for section in file.get("identified_as") or []:
        if not isinstance(section, Mapping):
            continue
        title = _s(section.get("title"))
        head = f"「{title}」" if title else ""
        pages = _pages_text(section.get("pages"))
        if pages:
            head = f"{head}{pages}" if head else pages
        item_id = section.get("item")
        if item_id:
            what = titles.get(_s(item_id), _s(item_id))
            conf = section.get("confidence")
            if isinstance(conf, int | float) and not isinstance(conf, bool):
                what += f"（{conf:.0%}）"
        else:
            what = "未识别为申报材料"
        parts.append(f"{head} → {what}" if head else what)
    return "；".join(parts) or DASH


def _files_table(report: Mapping[str, Any]) -> _Table:
    dossier = report.get("dossier") or {}
    titles = _item_titles(report)
    rows: list[list[_Cell]] = []
    for file in dossier.get("files") or []:
        if not isinstance(file, Mapping):
            continue
        pages = file.get("pages")
        pages_text = _s(pages) if pages is not None else DASH
        ocr = file.get("ocr_pages")
        if isinstance(ocr, int) and ocr > 0:
            pages_text += f"（其中 {ocr} 页为扫描件，已文字识别）"
        sha = _s(file.get("sha256"))[:12] or DASH
        error = _s(file.get("error"))
        if error and file.get("error_kind"):
            error += f"（{file['error_kind']}）"
        rows.append(
            [
                _Cell(_s(file.get("path"))),
                _Cell(_s(file.get("format")) or DASH),
                _Cell(pages_text),
                _Cell(_size_text(file.get("size"))),
                _Cell(sha),
                _Cell(_identified_text(file, titles)),
                _Cell(error or DASH, "bad" if error else ""),
            ]
        )
    headers = ["文件", "格式", "页数", "大小", "SHA-256（前12位）", "识别为", "问题"]
    return _Table(headers, rows, empty="（材料包中没有文件）")


def _build_view(report: Mapping[str, Any]) -> _View:
    dossier = report.get("dossier") or {}
    ruleset = report.get("ruleset") or {}
    verdict = _s(report.get("verdict"))
    counts = _counts(report)
    items_by_id = {_s(item.get("id")): item for item in report.get("items") or [] if isinstance(item, Mapping)}
    errors: list[_Line] = []
    warnings: list[_Line] = []
    notes: list[_Line] = []  # info, and anything of an unknown severity
    for finding in _findings(report):
        severity = _s(finding.get("severity"))
        target = errors if severity == "error" else warnings if severity == "warning" else notes
        target.append(_finding_line(finding, items_by_id))
    dossier_id = _s(dossier.get("id"))
    ruleset_text = _s(ruleset.get("title")) or _s(ruleset.get("id"))
    if ruleset.get("title") and ruleset.get("id"):
        ruleset_text += f"（{ruleset['id']}）"
    meta = [
        ("申报材料包", dossier_id),
        ("来源", _s(dossier.get("source"))),
        ("检查时间", _datetime_text(dossier.get("checked_at"))),
        ("依据", ruleset_text),
        ("文件数", str(len(dossier.get("files") or []))),
        ("错误", f"{counts['error']} 项"),
        ("提醒", f"{counts['warning']} 项"),
    ]
    return _View(
        title=f"申报材料预审报告：{dossier_id}",
        dossier_id=dossier_id,
        verdict=verdict_text(verdict, review_count(report)),
        verdict_tone=verdict_tone(verdict, review_count(report)),
        meta=meta,
        counts=counts,
        errors=errors,
        warnings=warnings,
        notes=notes,
        items=_items_table(report),
        conditions=_conditions_table(report),
        fields=_fields_table(report),
        files=_files_table(report),
    )


# ---------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------

_CSS = """
:root { --ok:#1b7f3b; --ok-bg:#e6f4ea; --bad:#b3261e; --bad-bg:#fce8e6; --warn:#8a5a00; --warn-bg:#fff4d6;
  --muted:#6b6b6b; --line:#d9d9d9; }
* { box-sizing: border-box; }
body { font-family: "PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",sans-serif;
  margin: 0; padding: 24px 32px 48px; color: #1f1f1f; line-height: 1.6; font-size: 15px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #333; }
h3 { font-size: 16px; margin: 16px 0 6px; }
.verdict { font-size: 32px; font-weight: 700; padding: 16px 24px; border-radius: 8px; margin: 0 0 16px;
  border: 2px solid currentColor; }
.verdict.ok { color: var(--ok); background: var(--ok-bg); }
.verdict.bad { color: var(--bad); background: var(--bad-bg); }
.verdict.warn { color: var(--warn); background: var(--warn-bg); }
.verdict small { display: block; font-size: 15px; font-weight: 400; color: #333; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
ol.fix { padding-left: 2em; margin: 4px 0; }
ol.fix li { margin: 6px 0; }
ol.fix li .where { color: #333; }
ol.fix li .hint { display: block; color: var(--muted); font-size: 14px; }
.errors li::marker { color: var(--bad); font-weight: 700; }
.warnings li::marker { color: var(--warn); font-weight: 700; }
.none { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; white-space: nowrap; }
td.ok { color: var(--ok); background: var(--ok-bg); font-weight: 600; }
td.bad { color: var(--bad); background: var(--bad-bg); font-weight: 600; }
td.warn { color: var(--warn); background: var(--warn-bg); font-weight: 600; }
td.muted { color: var(--muted); }
td.nw { white-space: nowrap; }
td.mono, .mono { font-family: "SFMono-Regular",Consolas,"Liberation Mono",monospace; }
footer { margin-top: 32px; color: var(--muted); font-size: 13px; }
@media print { body { padding: 0; } h2 { page-break-after: avoid; } tr { page-break-inside: avoid; } }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(table: _Table, mono_columns: Sequence[int] = (), nowrap_columns: Sequence[int] = ()) -> str:
    if not table.rows:
        return f'<p class="none">{_e(table.empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
    body: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for index, cell in enumerate(row):
            flags = ("mono" if index in mono_columns else "", "nw" if index in nowrap_columns else "")
            classes = [c for c in (cell.tone, *flags) if c]
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{_e(cell.text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_lines(lines: Sequence[_Line], css_class: str, start: int = 1) -> str:
    out: list[str] = []
    for line in lines:
        parts = [_e(line.text)]
        if line.where:
            parts.append(f' <span class="where">— 位置：{_e(line.where)}</span>')
        if line.hint:
            parts.append(f'<span class="hint">处理：{_e(line.hint)}</span>')
        out.append(f"<li>{''.join(parts)}</li>")
    start_attr = f' start="{start}"' if start != 1 else ""
    return f'<ol class="fix {css_class}"{start_attr}>{"".join(out)}</ol>'


def render_html(report: dict[str, Any]) -> str:
    """One self-contained HTML page (inline CSS, no external assets) for the clerk, in Chinese."""
    view = _build_view(report)
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(view.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(view.title)}</h1>",
        f'<div class="verdict {view.verdict_tone}">{_e(view.verdict)}'
        f"<small>错误 {view.counts['error']} 项，提醒 {view.counts['warning']} 项</small></div>",
        '<dl class="meta">',
    ]
    out += [f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in view.meta]
    out.append("</dl>")

    out.append("<h2>补正清单</h2>")
    if not view.errors and not view.warnings:
        out.append('<p class="none">无需补正。</p>')
    if view.errors:
        out.append(f"<h3>需补正（{len(view.errors)} 项）</h3>")
        out.append(_html_lines(view.errors, "errors"))
    if view.warnings:
        out.append(f"<h3>提醒（{len(view.warnings)} 项）</h3>")
        out.append(_html_lines(view.warnings, "warnings", start=len(view.errors) + 1))

    out.append("<h2>申报材料逐项核对（第六条）</h2>")
    out.append(_html_table(view.items, nowrap_columns=(0, 2, 3, 4)))
    out += _html_seals(report)
    out.append("<h2>基本条件（第四条）</h2>")
    out.append(_html_table(view.conditions, nowrap_columns=(0, 2, 3, 4)))
    out.append("<h3>申请表主要数据</h3>")
    out.append(_html_table(view.fields))
    out += _html_figures(report)
    out.append("<h2>材料包文件</h2>")
    out.append(_html_table(view.files, mono_columns=(4,), nowrap_columns=(1, 3, 4)))
    if view.notes:
        out.append("<h2>其他说明</h2>")
        out.append("<ul>")
        for line in view.notes:
            where = f"（{_e(line.where)}）" if line.where else ""
            hint = f"；{_e(line.hint)}" if line.hint else ""
            out.append(f"<li>{_e(line.text)}{where}{hint}</li>")
        out.append("</ul>")
    out.append(f"<footer>{_e(FOOTER)}</footer>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _form_table(report: Mapping[str, Any]) -> _Table:
    """Every labelled pair read from the application form, as written, with its normalised value."""
    rows = []
    for entry in report.get("form") or []:
        value = entry.get("value")
        shown = _field_value_text(entry["field"], value) if entry.get("field") and value is not None else DASH
        rows.append([_Cell(_s(entry.get("label"))), _Cell(_s(entry.get("text")) or "（空）"), _Cell(shown)])
    return _Table(["栏目", "填写内容", "识别结果"], rows, empty="（未找到申请表栏目）")


def _cross_table(report: Mapping[str, Any]) -> _Table:
    """What other items state about the form's figures and names, and whether it agrees."""
    rows = []
    for entry in report.get("cross_checks") or []:
        where = _location_text(entry.get("location"))
        rows.append(
            [
                _Cell(FIELD_LABELS.get(entry.get("field"), _s(entry.get("field")))),
                _Cell(where),
                _Cell(_s(entry.get("text"))),
                _Cell("一致" if entry.get("agrees") else "不一致", "ok" if entry.get("agrees") else "warn"),
            ]
        )
    return _Table(["项目", "出处", "表述", "与申请表"], rows, empty="（无可比对的表述）")


def _evidence_table(report: Mapping[str, Any]) -> _Table:
    names = {"HONOUR": "荣誉称号", "PLATFORM": "创新/服务平台", "MEDIA": "媒体报道", "ORG": "企业与机构"}
    rows = []
    for entry in (report.get("evidence") or {}).get("items", []):
        pages = entry.get("pages") or []
        where = _s(entry.get("file")) + (f" 第{'、'.join(str(p) for p in pages)}页" if pages else "")
        rows.append(
            [
                _Cell(names.get(entry.get("label"), _s(entry.get("label")))),
                _Cell(_s(entry.get("normalized") or entry.get("text"))),
                _Cell(_s(entry.get("level")) or DASH),
                _Cell(where),
            ]
        )
    return _Table(["类别", "名称", "级别", "出处"], rows, empty="（未识别到）")


def _html_figures(report: Mapping[str, Any]) -> list[str]:
    out = ["<h3>申请表全部栏目</h3>", _html_table(_form_table(report))]
    out += ["<h3>数据一致性核对</h3>", _html_table(_cross_table(report))]
    if report.get("evidence") is not None:
        out += ["<h2>品牌与创新证明材料清单</h2>", _html_table(_evidence_table(report))]
    return out


def _html_seals(report: Mapping[str, Any]) -> list[str]:
    """The crop of each seal found, beside the report (written by pipeline.dossier.write_outputs)."""
    figures = []
    for item in report.get("items", []):
        seal = item.get("seal")
        if isinstance(seal, Mapping) and seal.get("detected") is True and seal.get("crop"):
            where = _s(seal.get("file")) + (f" 第{seal['page']}页" if seal.get("page") else "")
            figures.append(
                f'<figure class="seal"><img src="{_e(_s(seal["crop"]))}" alt="公章" width="160">'
                f"<figcaption>{_e(_s(item.get('title')))}：{_e(where)}</figcaption></figure>"
            )
    return ["<h3>检测到的公章</h3>", *figures] if figures else []


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: str) -> str:
    """Escape Markdown syntax (and `|` for tables); line breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _md_table(table: _Table) -> list[str]:
    if not table.rows:
        return [_md(table.empty), ""]
    lines = [
        "| " + " | ".join(_md(h) for h in table.headers) + " |",
        "|" + "|".join(" --- " for _ in table.headers) + "|",
    ]
    for row in table.rows:
        lines.append("| " + " | ".join(_md(cell.text) or " " for cell in row) + " |")
    lines.append("")
    return lines


def _md_lines(lines: Sequence[_Line], start: int = 1) -> list[str]:
    out: list[str] = []
    for number, line in enumerate(lines, start):
        text = f"{number}. {_md(line.text)}"
        if line.where:
            text += f" — 位置：{_md(line.where)}"
        out.append(text)
        if line.hint:
            out.append(f"   处理：{_md(line.hint)}")
    out.append("")
    return out


def render_markdown(report: dict[str, Any]) -> str:
    """The same content as `render_html`, as Markdown (GFM tables)."""
    view = _build_view(report)
    mark = {"ok": "✅", "warn": "⚠️"}.get(view.verdict_tone, "❌")
    out: list[str] = [
        f"# {_md(view.title)}",
        "",
        f"## {mark} **{_md(view.verdict)}**",
        "",
        f"错误 {view.counts['error']} 项，提醒 {view.counts['warning']} 项。",
        "",
    ]
    out += [f"- {_md(label)}：{_md(value)}" for label, value in view.meta]
    out += ["", "## 补正清单", ""]
    if not view.errors and not view.warnings:
        out += ["无需补正。", ""]
    if view.errors:
        out += [f"### 需补正（{len(view.errors)} 项）", "", *_md_lines(view.errors)]
    if view.warnings:
        out += [f"### 提醒（{len(view.warnings)} 项）", ""]
        out += _md_lines(view.warnings, start=len(view.errors) + 1)
    out += ["## 申报材料逐项核对（第六条）", "", *_md_table(view.items)]
    out += ["## 基本条件（第四条）", "", *_md_table(view.conditions)]
    out += ["### 申请表主要数据", "", *_md_table(view.fields)]
    out += ["", "### 申请表全部栏目", "", *_md_table(_form_table(report))]
    out += ["", "### 数据一致性核对", "", *_md_table(_cross_table(report))]
    if report.get("evidence") is not None:
        out += ["", "## 品牌与创新证明材料清单", "", *_md_table(_evidence_table(report))]
    out += ["## 材料包文件", "", *_md_table(view.files)]
    if view.notes:
        out += ["## 其他说明", ""]
        for line in view.notes:
            where = f"（{_md(line.where)}）" if line.where else ""
            hint = f"；{_md(line.hint)}" if line.hint else ""
            out.append(f"- {_md(line.text)}{where}{hint}")
        out.append("")
    out += ["---", "", FOOTER, ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------
# Word
# ---------------------------------------------------------------------------------------------------

_DOCX_COLORS: dict[str, tuple[int, int, int]] = {
    "ok": (0x1B, 0x7F, 0x3B),
    "bad": (0xC0, 0x00, 0x00),
    "warn": (0x9C, 0x57, 0x00),
    "muted": (0x6B, 0x6B, 0x6B),
}
_DOCX_FONT = "宋体"


def _docx_set_cjk_font(style: Any, name: str = _DOCX_FONT) -> None:
    from docx.oxml.ns import qn

    rpr = style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)


def _docx_table(document: Any, table: _Table) -> None:
    from docx.shared import Pt, RGBColor

    if not table.rows:
        document.add_paragraph(table.empty)
        return
    grid = document.add_table(rows=1, cols=len(table.headers))
    grid.style = "Table Grid"
    for cell, header in zip(grid.rows[0].cells, table.headers, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(header)
        run.bold = True
        run.font.size = Pt(9)
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = ""
            run = cell.paragraphs[0].add_run(value.text)
            run.font.size = Pt(9)
            if value.tone in _DOCX_COLORS:
                run.font.color.rgb = RGBColor(*_DOCX_COLORS[value.tone])
                run.bold = value.tone != "muted"
    document.add_paragraph()


def _docx_lines(document: Any, lines: Sequence[_Line], start: int = 1) -> None:
    from docx.shared import Pt, RGBColor

    for number, line in enumerate(lines, start):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(f"{number}. {line.text}")
        if line.where:
            paragraph.add_run(f" — 位置：{line.where}")
        if line.hint:
            hint_paragraph = document.add_paragraph()
            hint_paragraph.paragraph_format.left_indent = Pt(18)
            hint = hint_paragraph.add_run(f"处理：{line.hint}")
            hint.font.size = Pt(9)
            hint.font.color.rgb = RGBColor(*_DOCX_COLORS["muted"])


def write_docx(report: dict[str, Any], path: Path) -> None:
    """The same content as `render_html`, as a Word document (landscape A4)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt, RGBColor

    view = _build_view(report)
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.8))
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3"):
        _docx_set_cjk_font(document.styles[name])
    document.styles["Normal"].font.size = Pt(10.5)
    document.core_properties.title = view.title

    document.add_heading(view.title, level=1)
    verdict = document.add_paragraph().add_run(view.verdict)
    verdict.bold = True
    verdict.font.size = Pt(22)
    verdict.font.color.rgb = RGBColor(*_DOCX_COLORS.get(view.verdict_tone, _DOCX_COLORS["bad"]))
    document.add_paragraph(f"错误 {view.counts['error']} 项，提醒 {view.counts['warning']} 项。")
    for label, value in view.meta:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(f"{label}：").bold = True
        paragraph.add_run(value)

    document.add_heading("补正清单", level=2)
    if not view.errors and not view.warnings:
        document.add_paragraph("无需补正。")
    if view.errors:
        document.add_heading(f"需补正（{len(view.errors)} 项）", level=3)
        _docx_lines(document, view.errors)
    if view.warnings:
        document.add_heading(f"提醒（{len(view.warnings)} 项）", level=3)
        _docx_lines(document, view.warnings, start=len(view.errors) + 1)

    document.add_heading("申报材料逐项核对（第六条）", level=2)
    _docx_table(document, view.items)
    document.add_heading("基本条件（第四条）", level=2)
    _docx_table(document, view.conditions)
    document.add_heading("申请表主要数据", level=3)
    _docx_table(document, view.fields)
    document.add_heading("材料包文件", level=2)
    _docx_table(document, view.files)
    if view.notes:
        document.add_heading("其他说明", level=2)
        for line in view.notes:
            where = f"（{line.where}）" if line.where else ""
            hint = f"；{line.hint}" if line.hint else ""
            document.add_paragraph(f"• {line.text}{where}{hint}")
    footer = document.add_paragraph().add_run(FOOTER)
    footer.font.size = Pt(9)
    footer.font.color.rgb = RGBColor(*_DOCX_COLORS["muted"])
    document.save(str(path))


# ---------------------------------------------------------------------------------------------------
# Writing one dossier's reports
# ---------------------------------------------------------------------------------------------------


def _replace_into(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _normalise_formats(formats: Sequence[str] | str) -> list[str]:
    raw = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted: list[str] = []
    for fmt in raw:
        name = str(fmt).strip().lower().lstrip(".")
        if name == "markdown":
            name = "md"
        if not name:
            continue
        if name not in FORMATS:
            raise ValueError(f"unknown report format {fmt!r}; choose among {', '.join(FORMATS)}")
        if name not in wanted:
            wanted.append(name)
    return wanted


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def printable(data: Any) -> Any:
    """DATA with every string fit for every format: characters XML (Word, Excel) cannot hold and bytes no
    UTF-8 writer accepts, which a hostile file's text or name can carry, shown as escapes. Applied once,
    before any format is written, so that all formats say the same thing."""
    if isinstance(data, str):
        return xml_safe(data)
    if isinstance(data, dict):
        return {printable(k): printable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [printable(v) for v in data]
    return data


def write_reports(report: dict[str, Any], out_dir: Path, formats: Sequence[str]) -> list[Path]:
    """Write `report.<fmt>` into out_dir for each requested format; return the paths written.

    Formats are among json, html, md, docx (a comma-separated string is accepted too). Every format is
    validated before anything is written: an unknown one raises ValueError and writes nothing.
    """
    wanted = _normalise_formats(formats)
    report = printable(report)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in wanted:
        path = out_dir / f"report.{fmt}"
        if fmt == "json":
            text = _json_text(report)
            _replace_into(path, lambda p, t=text: p.write_text(t, encoding="utf-8"))
        elif fmt == "html":
            text = render_html(report)
            _replace_into(path, lambda p, t=text: p.write_text(t, encoding="utf-8"))
        elif fmt == "md":
            text = render_markdown(report)
            _replace_into(path, lambda p, t=text: p.write_text(t, encoding="utf-8"))
        else:
            _replace_into(path, lambda p: write_docx(report, p))
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------------
# Batch summary
# ---------------------------------------------------------------------------------------------------


def summary_row(report: dict[str, Any], report_dir: str) -> dict[str, Any]:
    """One summary row from a report.json dict; report_dir is the report's folder relative to the summary.

    Besides the documented keys the row keeps `item_titles` ({item id: Chinese title}, in the ruleset's
    order) so that `write_summary` can title its columns without the ruleset.
    """
    dossier = report.get("dossier") or {}
    counts = _counts(report)
    items = {
        _s(item.get("id")): _item_state(report, item)
        for item in report.get("items") or []
        if isinstance(item, Mapping) and item.get("id")
    }
    folder = report_dir.replace("\\", "/").strip("/")
    link = str(PurePosixPath(folder) / "report.html") if folder else "report.html"
    verdict = _s(report.get("verdict"))
    return {
        "id": _s(dossier.get("id")),
        "source": _s(dossier.get("source")),
        "verdict": verdict if verdict in {"complete", "incomplete"} else "incomplete",
        "items": items,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "review_count": review_count(report),
        "report": link,
        "fields": dict(report.get("fields") or {}),
        "failure": None,
        "item_titles": _item_titles(report),
    }


def failed_row(dossier_id: str, source: str, reason: str) -> dict[str, Any]:
    """A summary row for a dossier that could not be processed at all (no report exists)."""
    return {
        "id": dossier_id,
        "source": source,
        "verdict": "failed",
        "items": {},
        "errors": 0,
        "warnings": 0,
        "review_count": 0,
        "report": None,
        "fields": {},
        "failure": reason,
    }


def _summary_columns(rows: Sequence[Mapping[str, Any]], item_titles: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """(item id, title) of the item columns: the mapping given, else the first report's, then other ids."""
    columns: dict[str, str] = dict(item_titles or {})
    if not columns:
        for row in rows:
            titles = row.get("item_titles")
            if isinstance(titles, Mapping) and titles:
                columns = {str(k): str(v) for k, v in titles.items()}
                break
    for row in rows:
        titles = row.get("item_titles") if isinstance(row.get("item_titles"), Mapping) else {}
        for item_id in row.get("items") or {}:
            if item_id not in columns:
                columns[item_id] = str(titles.get(item_id, item_id))
    return list(columns.items())


def write_summary(
    rows: list[dict[str, Any]],
    out_dir: Path,
    item_titles: Mapping[str, str] | None = None,
    generated_at: str | None = None,
) -> tuple[Path, Path]:
    """Write the batch summary: out_dir/summary.json and out_dir/summary.xlsx; return both paths.

    Item columns follow `item_titles` when given, else the item ids order and titles of the first row
    that carries `item_titles` (i.e. the first report); ids only other rows know are appended.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = generated_at or datetime.now().astimezone().isoformat(timespec="seconds")
    rows = printable(rows)
    json_path = out_dir / "summary.json"
    data = {"schema": SUMMARY_SCHEMA, "generated_at": stamp, "dossiers": rows}
    text = _json_text(data)
    _replace_into(json_path, lambda p: p.write_text(text, encoding="utf-8"))

    red = (PatternFill("solid", fgColor="FFC7CE"), Font(color="9C0006", bold=True))
    green = (PatternFill("solid", fgColor="C6EFCE"), Font(color="006100"))
    amber = (PatternFill("solid", fgColor="FFEB9C"), Font(color="9C5700", bold=True))
    grey = (PatternFill("solid", fgColor="D9D9D9"), Font(color="3F3F3F", bold=True))
    tone_styles = {"bad": red, "ok": green, "warn": amber, "failed": grey}

    columns = _summary_columns(rows, item_titles)
    headers = ["申报材料包", "来源", "结论", *[title for _, title in columns]]
    headers += ["错误数", "提醒数", "报告", "处理失败原因"]
    first_item_col = 4
    report_col = len(headers) - 1

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "预审汇总"
    sheet.append(headers)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")

    verdict_tones = {"complete": "ok", "incomplete": "bad", "failed": "failed"}
    item_tone = {"present": "ok", "missing": "bad", "defective": "warn"}
    for row in rows:
        verdict = _s(row.get("verdict"))
        failed = verdict == "failed"
        states = row.get("items") or {}
        values: list[Any] = [
            _s(row.get("id")),
            _s(row.get("source")),
            verdict_text(verdict, int(row.get("review_count") or 0), short=True),
        ]
        values += ["" if failed else SUMMARY_ITEM_TEXT.get(_s(states.get(i)), DASH) for i, _ in columns]
        values += [
            None if failed else row.get("errors", 0),
            None if failed else row.get("warnings", 0),
            "查看报告" if row.get("report") else "",
            _s(row.get("failure")),
        ]
        sheet.append(values)
        r = sheet.max_row
        tone = "warn" if verdict == "complete" and row.get("review_count") else verdict_tones.get(verdict)
        if tone:
            fill, font = tone_styles[tone]
            sheet.cell(r, 3).fill, sheet.cell(r, 3).font = fill, font
        for offset, (item_id, _) in enumerate(columns):
            tone = item_tone.get(_s(states.get(item_id)))
            cell = sheet.cell(r, first_item_col + offset)
            cell.alignment = Alignment(horizontal="center")
            if tone and not failed:
                cell.fill, cell.font = tone_styles[tone]
        if row.get("report"):
            link = sheet.cell(r, report_col)
            link.hyperlink = str(row["report"])
            link.style = "Hyperlink"
        if row.get("failure"):
            sheet.cell(r, len(headers)).font = Font(color="9C0006")

    last_col = get_column_letter(len(headers))
    sheet.auto_filter.ref = f"A1:{last_col}{max(sheet.max_row, 1)}"
    sheet.freeze_panes = "B2"  # the header row, and the dossier id column while scrolling right

    item_cols = range(first_item_col, first_item_col + len(columns))
    for col in range(1, len(headers) + 1):
        body = [_s(sheet.cell(r, col).value) for r in range(2, sheet.max_row + 1)]
        widest = max((_display_width(v) for v in body), default=0)
        if col in item_cols:
            width = max(widest + 2, 12)
            width = min(width, 18)
        else:
            width = min(max(widest, _display_width(headers[col - 1])) + 2, 60)
            width = max(width, 8)
        sheet.column_dimensions[get_column_letter(col)].width = width
    header_lines = 1
    for col, title in enumerate(headers, start=1):
        width = sheet.column_dimensions[get_column_letter(col)].width or 10
        header_lines = max(header_lines, -(-_display_width(title) // max(int(width) - 1, 1)))
    sheet.row_dimensions[1].height = 15 * min(header_lines, 8)

    legend = workbook.create_sheet("说明")
    legend.append(["生成时间", stamp])
    legend.append([])
    legend.append(["图例", "含义"])
    legend.append(["✓ 已提供", "找到该项材料，未发现问题"])
    legend.append(["✗ 缺失", "必需材料未找到"])
    legend.append(["! 有问题", "找到该项材料，但有需补正的问题（如超字数、未盖章、内容为空）"])
    legend.append(["—", "可选材料，未提供"])
    legend.append(["处理失败", "材料包无法处理，未生成报告；见“处理失败原因”"])
    legend["A3"].font = legend["B3"].font = Font(bold=True)
    legend.column_dimensions["A"].width = 14
    legend.column_dimensions["B"].width = 70

    xlsx_path = out_dir / "summary.xlsx"
    _replace_into(xlsx_path, lambda p: workbook.save(str(p)))
    return json_path, xlsx_path
