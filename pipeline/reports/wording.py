"""Every word the clerk reads, in Chinese: verdicts and their tones, status labels, action hints per finding
code, units, the footer, and how numbers, pages, sizes and times are written.

The outline (outline.py) and the summary (summary.py) take their wording from here only, so that the HTML,
Markdown and Word reports and summary.xlsx always say the same thing the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Tone = Literal["ok", "bad", "warn", "muted", ""]

# ---------------------------------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------------------------------

VERDICT_TEXT: dict[str, str] = {"complete": "材料齐全", "incomplete": "材料不齐全，需补正"}
SUMMARY_VERDICT_TEXT: dict[str, str] = {"complete": "齐全", "incomplete": "不齐全", "failed": "处理失败"}
VERDICT_MARK: dict[str, str] = {"ok": "✅", "warn": "⚠️", "bad": "❌"}  # Markdown has no colours


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


def counts_text(errors: int, warnings: int) -> str:
    return f"错误 {errors} 项，提醒 {warnings} 项"


# ---------------------------------------------------------------------------------------------------
# Statuses
# ---------------------------------------------------------------------------------------------------

# The report's item statuses (pipeline/reports/outline.py decides which applies).
ITEM_PRESENT: tuple[str, Tone] = ("已提供", "ok")
ITEM_DEFECTIVE: tuple[str, Tone] = ("有问题", "bad")
ITEM_UNSURE: tuple[str, Tone] = ("需人工确认", "warn")
ITEM_MISSING: tuple[str, Tone] = ("缺失", "bad")
ITEM_ABSENT_OPTIONAL: tuple[str, Tone] = ("未提供（可选）", "muted")
REQUIRED_TEXT: dict[bool, str] = {True: "必需", False: "可选"}

# The clerk's decisions (人工确认, pipeline/review.py).
REVIEW_TITLE = "人工确认"
REVIEW_HEADERS = ("类别", "对象", "系统结论", "人工确认", "说明", "确认人", "时间", "状态")
EMPTY_REVIEW = "无人工确认。"
DECISION_KIND_TEXT: dict[str, str] = {"item": "材料", "seal": "公章", "condition": "申报条件", "finding": "问题"}
# The answers of a decision (pipeline/review.py VALUES), the clerk's; the tool's own differ only where
# it speaks of what it detected or raised.
DECISION_VALUE_TEXT: dict[str, dict[str, str]] = {
    "item": {"present": "已提供", "missing": "缺失", "unknown": "无法判断"},
    "seal": {"present": "有公章", "missing": "无公章", "unknown": "无法判断"},
    "condition": {"pass": "符合", "fail": "不符合", "unknown": "无法判断"},
    "finding": {"upheld": "成立", "dismissed": "不成立"},
}
# An item's status in the report once a clerk decided on it.
ITEM_DECIDED: dict[str, tuple[str, Tone]] = {
    value: (f"{DECISION_VALUE_TEXT['item'][value]}（人工确认）", tone)
    for value, tone in (("present", "ok"), ("missing", "bad"))
}
DECISION_TOOL_TEXT: dict[str, dict[str, str]] = DECISION_VALUE_TEXT | {
    "seal": DECISION_VALUE_TEXT["seal"] | {"missing": "未检测到公章"},
    "finding": {"upheld": "提出该问题"},
}
DECISION_APPLIES = "有效"
DECISION_STALE = "请重新确认"

# The summary's four item states, as summary.xlsx shows them, with their meaning for its legend.
SUMMARY_ITEM_TEXT: dict[str, str] = {
    "present": "✓ 已提供",
    "missing": "✗ 缺失",
    "defective": "! 有问题",
    "absent_optional": "—",
}
SUMMARY_LEGEND: tuple[tuple[str, str], ...] = (
    ("✓ 已提供", "找到该项材料，未发现问题"),
    ("✗ 缺失", "必需材料未找到"),
    ("! 有问题", "找到该项材料，但有需补正的问题（如超字数、未盖章、内容为空）"),
    ("—", "可选材料，未提供"),
    ("处理失败", "材料包无法处理，未生成报告；见“处理失败原因”"),
)
SUMMARY_LEGEND_HEADERS = ("图例", "含义")
SUMMARY_GENERATED = "生成时间"
SUMMARY_HEADERS_BEFORE: tuple[str, ...] = ("申报材料包", "来源", "结论", "最终结论（含人工确认）")
SUMMARY_DECIDED = "（人工确认 {n} 项）"
SUMMARY_STALE = "（{n} 项人工确认待重新确认）"
SUMMARY_HEADERS_AFTER: tuple[str, ...] = ("错误数", "提醒数", "报告", "处理失败原因")
SUMMARY_SHEET = "预审汇总"
SUMMARY_LEGEND_SHEET = "说明"
SUMMARY_LINK_TEXT = "查看报告"

CONDITION_STATUS: dict[str, tuple[str, Tone]] = {
    "pass": ("符合", "ok"),
    "fail": ("不符合", "warn"),
    "unknown": ("无法判断", "muted"),
}
AGREES_TEXT: dict[bool, tuple[str, Tone]] = {True: ("一致", "ok"), False: ("不一致", "warn")}

SEAL_FOUND: tuple[str, Tone] = ("已检测到公章", "ok")
SEAL_NOT_FOUND: tuple[str, Tone] = ("未检测到公章", "bad")
SEAL_UNCHECKED: tuple[str, Tone] = ("无法判断是否盖章", "warn")

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

# ---------------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------------

EVIDENCE_LABELS: dict[str, str] = {
    "HONOUR": "荣誉称号",
    "PLATFORM": "创新/服务平台",
    "MEDIA": "媒体报道",
    "ORG": "企业与机构",
}

OPERATORS: dict[str, str] = {"<=": "≤", ">=": "≥"}


def field_label(field: str, labels: dict[str, str] | None = None) -> str:
    """A form field's name as the report's ruleset gives it (`ruleset.field_labels`), else its id."""
    return (labels or {}).get(field) or field


def condition_operator(op: str) -> str:
    """`<=` → ≤, `>=` → ≥ (the ruleset's operator, in report.json's conditions)."""
    return OPERATORS.get(op, op)


# ---------------------------------------------------------------------------------------------------
# Section titles and fixed sentences
# ---------------------------------------------------------------------------------------------------

REPORT_TITLE = "申报材料预审报告：{dossier}"
META_LABELS: dict[str, str] = {
    "dossier": "申报材料包",
    "source": "来源",
    "checked_at": "检查时间",
    "ruleset": "依据",
    "validity": "依据有效性",
    "tool_verdict": "系统结论（人工确认前）",
    "files": "文件数",
    "errors": "错误",
    "warnings": "提醒",
}
FIX_LIST = "补正清单"
NOTHING_TO_FIX = "无需补正。"
ERRORS_TITLE = "需补正（{n} 项）"
WARNINGS_TITLE = "提醒（{n} 项）"
WHERE = "位置"
HINT = "处理"
ITEMS_TITLE = "申报材料逐项核对（第六条）"
SEALS_TITLE = "检测到的公章"
SEAL_ALT = "公章"
CONDITIONS_TITLE = "基本条件（第四条）"
FIELDS_TITLE = "申请表主要数据"
FORM_TITLE = "申请表全部栏目"
CROSS_TITLE = "数据一致性核对"
EVIDENCE_TITLE = "品牌与创新证明材料清单"
FILES_TITLE = "材料包文件"
NOTES_TITLE = "其他说明"
FOOTER = "本报告由系统自动预审生成，供合规性审核参考；结论以人工审核为准。"

ITEMS_HEADERS = ("条款", "材料", "必需/可选", "状态", "置信度", "所在位置", "指标", "公章")
CONDITIONS_HEADERS = ("条款", "条件", "申报值", "要求", "结果")
FIELDS_HEADERS = ("项目", "申报数据")
FORM_HEADERS = ("栏目", "填写内容", "识别结果")
CROSS_HEADERS = ("项目", "出处", "表述", "与申请表")
EVIDENCE_HEADERS = ("类别", "名称", "级别", "出处")
FILES_HEADERS = ("文件", "格式", "页数", "大小", "SHA-256（前12位）", "识别为", "问题")

EMPTY_ITEMS = "（规则集中没有材料项）"
EMPTY_CONDITIONS = "（未核对基本条件）"
EMPTY_FIELDS = "（未提取申请表数据）"
EMPTY_FORM = "（未找到申请表栏目）"
EMPTY_CROSS = "（无可比对的表述）"
EMPTY_EVIDENCE = "（未识别到）"
EMPTY_FILES = "（材料包中没有文件）"
EMPTY_TEXT = "（空）"
NOT_IDENTIFIED = "未识别为申报材料"
NOT_EXTRACTED = "未提取"
DASH = "—"

# ---------------------------------------------------------------------------------------------------
# Numbers, units, pages, sizes, times
# ---------------------------------------------------------------------------------------------------

_YUAN_UNITS = {"cny", "yuan", "元", "rmb"}
UNIT_LABELS: dict[str, str] = {
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


def number_text(value: float | int) -> str:
    """36.5 → '36.5', 180 → '180', 12345.0 → '12,345'; no trailing zeros."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def yuan_text(value: float | int) -> str:
    """Yuan in the unit a clerk reads: 41000000000 → '410 亿元'."""
    if abs(value) >= 1e8:
        return f"{number_text(round(value / 1e8, 2))} 亿元"
    if abs(value) >= 1e4:
        return f"{number_text(round(value / 1e4, 2))} 万元"
    return f"{number_text(value)} 元"


def quantity_text(value: object, unit: str | None) -> str:
    if value is None:
        return NOT_EXTRACTED
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    key = (unit or "").strip().lower()
    if key in _YUAN_UNITS:
        return yuan_text(value)
    label = UNIT_LABELS.get(key, unit or "")
    return f"{number_text(value)} {label}".strip()


def field_value_text(value: object, unit: str | None) -> str:
    """A form field's value in its unit (the report's `ruleset.field_units`: yuan, km2, 户 …)."""
    if value is None or value == "":
        return NOT_EXTRACTED
    if unit and isinstance(value, int | float) and not isinstance(value, bool):
        return quantity_text(value, unit)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    if isinstance(value, list | tuple):
        return "、".join("" if v is None else str(v) for v in value)
    return str(value)


def pages_text(pages: list[int] | None) -> str:
    """`[3, 5]` → 第3–5页, `[2, 2]` → 第2页, None → ''."""
    if not pages:
        return ""
    first, last = pages[0], pages[-1]
    return f"第{first}页" if first == last else f"第{first}–{last}页"


def page_list_text(pages: list[int]) -> str:
    """Pages named one by one: `[2, 5]` → 第2、5页."""
    return f"第{'、'.join(str(p) for p in pages)}页" if pages else ""


def location_text(file: str, pages: list[int] | None) -> str:
    """`file 第a–b页`, or just the file where there are no pages."""
    return f"{file} {pages_text(pages)}".strip()


def percent_text(value: float) -> str:
    return f"{value:.0%}"


def size_text(size: int) -> str:
    if size < 1024:
        return f"{int(size)} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def datetime_text(value: str) -> str:
    """ISO 8601 → '2026年11月29日 16:00:00（UTC+08:00）'; anything else verbatim."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    shown = f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M:%S}"
    offset = moment.strftime("%z")
    if offset:
        shown += f"（UTC{offset[:3]}:{offset[3:]}）"
    return shown


PARTIAL_READING = "只识别了页首与标题行（足以判定材料类别，字数按已识别部分计）；需要全文时请用 --full-ocr 重新检查"


def scanned_pages_text(pages: int, partial: int) -> str:
    """`（其中 12 页为扫描件，已文字识别……）` for the files table."""
    text = f"（其中 {pages} 页为扫描件，已文字识别"
    if partial:
        text += f"；{partial} 页{PARTIAL_READING}"
    return text + "）"


def metrics_text(metrics: dict[str, int | float]) -> tuple[str, Tone]:
    """An item's measures: `字数 3,412 / 上限 3,000（超出）；字符数（不计空格）3,488`, bad when over."""
    if not metrics:
        return DASH, ""
    parts: list[str] = []
    tone: Tone = ""
    words = metrics.get("word_count")
    limit = metrics.get("limit")
    if words is not None:
        text = f"字数 {number_text(words)}"
        if limit is not None:
            text += f" / 上限 {number_text(limit)}"
            if words > limit:
                text += "（超出）"
                tone = "bad"
        parts.append(text)
    elif limit is not None:
        parts.append(f"上限 {number_text(limit)}")
    chars = metrics.get("char_count_no_spaces")
    if chars is not None:
        parts.append(f"字符数（不计空格）{number_text(chars)}")
    partial = metrics.get("ocr_pages_partial")
    if partial:
        parts.append(f"其中 {number_text(partial)} 页扫描页{PARTIAL_READING}")
    for key, value in metrics.items():
        if key in {"word_count", "limit", "char_count_no_spaces", "ocr_pages_partial"} or value is None:
            continue
        parts.append(f"{key} {number_text(value)}")
    return "；".join(parts) or DASH, tone


def seal_text(detected: bool | None, page: int | None, score: float | None, reason: str | None) -> tuple[str, Tone]:
    """`已检测到公章（第1页，得分 0.93）` and its tone; None: nothing could be searched."""
    details: list[str] = []
    if page is not None:
        details.append(f"第{page}页")
    if score is not None:
        details.append(f"得分 {score:.2f}")
    if reason:
        details.append(reason)
    suffix = f"（{'，'.join(details)}）" if details else ""
    text, tone = SEAL_FOUND if detected is True else SEAL_NOT_FOUND if detected is False else SEAL_UNCHECKED
    return text + suffix, tone
