"""Word files as offices really make them: text typed with 修订 (track changes) on, form templates with
content controls, text boxes, tables inside table cells, and custom heading styles (WPS 一级标题) that take
their outline level, centring and bold from the style rather than from the paragraph."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt

from core.model import Document
from core.text import count_words
from extractors import read_file
from fixtures import texts
from fixtures.clusters import LINQU
from pipeline.engine import check_dossier
from pipeline.ruleset import Ruleset
from tests.conftest import present, write


def _read(tmp_path: Path, word) -> Document:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    word.save(buf)
    path = write(tmp_path / "材料.docx", buf.getvalue())
    return read_file(path, path.name, "-", 0)


def _wrap_runs(paragraph, tag: str, **attrs: str) -> None:  # type: ignore[no-untyped-def]
    """Move the paragraph's runs into a new ``tag`` element (w:ins, w:sdt's content …)."""
    outer = OxmlElement(tag)
    for key, value in attrs.items():
        outer.set(qn(key), value)
    runs = list(paragraph._p.iterchildren(qn("w:r")))
    runs[0].addprevious(outer)
    inner = outer
    if tag == "w:sdt":
        inner = OxmlElement("w:sdtContent")
        outer.append(inner)
    for r in runs:
        inner.append(r)


def _text_box(paragraph, text: str) -> None:  # type: ignore[no-untyped-def]
    """A VML text box holding one paragraph, anchored in ``paragraph``."""
    run = parse_xml(
        f"<w:r {nsdecls('w')} xmlns:v='urn:schemas-microsoft-com:vml'><w:pict><v:shape style='width:200pt;height:40pt'><v:textbox>"
        f"<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>"
        "</v:textbox></v:shape></w:pict></w:r>"
    )
    paragraph._p.append(run)


def test_text_in_revisions_content_controls_text_boxes_mapped_xml_and_nested_tables(tmp_path: Path) -> None:
    word = WordDocument()
    inserted = word.add_paragraph("临朐县铝型材产业集群")
    _wrap_runs(inserted, "w:ins", **{"w:id": "1", "w:author": "县工信局", "w:date": "2026-01-01T00:00:00Z"})
    deleted = word.add_paragraph()
    gone = parse_xml(f"<w:del {nsdecls('w')} w:id='2' w:author='x'><w:r><w:delText>删掉的字</w:delText></w:r></w:del>")
    deleted._p.append(gone)
    deleted.add_run("留下的字")
    control = word.add_paragraph("营业收入（亿元）")
    _wrap_runs(control, "w:sdt")
    anchor = word.add_paragraph("封面")
    _text_box(anchor, "山东省特色产业集群申报材料")
    mapped = word.add_paragraph("主导产品：铝型材")
    wrapper = OxmlElement("w:customXml")
    wrapper.set(qn("w:element"), "product")
    mapped._p.addprevious(wrapper)
    wrapper.append(mapped._p)
    table = word.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "主导产业"
    table.cell(0, 1).add_table(rows=1, cols=1).cell(0, 0).text = "铝型材"

    doc = _read(tmp_path, word)
    texts_read = [b.text for b in doc.blocks]
    assert texts_read[:6] == [
        "临朐县铝型材产业集群",
        "留下的字",
        "营业收入（亿元）",
        "封面",
        "山东省特色产业集群申报材料",
        "主导产品：铝型材",
    ]
    assert doc.blocks[6].rows == [["主导产业", "铝型材"]]


def _custom_heading_style(word):  # type: ignore[no-untyped-def]
    """一级标题: a style of its own, based on 正文, centred, bold, 22 pt, outline level 1, as WPS makes one."""
    style = word.styles.add_style("一级标题", WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = word.styles["Normal"]
    style.font.bold = True
    style.font.size = Pt(22)
    style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "0")
    style.element.get_or_add_pPr().append(outline)
    return style


def test_a_custom_heading_style_carries_level_centring_and_bold(tmp_path: Path) -> None:
    word = WordDocument()
    style = _custom_heading_style(word)
    derived = word.styles.add_style("申报标题", WD_STYLE_TYPE.PARAGRAPH)
    derived.base_style = style
    word.add_paragraph("山东省特色产业集群申请表", style="一级标题")
    word.add_paragraph("特色产业集群发展规划", style="申报标题")
    body = word.add_paragraph("正文一段。")
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT

    title, derived_title, text = _read(tmp_path, word).blocks
    assert (title.heading_level, title.centered, title.bold, title.font_size) == (1, True, True, 22.0)
    assert (derived_title.heading_level, derived_title.centered, derived_title.bold) == (1, True, True)
    assert (text.heading_level, text.centered, text.bold) == (None, False, False)


def test_a_bound_word_file_titled_in_a_custom_style_without_page_breaks(tmp_path: Path, ruleset: Ruleset) -> None:
    """Every item follows the previous one on the same page; only the style says where one begins."""
    word = WordDocument()
    _custom_heading_style(word)
    for item in texts.all_items(LINQU).values():
        word.add_paragraph(item.title, style="一级标题")
        for block in item.blocks:
            if block.kind == "p" or block.kind.startswith("h"):
                para = word.add_paragraph(block.text)
                para.runs[0].bold = block.kind.startswith("h")
            elif block.rows or block.form:
                rows = block.rows or [(f.label, f.value) for f in block.form]
                table = word.add_table(rows=len(rows), cols=len(rows[0]))
                for r, row in enumerate(rows):
                    for c, cell in enumerate(row):
                        table.cell(r, c).text = cell
    buf = io.BytesIO()
    word.save(buf)
    folder = tmp_path / "d"
    write(folder / "申报材料.docx", buf.getvalue())
    report = check_dossier(folder, ruleset).as_dict()
    assert all(present(report).values()), present(report)


def _numbered_list(word) -> str:  # type: ignore[no-untyped-def]
    """A 多级列表 as Word's Chinese templates define it: 一、 then （一） then 1. ; returns its numId."""
    numbering = word.part.numbering_part.element
    levels = [("chineseCounting", "%1、"), ("chineseCounting", "（%2）"), ("decimal", "%3.")]
    lvl_xml = "".join(
        f"<w:lvl w:ilvl='{k}'><w:start w:val='1'/><w:numFmt w:val='{fmt}'/><w:lvlText w:val='{text}'/></w:lvl>"
        for k, (fmt, text) in enumerate(levels)
    )
    numbering.insert(0, parse_xml(f"<w:abstractNum {nsdecls('w')} w:abstractNumId='90'>{lvl_xml}</w:abstractNum>"))
    numbering.append(parse_xml(f"<w:num {nsdecls('w')} w:numId='90'><w:abstractNumId w:val='90'/></w:num>"))
    return "90"


def _number(paragraph, num_id: str, level: int) -> None:  # type: ignore[no-untyped-def]
    numpr = parse_xml(f"<w:numPr {nsdecls('w')}><w:ilvl w:val='{level}'/><w:numId w:val='{num_id}'/></w:numPr>")
    paragraph._p.get_or_add_pPr().append(numpr)


def test_automatic_list_numbers_are_read_and_not_counted(tmp_path: Path, ruleset: Ruleset) -> None:
    """An introduction whose headings Word numbers itself (一、 … 五、品牌建设): the numbers are read, so 五、
    is still known for the introduction's own sub-heading; Word's 字数 leaves them out, and so does ours."""
    word = WordDocument()
    num_id = _numbered_list(word)
    word.add_paragraph(f"{LINQU.name}发展情况简介", style="Title")
    outline = [
        (0, "发展现状", "临朐县铝型材产业起步于上世纪八十年代，经过四十年发展，形成了完整的产业链。"),
        (1, "产业规模", "集群企业二百余家，规模以上企业六十家，从业人员三万余人。"),
        (1, "龙头企业", "龙头企业带动作用明显，配套企业分工协作。"),
        (0, "发展规划", "集群编制了发展规划，明确了高端化、智能化、绿色化发展方向。"),
        (1, "目标", "到二〇二八年营业收入突破五百亿元。"),
        (0, "品牌建设", "集群拥有中国驰名商标三件，山东名牌产品十二个。"),
        (0, "公共服务平台", "集群建有检验检测中心和省级企业技术中心。"),
        (0, "信息化建设", "企业上云用数赋智成效明显。"),
    ]
    for level, heading, text in outline:
        _number(word.add_paragraph(heading, style="Heading 2" if level == 0 else "Heading 3"), num_id, level)
        word.add_paragraph(text)
    buf = io.BytesIO()
    word.save(buf)
    folder = tmp_path / "d"
    path = write(folder / "简介.docx", buf.getvalue())

    headings = [b.text for b in read_file(path, path.name, "-", 0).blocks if b.kind == "heading"][1:]
    # Word's default separator after a list number is a tab: read as a space, counted as nothing.
    assert headings == [
        "一、 发展现状",
        "（一） 产业规模",
        "（二） 龙头企业",
        "二、 发展规划",
        "（一） 目标",
        "三、 品牌建设",
        "四、 公共服务平台",
        "五、 信息化建设",
    ]
    report = check_dossier(folder, ruleset).as_dict()
    found = present(report)
    assert found["introduction"]
    assert not any(found[i] for i in ("development_plan", "brand_evidence", "innovation_platforms", "informatization"))
    intro = next(i for i in report["items"] if i["id"] == "introduction")
    assert intro["metrics"]["word_count"] == sum(count_words(h) + count_words(t) for _, h, t in outline)
