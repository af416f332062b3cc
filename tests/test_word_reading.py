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

from extractors import read_file
from fixtures import texts
from fixtures.clusters import LINQU
from pipeline.dossier import check_dossier
from pipeline.model import Document
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


def test_text_in_revisions_content_controls_text_boxes_and_nested_tables(tmp_path: Path) -> None:
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
    table = word.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "主导产业"
    table.cell(0, 1).add_table(rows=1, cols=1).cell(0, 0).text = "铝型材"

    doc = _read(tmp_path, word)
    texts_read = [b.text for b in doc.blocks]
    assert texts_read[:5] == [
        "临朐县铝型材产业集群",
        "留下的字",
        "营业收入（亿元）",
        "封面",
        "山东省特色产业集群申报材料",
    ]
    assert doc.blocks[5].rows == [["主导产业", "铝型材"]]


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
    report = check_dossier(folder, ruleset).report
    assert all(present(report).values()), present(report)
