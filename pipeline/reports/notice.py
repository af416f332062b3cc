"""The 补正通知: a Word letter to the applicant, in the layout of GB/T 9704-2012 (党政机关公文格式).

A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm; the title in 方正小标宋简体 二号, centred;
the body in 仿宋_GB2312 三号, first lines indented two characters, lines at a fixed 28 pt (22 lines a page);
page numbers "— 1 —" in 宋体 四号 at the foot. It is built from the final findings (the clerk's review if
the report has one): errors are what the applicant must supply or fix, each with the article it rests on;
warnings about the applicant's own figures and files are listed to be verified. Doubts of the tool
itself (LOW_CONFIDENCE, LIMIT_REACHED) are the clerk's to settle, never the applicant's: they are left out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from core.names import xml_safe

from ..report import REVIEW_CODES, Finding, Report

# ---------------------------------------------------------------------------------------------------
# The letter's words
# ---------------------------------------------------------------------------------------------------

TITLE_TO_FIX = "关于补正{cluster}申报材料的通知"
TITLE_NOTHING_TO_FIX = "关于{cluster}申报材料审核情况的通知"
ADDRESSEE_DEFAULT = "申报单位"
OPENING = "你单位报送的{cluster}申报材料已收悉。根据{measures}{short}{article}规定，我局对申报材料进行了合规性审核。"
SHORT_TITLE = "（以下简称{short}）"
RESULT_TO_FIX = "经审核，申报材料不齐全，需补正以下{n}项内容："
RESULT_COMPLETE = "经审核，申报材料齐全，无需补正。"
# A complete dossier whose doubts the clerk has not settled yet is never told a bare 材料齐全 (CONTRACT.md).
RESULT_PENDING = "经初步审核，申报材料齐全，其中{n}项尚待我局进一步核对，核对结果另行告知。"
TO_VERIFY = "以下事项请你单位核实，如有误请一并更正："
BASIS = "（依据：{measures}{article}）"
DEADLINE = "请你单位于{deadline}前按上述要求补正，并将补正后的申报材料报送我局。"
DEADLINE_BLANK = "＿＿年＿＿月＿＿日"
CONTACT = "联系人及电话：{contact}"
CONTACT_BLANK = "＿＿＿＿＿＿＿＿＿＿"
CLOSING = "特此通知。"
AUTHORITY_DEFAULT = "＿＿市工业和信息化局"
NUMERALS = "一二三四五六七八九十"

# What the applicant is asked to do, by finding code (the clerk's report has its own hints).
ACTIONS: dict[str, str] = {
    "ITEM_MISSING": "请补充提交该项材料",
    "ITEM_OVERSIZED": "请精简至规定字数以内后重新提交",
    "SEAL_MISSING": "请加盖申报单位公章后重新提交",
    "ITEM_EMPTY": "请补充完整该项材料的内容",
    "FILE_UNREADABLE": "请重新提交可正常打开的文件（不加密、未损坏）",
    "FORM_FIELD_MISSING": "请补填申请表中的该栏目",
    "CONDITION_NOT_MET": "请核实申报数据；符合上述放宽情形的，请附书面说明",  # the message quotes the ruleset's relaxation
    "INCONSISTENT_VALUE": "请核对相关材料，统一数据口径",
    "UNSUPPORTED_FORMAT": "请转换为 PDF 或 Word 格式后重新提交",
    "OCR_LOW_CONFIDENCE": "请提供清晰的扫描件",
}

# ---------------------------------------------------------------------------------------------------
# GB/T 9704-2012
# ---------------------------------------------------------------------------------------------------

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
PAGE_NUMBER_FONT = "宋体"
TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
PAGE_NUMBER_SIZE = Pt(14)  # 四号
LINE = Pt(28)  # fixed line spacing: 22 lines in the 225 mm type area
INDENT = Pt(32)  # two characters of 三号
MARGINS = {"top_margin": Mm(37), "bottom_margin": Mm(35), "left_margin": Mm(28), "right_margin": Mm(26)}
FOOTER_DISTANCE = Mm(21)  # the page number's line about 7 mm below the type area


@dataclass(frozen=True)
class NoticeOptions:
    """What the clerk enters for the letter: left None, a blank to fill by hand (or the defaults)."""

    deadline: str | None = None
    contact: str | None = None
    authority: str | None = None
    date: dt.date | None = None


def write_notice(
    report: Report,
    path: Path,
    *,
    deadline: str | None = None,
    contact: str | None = None,
    authority: str | None = None,
    date: dt.date | None = None,
) -> None:
    """The 补正通知 of REPORT as a Word letter at PATH (see the module's docstring)."""
    notice_document(report, NoticeOptions(deadline, contact, authority, date)).save(str(path))


def chinese_number(n: int) -> str:
    """一 … 九十九: the numbering of a 公文's first level."""
    if n <= 10:
        return NUMERALS[n - 1] if n > 0 else str(n)
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else NUMERALS[tens - 1]) + "十" + (NUMERALS[ones - 1] if ones else "")
    return str(n)


def date_text(day: dt.date) -> str:
    """成文日期 as GB/T 9704-2012 writes it: 2026年12月4日 (no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _measures(report: Report) -> str:
    """《办法》（文号） from the ruleset's title, e.g. 山东省特色产业集群管理办法（鲁工信发〔2020〕5号）."""
    found = re.fullmatch(r"《?(.+?)》?\s*[（(](.+?号)[）)]", report.ruleset.title.strip())
    if found:
        return f"《{found.group(1)}》（{found.group(2)}）"
    return f"《{report.ruleset.title.strip() or report.ruleset.id}》"


def _article(report: Report, finding: Finding) -> str:
    """The article a finding rests on: its condition's (第四条（二）: a condition's finding also names the
    form item it was read from), else its item's (第六条（三）), else the ruleset's general article."""
    for condition in report.conditions:
        if finding.field and condition.id == finding.field and condition.article:
            return condition.article
    for item in report.items:
        if finding.item and item.id == finding.item and item.article:
            return item.article
    return report.ruleset.notice.get("general_article", "")


def _line(report: Report, finding: Finding, measures: str) -> str:
    """One thing to supply, fix or verify: what is wrong, what to do, on which article."""
    article = _article(report, finding)
    message = (finding.message or finding.code).strip().rstrip("。；;")
    message = message.removesuffix(f"（{article}）")  # the article is named once, at the end
    action = ACTIONS.get(finding.code)
    text = f"{message}，{action}" if action else message
    return f"{text}{BASIS.format(measures=measures, article=article)}。"


def notice_document(report: Report, options: NoticeOptions | None = None) -> Any:
    """The letter as a python-docx Document."""
    options = options or NoticeOptions()
    findings = report.final_findings  # after the clerk's decisions, where there are any
    errors = [f for f in findings if f.severity == "error"]
    to_verify = [f for f in findings if f.severity == "warning" and f.code not in REVIEW_CODES]
    pending = report.final_review_count  # the tool's doubts nobody settled, decisions to confirm again
    cluster = str(report.fields.get("cluster_name") or report.dossier.id)
    applicant = str(report.fields.get("applicant") or ADDRESSEE_DEFAULT)
    measures = _measures(report)
    short = report.ruleset.notice.get("short_title") or measures  # after its first mention

    document = _page_setup()
    title = TITLE_TO_FIX if errors else TITLE_NOTHING_TO_FIX
    document.core_properties.title = xml_safe(title.format(cluster=cluster))
    _title(document, title.format(cluster=cluster))
    _body(document, f"{applicant}：", indent=False)
    opening = OPENING.format(
        cluster=cluster,
        measures=measures,
        short=SHORT_TITLE.format(short=short) if short != measures else "",
        article=report.ruleset.notice.get("review_article", ""),
    )
    if errors:
        _body(document, opening + RESULT_TO_FIX.format(n=len(errors)))
        for number, finding in enumerate(errors, 1):
            _body(document, f"{chinese_number(number)}、{_line(report, finding, short)}")
    else:
        _body(document, opening + (RESULT_PENDING.format(n=pending) if pending else RESULT_COMPLETE))
    if to_verify:
        _body(document, TO_VERIFY)
        for number, finding in enumerate(to_verify, 1):
            _body(document, f"（{chinese_number(number)}）{_line(report, finding, short)}")
    if errors or to_verify:
        deadline = (options.deadline or "").strip().removesuffix("前") or DEADLINE_BLANK
        _body(document, DEADLINE.format(deadline=deadline))
    _body(document, CONTACT.format(contact=(options.contact or "").strip() or CONTACT_BLANK))
    _body(document, CLOSING)
    _body(document, "", indent=False)
    _body(document, "", indent=False)
    _signature(document, (options.authority or "").strip() or AUTHORITY_DEFAULT)
    _signature(document, date_text(options.date or dt.date.today()))
    _page_numbers(document)
    return document


# ---------------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------------


def _page_setup() -> Any:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side, value in MARGINS.items():
        setattr(section, side, value)
    section.footer_distance = FOOTER_DISTANCE
    normal = document.styles["Normal"]
    _fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    normal.font.size = BODY_SIZE
    return document


def _fonts(rpr: Any, name: str) -> None:
    """Every script of the run in NAME (Chinese text reads w:eastAsia; digits and Latin w:ascii/w:hAnsi)."""
    fonts = rpr.get_or_add_rFonts()
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), name)


def _run(paragraph: Any, text: str, font: str, size: Pt) -> Any:
    run = paragraph.add_run(xml_safe(text))
    run.font.name = font
    _fonts(run._element.get_or_add_rPr(), font)
    run.font.size = size
    return run


def _fixed(paragraph: Any, line: Pt = LINE) -> None:
    layout = paragraph.paragraph_format
    layout.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    layout.line_spacing = line
    layout.space_before = Pt(0)
    layout.space_after = Pt(0)


def _title(document: Any, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fixed(paragraph, Pt(35))  # a two-line title keeps its lines apart
    _run(paragraph, text, TITLE_FONT, TITLE_SIZE)
    document.add_paragraph()  # one blank line under the title
    _fixed(document.paragraphs[-1])


def _body(document: Any, text: str, indent: bool = True) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    _fixed(paragraph)
    if indent:
        paragraph.paragraph_format.first_line_indent = INDENT
    if text:
        _run(paragraph, text, BODY_FONT, BODY_SIZE)


def _signature(document: Any, text: str) -> None:
    """发文机关署名 and 成文日期: right-aligned, four characters in from the right margin."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _fixed(paragraph)
    paragraph.paragraph_format.right_indent = INDENT * 2
    _run(paragraph, text, BODY_FONT, BODY_SIZE)


def _page_numbers(document: Any) -> None:
    """ "— 1 —" centred at the foot of every page, 宋体 四号 (a PAGE field Word and WPS fill in)."""
    footer = document.sections[0].footer
    paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, "— ", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    run = _run(paragraph, "", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._element.append(char)
        elif text == " PAGE ":
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = text
            run._element.append(instruction)
        else:
            shown = OxmlElement("w:t")
            shown.text = text
            run._element.append(shown)
    _run(paragraph, " —", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
