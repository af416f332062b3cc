"""How files are split into items, on files laid out the ways applicants make them: 目录 headings and page
offsets, certificate pages, Word's heading styles through LibreOffice, introductions whose sub-headings
name other items, wrapped titles, organisation names, pictures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document as WordDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

from core.model import Block as ModelBlock
from core.model import Document
from core.text import count_words
from extractors import read_file
from extractors.pdf import mark_centred
from fixtures import texts
from fixtures.clusters import LINQU
from fixtures.model import ITEM_IDS, Block, ItemDoc
from fixtures.writers import H1_SIZE as H1
from fixtures.writers import DocxStyle, PdfLayout, docx_bytes, pdf_bytes, soffice_available, soffice_to_pdf, toc_line
from pipeline.batch import summary_line
from pipeline.engine import check_dossier
from pipeline.layout import Layout, Unit, title_end
from pipeline.reports import summary_row
from pipeline.ruleset import Ruleset
from pipeline.sections import analyse, split_sections
from tests.conftest import present, write


def _starts(report: dict) -> dict[str, int | None]:
    return {i["id"]: (i["locations"][0]["pages"] or [None])[0] if i["locations"] else None for i in report["items"]}


CERTIFICATES = (("中国驰名商标", "国家知识产权局认定"), ("山东名牌产品证书", "山东省质量强省建设领导小组"))


def bound_pdf(toc_heading: str | None, *, covers: int, footer: bool) -> tuple[bytes, dict[str, int]]:
    """A bound dossier: cover pages, a 目录 (unnumbered), the eight items each on a new page, two
    certificate pages of large display text after the brand evidence. Returns the PDF and each item's
    first physical page."""
    items = texts.all_items(LINQU)
    body = PdfLayout()
    starts: dict[str, int] = {}
    for i, item in enumerate(ITEM_IDS):
        body.item(items[item], new_page=i > 0)
        starts[item] = body.item_pages[item][0]
        if item == "brand_evidence":
            for title, org in CERTIFICATES:
                body.new_page()
                body.y -= 120
                body.title(title, 40)
                body.line(f"授予：{LINQU.firms[0].name}", "center")
                body.line(org, "center")
    head = PdfLayout()
    head.y -= 200
    head.title(f"{LINQU.name}申报材料", 26)
    head.line(f"申报单位：{LINQU.applicant}", "center")
    for _ in range(covers - 1):
        head.new_page()
        head.title("申报材料说明", 20)
        head.line("本材料包共八项，按目录顺序装订。", "center")
    head.new_page()
    if toc_heading:
        head.title(toc_heading, 20)
    labels = [f"{texts.cn(i)}、{texts_title}" for i, texts_title in enumerate(_toc_titles(), 1)]
    for label, item in zip(labels, ITEM_IDS, strict=True):
        head.line(toc_line(label, starts[item] + 1))  # printed numbers start at the first item
    for page in head.pages:
        page.numbered = False
    offset = len(head.pages)
    body.pages = head.pages + body.pages
    data = body.render("dash" if footer else None)
    return data, {item: start + offset + 1 for item, start in starts.items()}


def _toc_titles() -> list[str]:
    return [
        "山东省特色产业集群申请表",
        "特色产业集群发展情况简介",
        "特色产业集群发展规划",
        "名牌产品、驰名商标、产业荣誉称号及媒体宣传报道材料",
        "创新研发中心、公共服务平台、服务体系建设材料",
        "信息化智能化建设情况",
        "其他证明材料",
        "申报材料真实性声明",
    ]


@pytest.mark.parametrize(
    ("heading", "covers", "footer"),
    [("目　录", 1, True), ("申报材料目录", 2, False), ("材料清单", 1, False), (None, 2, True)],
)
def test_bound_pdf_items_start_where_the_toc_says(
    tmp_path: Path, ruleset: Ruleset, heading: str | None, covers: int, footer: bool
) -> None:
    data, starts = bound_pdf(heading, covers=covers, footer=footer)
    path = write(tmp_path / "合订本.pdf", data)
    report = check_dossier(path, ruleset).as_dict()
    assert all(present(report).values()), present(report)
    assert _starts(report) == starts
    layout = analyse(read_file(path, path.name, "-", 0), ruleset)
    assert layout.item_toc and len(layout.toc) == 8


def _word_heading_dossier(tmp_path: Path, with_toc: bool) -> tuple[Path, list[str]]:
    """A bound Word file whose item titles are Word's Heading 1 as python-docx's template leaves it
    (14 pt, coloured) over a 16 pt body, converted to PDF by LibreOffice."""
    import docx
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt

    items = texts.all_items(LINQU)

    def build(numbers: list[int]) -> bytes:
        d = docx.Document()
        d.styles["Normal"].font.size = Pt(16)
        title = d.add_paragraph()
        title.add_run(f"{LINQU.name}申报材料").font.size = Pt(26)
        if with_toc:
            title.add_run().add_break(WD_BREAK.PAGE)
            d.add_paragraph("目录")
            for i, (item, number) in enumerate(zip(ITEM_IDS, numbers, strict=True), 1):
                d.add_paragraph(f"{texts.cn(i)}、{items[item].title}\t{number}")
        for item in ITEM_IDS:
            d.add_paragraph(items[item].title, style="Heading 1").paragraph_format.page_break_before = True
            for block in items[item].blocks:
                if block.kind in ("h1", "h2"):
                    d.add_paragraph(block.text, style="Heading 2")
                elif block.kind == "form":
                    for row in block.form:
                        d.add_paragraph(f"{row.label}：{row.value}")
                elif block.kind == "table":
                    for row in block.rows:
                        d.add_paragraph("　".join(row))
                elif block.kind != "seal":
                    d.add_paragraph(block.text)
        buffer = io.BytesIO()
        d.save(buffer)
        return buffer.getvalue()

    first = soffice_to_pdf([("a.docx", build([0] * 8))])["a.pdf"]
    pages = _title_pages(first, [items[i].title for i in ITEM_IDS])
    data = soffice_to_pdf([("a.docx", build(pages))])["a.pdf"] if with_toc else first
    path = write(tmp_path / "汇编.pdf", data)
    return path, [str(p) for p in _title_pages(data, [items[i].title for i in ITEM_IDS])]


def _title_pages(pdf: bytes, titles: list[str]) -> list[int]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    found = []
    texts_by_page = ["".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))]
    for title in titles:
        key = "".join(title.split())
        found.append(next(n for n, text in enumerate(texts_by_page, 1) if text.startswith(key)))
    return found


@pytest.mark.skipif(not soffice_available(), reason="needs LibreOffice")
@pytest.mark.parametrize("with_toc", [True, False])
def test_word_heading_1_smaller_than_the_body(tmp_path: Path, ruleset: Ruleset, with_toc: bool) -> None:
    path, pages = _word_heading_dossier(tmp_path, with_toc)
    report = check_dossier(path, ruleset).as_dict()
    assert all(present(report).values()), present(report)
    assert [str(_starts(report)[i]) for i in ITEM_IDS] == pages


INTRO_NAMING_ITEMS = [
    Block("h1", "一、发展现状"),
    Block("p", "临朐县铝型材产业起步于上世纪八十年代，经过四十年发展，形成了完整的产业链，龙头企业带动作用明显。" * 3),
    Block("h1", "二、品牌建设"),
    Block("p", "集群拥有中国驰名商标三件，山东名牌产品十二个，区域品牌影响力持续提升。" * 3),
    Block("p", "1.强化品牌培育，支持企业争创名牌产品；2.加强宣传推介，扩大区域品牌影响。"),
    Block("h1", "三、公共服务平台建设"),
    Block("p", "集群建有检验检测中心和省级企业技术中心，为企业提供检测、研发、培训服务。" * 3),
    Block("h2", "（一）信息化建设"),
    Block("p", "本集群已编制发展规划，信息化智能化建设稳步推进，企业上云用数赋智成效明显。" * 3),
    Block("h1", "四、下一步打算"),
    Block("p", "下一步，集群将围绕高端化、智能化、绿色化方向，持续推动产业转型升级。" * 2),
]


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_an_introduction_whose_sub_headings_name_items_is_one_item(tmp_path: Path, ruleset: Ruleset, kind: str) -> None:
    intro = ItemDoc("introduction", f"{LINQU.name}发展情况简介", INTRO_NAMING_ITEMS)
    data = docx_bytes([intro]) if kind == "docx" else pdf_bytes([intro], footer="dash").data
    folder = tmp_path / "d"
    write(folder / f"材料2.{kind}", data)
    declaration = texts.authenticity_declaration(LINQU)
    write(folder / "材料8.docx", docx_bytes([declaration]))
    doc = read_file(folder / f"材料2.{kind}", f"材料2.{kind}", "-", 0)
    sections = split_sections(doc, ruleset)
    assert len(sections) == 1
    report = check_dossier(folder, ruleset).as_dict()
    found = present(report)
    assert found["introduction"] and found["authenticity_declaration"]
    for item in ("brand_evidence", "innovation_platforms", "informatization", "development_plan"):
        assert not found[item], item
    intro_words = next(i for i in report["items"] if i["id"] == "introduction")["metrics"]["word_count"]
    assert intro_words == sum(count_words(b.text) for b in INTRO_NAMING_ITEMS)


def test_a_wrapped_title_and_indented_paragraphs(tmp_path: Path, ruleset: Ruleset) -> None:
    title = "临朐县铝型材加工特色产业集群创新研发中心、公共服务平台和中小企业服务体系建设情况说明材料"
    body = [Block("p", "集群建有检验检测中心。" * 2), Block("p", "特此说明。"), Block("p", "研发平台运行良好。" * 6)]
    path = write(tmp_path / "x.pdf", pdf_bytes([ItemDoc("innovation_platforms", title, body)]).data)
    sections = split_sections(read_file(path, "x.pdf", "-", 0), ruleset)
    assert len(sections) == 1
    assert sections[0].title == title
    assert count_words(sections[0].body_text) == sum(count_words(b.text) for b in body)


@pytest.mark.parametrize(
    ("title", "item"),
    [
        ("品牌荣誉佐证材料", "brand_evidence"),
        ("集群主要经济指标统计表", "other_materials"),
        ("专精特新企业名单", "other_materials"),
        ("临朐县工业和信息化局", None),
        ("附件6：数字化转型情况", "informatization"),
    ],
)
def test_title_vocabulary(ruleset: Ruleset, title: str, item: str | None) -> None:
    assert [r.id for r in ruleset.items_titled(title)] == ([item] if item else [])


def test_an_organisation_name_is_not_the_item_it_contains(tmp_path: Path, ruleset: Ruleset) -> None:
    """A file whose only short line is a signature naming the bureau is no informatization report."""
    letter = ItemDoc(
        "other_materials",
        "临朐县工业和信息化局",
        [Block("p", "关于集群企业名单的说明：集群内相关企业名单及统一社会信用代码见附表，数据截至上年末。" * 2)],
    )
    write(tmp_path / "d" / "说明.docx", docx_bytes([letter]))
    report = check_dossier(tmp_path / "d", ruleset).as_dict()
    assert not present(report)["informatization"]


def test_picture_only_brand_evidence_is_not_empty(tmp_path: Path, ruleset: Ruleset) -> None:
    import docx
    from docx.shared import Cm
    from PIL import Image

    d = docx.Document()
    d.add_paragraph("品牌荣誉证书复印件")
    for colour in ("red", "gold"):
        buffer = io.BytesIO()
        Image.new("RGB", (300, 200), colour).save(buffer, format="PNG")
        d.add_paragraph().add_run().add_picture(io.BytesIO(buffer.getvalue()), width=Cm(12))
    buffer = io.BytesIO()
    d.save(buffer)
    write(tmp_path / "d" / "4.docx", buffer.getvalue())
    report = check_dossier(tmp_path / "d", ruleset).as_dict()
    brand = next(i for i in report["items"] if i["id"] == "brand_evidence")
    assert brand["present"]
    assert "ITEM_EMPTY" not in {f["code"] for f in brand["findings"]}


def test_a_complete_dossier_with_a_doubt_says_so(tmp_path: Path, ruleset: Ruleset) -> None:
    items = texts.all_items(LINQU, sealed=True)
    folder = tmp_path / "d"
    for item in ITEM_IDS:
        doc = items[item]
        if item == "informatization":  # no title, an opaque name: identified by its content alone
            doc = ItemDoc(item, "", [Block("p", b.text) for b in doc.blocks if b.kind == "p"])
        write(folder / f"{item if item != 'informatization' else '材料'}.docx", docx_bytes([doc]))
    checked = check_dossier(folder, ruleset)
    report = checked.as_dict()
    assert report["verdict"] == "complete"
    reviews = [f for f in report["findings"] if f["code"] == "LOW_CONFIDENCE"]
    assert [f["item"] for f in reviews] == ["informatization"]  # the one identified by its content alone
    assert report["review_count"] == 1
    assert "材料齐全，1 项请人工核对" in summary_line(checked)
    assert summary_row(checked, "d")["review_count"] == 1


def _ocr_line(text: str, page: int, x0: float, top: float, x1: float, size: float = 12.0) -> Block:
    from core.model import Block as ModelBlock

    return ModelBlock(text, "line", page, bbox=(x0, top, x1, top + size * 1.3), font_size=size, source="ocr")


def scanned_toc_document() -> Document:
    """OCR reads a 目录's leaders as 「……」 and loses page numbers (one lands on a line of its own, one
    entry is lost whole); a title on a skewed scan is not quite centred and words its joints differently."""
    from core.model import Document, Page

    toc = [
        ("目录", 250, 320),
        ("一、山东省特色产业集群申请表……", 60, 260),
        ("……2", 467, 504),
        ("三、特色产业集群发展规划……", 61, 300),
        ("四、名牌产品、驰名商标、产业荣誉称号及媒体宣传报道材料……………5", 62, 507),
        ("五、创新研发中心、公共服务平台、服务体系建设材料……………6", 62, 507),
        ("六、信息化智能化建设情况……", 64, 330),
        ("八、申报材料真实性声明………", 65, 310),
    ]
    blocks = [_ocr_line(text, 1, x0, 80 + 26 * i, x1) for i, (text, x0, x1) in enumerate(toc)]
    pages = [
        ("山东省特色产业集群申请表", ["集群名称 临朐县铝型材加工特色产业集群", "企业数量（户） 182"]),
        (
            "临朐县铝型材加工特色产业集群发展情况简介",
            ["一、历史沿革", "临朐县铝型材产业起步于上世纪八十年代，龙头企业带动作用明显。"],
        ),
        ("临朐县铝型材加工产业集群发展规划(2024—2028年)", ["一、基本情况", "为深入贯彻落实管理办法，制定本规划。"]),
        ("名牌产品、驰名商标、产业荣誉称号及媒体宣传报道材料", ["一、产业荣誉称号", "集群拥有中国驰名商标三件。"]),
        ("创新研发中心、公共服务平台及服务体系建设材料", ["一、创新研发中心", "集群建有检验检测中心。"]),
        ("信息化智能化建设情况", ["一、计算能力", "集群数据中心部署服务器三百台。"]),
        ("申报材料真实性声明", ["本单位郑重声明：所报材料真实、准确、完整。", "申报单位（盖章）"]),
    ]
    for number, (title, lines) in enumerate(pages, 2):
        # Titles centred, but one on a skewed scan not quite; body lines fill the column.
        x0, x1 = (105, 504) if "创新" in title else (150, 430)
        blocks.append(_ocr_line(title, number, x0, 75, x1, 15))
        blocks += [_ocr_line(text, number, 75, 120 + 30 * k, 505) for k, text in enumerate(lines * 4)]
        blocks.append(_ocr_line(f"- {number - 1} -", number, 280, 790, 310, 10))
    for i, block in enumerate(blocks):
        block.index = i
    mark_centred(blocks, dict.fromkeys(range(1, 9), 595.0))  # as pipeline.scans.merge_ocr does
    return Document("扫描合订本.pdf", "-", "pdf", blocks=blocks, pages=[Page(n, 595, 842, 300) for n in range(1, 9)])


def test_a_scanned_toc_that_lost_page_numbers(ruleset: Ruleset) -> None:
    sections = [s for s in split_sections(scanned_toc_document(), ruleset) if s.role == "item"]
    titles = [next(iter(ruleset.items_titled(s.title)), None) for s in sections]
    assert [t.id if t else None for t in titles] == [i for i in ITEM_IDS if i != "other_materials"]
    assert [s.pages[0] for s in sections if s.pages] == list(range(2, 9))


def test_a_spreadsheet_titled_in_its_first_row(tmp_path: Path, ruleset: Ruleset) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["集群企业名录"])
    sheet.append(["序号", "企业名称", "主要产品"])
    for k in range(1, 6):
        sheet.append([k, f"临朐县第{k}铝业有限公司", "建筑铝型材"])
    book.save(tmp_path / "附件7.xlsx")
    sections = split_sections(read_file(tmp_path / "附件7.xlsx", "附件7.xlsx", "-", 0), ruleset)
    assert [s.title for s in sections] == ["集群企业名录"]
    assert [r.id for r in ruleset.items_titled(sections[0].title)] == ["other_materials"]


@pytest.mark.parametrize("valign", ["MIDDLE", "TOP"])
def test_a_toc_drawn_as_a_table_with_wrapped_titles(tmp_path: Path, ruleset: Ruleset, valign: str) -> None:
    """序号 | 材料名称 | 页码 in narrow cells: titles wrap over several lines, the serial and page number
    stand level with the first line or centred beside the title, as Word and WPS tables put them."""
    from reportlab.platypus import Paragraph, Table, TableStyle

    from fixtures.writers import _para_style

    items = texts.all_items(LINQU)
    body = PdfLayout()
    for i, item in enumerate(ITEM_IDS):
        body.item(items[item], new_page=i > 0)
    style = _para_style(12)
    titles = _toc_titles()
    rows = [["序号", "材料名称", "页码"]]
    rows += [
        [str(k), Paragraph(f"{k}.{title}", style), str(body.item_pages[item][0] + 1)]
        for k, (title, item) in enumerate(zip(titles, ITEM_IDS, strict=True), 1)
    ]
    table = Table(rows, colWidths=[40, 120, 40])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.6, "black"), ("VALIGN", (0, 0), (-1, -1), valign)]))
    head = PdfLayout()
    head.title("目　录", 20)
    head.flowable(table)
    for page in head.pages:
        page.numbered = False
    printed = [body.item_pages[i][0] + 1 for i in ITEM_IDS]  # the 目录 is unnumbered
    body.pages = head.pages + body.pages
    path = write(tmp_path / "合订本.pdf", body.render("dash"))
    layout = analyse(read_file(path, path.name, "-", 0), ruleset)
    assert [e.page for e in layout.toc] == printed
    assert [next(iter(e.items), None) for e in layout.toc] == list(ITEM_IDS)
    report = check_dossier(path, ruleset).as_dict()
    assert all(present(report).values()), present(report)


def test_a_numbered_first_title_begins_a_bound_file(tmp_path: Path, ruleset: Ruleset) -> None:
    """No 目录: the file's first line 一、…申报书 is the first of the item titles 二、三、四、 below it,
    not the title of the whole file."""
    items = texts.all_items(LINQU)
    body = PdfLayout()
    body.title(f"一、{LINQU.name}申报书", 22)
    body.blocks(items["application_form"].blocks)
    chosen = ("introduction", "development_plan", "innovation_platforms")
    for n, item in enumerate(chosen, 2):
        body.new_page()
        body.heading(f"{texts.cn(n)}、{items[item].title}", 16)
        body.blocks(items[item].blocks)
    report = check_dossier(write(tmp_path / "申报材料.pdf", body.render("dash")), ruleset).as_dict()
    assert {k for k, v in present(report).items() if v} == {"application_form", *chosen}


def test_item_titles_are_numbered_in_order(tmp_path: Path, ruleset: Ruleset) -> None:
    """No 目录, titles 一、 to 五、 at page tops; the introduction's second page begins with its own 四、,
    set like the titles and naming the introduction: out of order, so a sub-heading, and the
    introduction's 字 are counted over both its pages."""
    items = texts.all_items(LINQU)
    body = PdfLayout()
    chosen = ("application_form", "introduction", "development_plan", "brand_evidence", "innovation_platforms")
    for n, item in enumerate(chosen, 1):
        if n > 1:
            body.new_page()
        body.heading(f"{texts.cn(n)}、{items[item].title}", 16)
        body.blocks(items[item].blocks[:6])
        if item == "introduction":
            body.new_page()
            body.heading("四、集群基本情况", 16)
            body.paragraph("集群现有规模以上企业一百二十家，" * 8)
    path = write(tmp_path / "申报材料.pdf", body.render("dash"))
    sections = split_sections(read_file(path, path.name, "-", 0), ruleset)
    assert [s.title[:2] for s in sections] == ["一、", "二、", "三、", "四、", "五、"]
    report = check_dossier(path, ruleset).as_dict()
    assert {k for k, v in present(report).items() if v} == set(chosen)
    intro = next(i for i in report["items"] if i["id"] == "introduction")
    assert intro["locations"][0]["pages"] == [2, 3]


def test_a_toc_entry_the_file_does_not_hold(tmp_path: Path, ruleset: Ruleset) -> None:
    """The 目录 lists the informatization report at a page that goes on with the platforms item (its 三、
    after 一、 and 二、): the report is missing, not the platforms' last page. Entries wrap, and a title
    that fills its line keeps one leader dot."""
    items = texts.all_items(LINQU)
    body = PdfLayout()
    chosen = ("application_form", "introduction", "innovation_platforms")
    starts: dict[str, int] = {}
    for item in chosen:
        body.start_item(item, new_page=len(starts) > 0)
        starts[item] = len(body.pages)
        body.heading(items[item].title, 16)
        if item == "innovation_platforms":
            for n, part in enumerate(("创新研发中心", "公共服务平台", "服务体系建设"), 1):
                if n == 3:
                    body.new_page()
                body.heading(f"{texts.cn(n)}、{part}", H1)
                body.paragraph(f"集群{part}建设成效明显，服务企业九百余家次，" * 6)
        else:
            body.blocks(items[item].blocks)
    body.pages[-1].numbered = True
    head = PdfLayout()
    head.title("申报材料清单", 20)
    head.line(f"1.{LINQU.name}申请表" + "…" * 12 + str(starts["application_form"]))
    head.line(f"2.{LINQU.name}发展情况简介" + "…" * 10 + str(starts["introduction"]))
    head.line(f"3.{LINQU.name}创新研发中心、公共服务平台")
    head.line("及服务体系建设材料." + str(starts["innovation_platforms"]))
    head.line(f"4.{LINQU.name}信息化智能化建设情况" + "…" * 6 + str(len(body.pages)))
    head.pages[0].numbered = False
    body.pages = head.pages + body.pages
    report = check_dossier(write(tmp_path / "合订本.pdf", body.render("dash")), ruleset).as_dict()
    assert {k for k, v in present(report).items() if v} == set(chosen)
    platforms = next(i for i in report["items"] if i["id"] == "innovation_platforms")
    assert platforms["locations"][0]["pages"][-1] == len(body.pages)


@pytest.mark.parametrize(
    ("entry", "line", "same"),
    [
        ("二、东平县光伏新能源特色产业集群发展情况简介", "特色产业集群名", False),  # a form's label cell
        ("特色产业集群发展规划", "临朐县铝型材加工产业集群发展规划（2024—2028年）", True),
        ("申报材料真实性声明", "临朐县铝型材加工特色产业集群申报材料真实性声明", True),
    ],
)
def test_a_toc_entry_and_a_line_share_more_than_the_cluster_words(
    entry: str, line: str, same: bool, ruleset: Ruleset
) -> None:
    from pipeline.toc import same_title

    assert same_title(entry, line, ruleset) is same


INTRO_ECHOING_ENTRIES = [
    Block("h1", "一、产业规模与效益"),
    Block("p", "临朐县铝型材产业起步于上世纪八十年代，经过四十年发展，形成了完整的产业链，龙头企业带动作用明显。" * 3),
    Block("h1", "二、产业链条"),
    Block("p", "集群上游为铝锭熔铸，中游为挤压成型和表面处理，下游为门窗幕墙和工业型材，配套齐全。" * 3),
    Block("h1", "三、服务体系建设"),
    Block("p", "集群建有检验检测中心和省级企业技术中心，为企业提供检测、研发、培训服务。" * 3),
    Block("h1", "四、信息化建设"),
    Block("p", "企业上云用数赋智成效明显，骨干企业建成数字化车间。" * 3),
    Block("h1", "五、发展目标"),
    Block("p", "下一步，集群将围绕高端化、智能化、绿色化方向，持续推动产业转型升级。" * 2),
]


def test_a_word_toc_entry_echoed_by_a_sub_heading_goes_to_the_title_formatted_like_the_others(
    tmp_path: Path, ruleset: Ruleset
) -> None:
    """Items titled in other words than the 目录's (实施方案 for 发展规划), while the introduction's
    sub-headings in another format echo later entries (三、服务体系建设, 四、信息化建设): each entry is the
    title formatted like the other items' titles, not the sub-heading."""
    items = texts.all_items(LINQU, intro=ItemDoc("introduction", f"{LINQU.name}发展情况简介", INTRO_ECHOING_ENTRIES))
    retitled = {
        "development_plan": f"{LINQU.name}高质量发展实施方案",
        "brand_evidence": f"{LINQU.name}区域品牌建设情况",
        "innovation_platforms": "创新平台和服务体系建设情况",
        "informatization": f"{LINQU.name}数字化转型情况",
    }
    docs = [ItemDoc(i, retitled.get(i, d.title), d.blocks) for i, d in items.items()]
    toc = [f"{k}.{title}" for k, title in enumerate(_toc_titles(), 1)]
    path = write(tmp_path / "申报材料.docx", docx_bytes(docs, DocxStyle(title="plain", headings="styles"), toc=toc))
    report = check_dossier(path, ruleset).as_dict()
    assert all(present(report).values()), present(report)
    sections = [s for s in split_sections(read_file(path, path.name, "-", 0), ruleset) if s.role == "item"]
    assert [s.title for s in sections[1:6]] == [docs[k].title for k in range(1, 6)]


def test_a_title_numbered_in_the_gap_of_the_series_is_an_item_title(tmp_path: Path, ruleset: Ruleset) -> None:
    """Titles 1. to 8. in one format, but 6. set in another (run on below a certificate, read by OCR): it
    goes on with the series and names an item no other title names. A numbered list of the item before
    (1. 3.) does not hide it; a list that runs on to the title's number would."""
    items = texts.all_items(LINQU)
    layout = PdfLayout()
    for k, (item, doc) in enumerate(items.items(), 1):
        layout.start_item(item, new_page=k > 1 and k != 6)
        if k == 6:
            layout.paragraph(f"{k}.信息化智能化建设情况", indent=False)
        else:
            layout.title(f"{k}.{doc.title}")
        if k == 5:
            layout.paragraph("1.检验检测中心：为集群企业提供检测服务。", indent=False)
            layout.paragraph("3.技能培训基地：年培训技术工人三千人次。", indent=False)
        layout.blocks(doc.blocks)
    path = write(tmp_path / "合订本.pdf", layout.render("dash"))
    report = check_dossier(path, ruleset).as_dict()
    assert all(present(report).values()), present(report)
    decision = analyse(read_file(path, path.name, "-", 0), ruleset).decision
    assert "按编号接续的标题 1 处" in decision


def test_a_word_toc_whose_titles_are_reworded_finds_them_by_their_shared_format(
    tmp_path: Path, ruleset: Ruleset
) -> None:
    """Most titles worded otherwise than the 目录 (申报书, 基本情况, 集群企业名录), one entry echoed by the
    introduction's 五、公共服务平台: the titles found by format show the title format, and the entry goes
    to the title formatted like them, the entries between then too."""
    intro_blocks = [*INTRO_ECHOING_ENTRIES[:4], Block("h1", "五、公共服务平台"), *INTRO_ECHOING_ENTRIES[5:]]
    items = texts.all_items(LINQU, intro=ItemDoc("introduction", f"{LINQU.name}基本情况", intro_blocks))
    retitled = {
        "application_form": f"{LINQU.name}申报书",
        "development_plan": f"{LINQU.name}高质量发展实施方案",
        "brand_evidence": f"{LINQU.name}区域品牌建设情况",
        "innovation_platforms": "创新平台和公共服务体系建设情况",
        "other_materials": "集群企业名录",
        "authenticity_declaration": "真实性承诺书",
    }
    docs = [ItemDoc(i, f"{k}.{retitled.get(i, d.title)}", d.blocks) for k, (i, d) in enumerate(items.items(), 1)]
    path = write(tmp_path / "申报材料.docx", docx_bytes(docs, DocxStyle(title="Heading 1"), toc=_toc_titles()))
    report = check_dossier(path, ruleset).as_dict()
    assert all(present(report).values()), present(report)
    sections = [s for s in split_sections(read_file(path, path.name, "-", 0), ruleset) if s.role == "item"]
    assert [s.title for s in sections] == [d.title for d in docs]


def test_a_titled_file_whose_outline_starts_again_under_its_title_is_one_item(tmp_path: Path, ruleset: Ruleset) -> None:
    """二、…发展情况简介 (numbered as the second item of the set) with its own 一、 … 九、: headings at page
    tops that name items (六、智能化改造, 九、发展思路) do not go on from the title's 二、."""
    layout = PdfLayout()
    layout.start_item("introduction", new_page=False)
    layout.title(f"二、{LINQU.name}发展情况简介")
    heads = ["产业历史沿革", "集群发展现状", "企业梯队建设", "技术创新情况", "公共服务体系", "智能化改造", "园区建设"]
    heads += ["人才队伍", "发展思路"]
    text = "临朐县铝型材产业起步于上世纪八十年代，经过四十年发展，形成了完整的产业链，龙头企业带动作用明显。"
    for k, head in enumerate(heads, 1):
        if k in (3, 6, 9):
            layout.new_page()
        layout.heading(f"{texts.cn(k)}、{head}", H1)
        layout.paragraph(text * 4)
    path = write(tmp_path / "d" / "简介.pdf", layout.render("dash"))
    doc = read_file(path, path.name, "-", 0)
    assert len(split_sections(doc, ruleset)) == 1
    found = present(check_dossier(path.parent, ruleset).as_dict())
    assert found["introduction"] and not found["informatization"] and not found["development_plan"]


def test_a_near_empty_file_is_titled_over_its_lines(tmp_path: Path, ruleset: Ruleset) -> None:
    """A file holding only its title over two lines (the cluster's name, then the item's): the item is
    there, and empty."""
    layout = PdfLayout()
    layout.start_item("innovation_platforms", new_page=False)
    layout.line(LINQU.name, "center", 22)
    layout.line("研发及服务平台材料", "center", 22)
    folder = tmp_path / "d"
    write(folder / "附件5.pdf", layout.render("plain"))
    report = check_dossier(folder, ruleset).as_dict()
    assert present(report)["innovation_platforms"]
    assert ("ITEM_EMPTY", "innovation_platforms") in {(f["code"], f.get("item")) for f in report["findings"]}


def test_a_title_does_not_run_into_an_addressee_line(ruleset: Ruleset) -> None:
    """OCR joined the addressee 省工业和信息化厅： and the first body line into one paragraph, which reads
    like a title as a whole: a line of it that ends a clause keeps it out of the title above."""
    title = "附件8：临朐县海洋食品特色产业集群关于申报材料真实性的声明"
    lines = ["省工业和信息化厅：", "本单位承诺所提交的申报材料及相关数据真实有效，所附"]
    units = [
        Unit([ModelBlock(title, page=1, centered=True, source="ocr")], title),
        Unit([ModelBlock(text, page=1, centered=k == 0, source="ocr") for k, text in enumerate(lines)], "".join(lines)),
    ]
    layout = Layout(set(), {}, units, [], set(), False, {}, set(), ruleset)
    assert title_end(layout, 0) == 0


def _labelled_word_dossier(docs: list[ItemDoc]) -> bytes:
    """A bound Word file as many offices make it: a 目录 (tab, page number), then each item on a new page
    under its label 附件N, its title centred in bold body type, its headings bold and not centred."""
    word = WordDocument()
    word.add_paragraph("目录").alignment = WD_ALIGN_PARAGRAPH.CENTER
    for k, title in enumerate(_toc_titles(), 1):
        word.add_paragraph(f"{title}\t{k}")
    for k, doc in enumerate(docs, 1):
        word.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        word.add_paragraph(f"附件{k}")
        title = word.add_paragraph()
        title.add_run(doc.title).bold = True
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for block in doc.blocks:
            if block.kind in ("h1", "h2"):
                word.add_paragraph().add_run(block.text).bold = True
            elif block.rows or block.form:
                rows = block.rows or tuple((f.label, f.value) for f in block.form)
                table = word.add_table(rows=len(rows), cols=len(rows[0]))
                for r, row in enumerate(rows):
                    for c, cell in enumerate(row):
                        table.cell(r, c).text = cell
            elif block.text:
                word.add_paragraph(block.text)
    buf = io.BytesIO()
    word.save(buf)
    return buf.getvalue()


def test_the_title_format_is_the_one_naming_different_items(tmp_path: Path, ruleset: Ruleset) -> None:
    """Every title worded otherwise than the 目录 and set under a label, so the only entries matched by
    words are two of the introduction's sub-headings (三、服务体系建设, 四、信息化建设): the title format
    is still the one whose headings name different items, not the sub-headings' format those two share."""
    items = texts.all_items(LINQU, intro=ItemDoc("introduction", f"{LINQU.name}基本情况介绍", INTRO_ECHOING_ENTRIES))
    retitled = {
        "application_form": f"{LINQU.name}申报书",
        "development_plan": f"{LINQU.name}高质量发展实施方案",
        "brand_evidence": f"{LINQU.name}区域品牌建设情况",
        "innovation_platforms": f"{LINQU.name}创新平台建设情况",
        "informatization": "智能化改造与数字化转型报告",
        "other_materials": f"{LINQU.name}佐证材料",
        "authenticity_declaration": "真实性承诺书",
    }
    docs = [ItemDoc(i, retitled.get(i, d.title), d.blocks) for i, d in items.items()]
    path = write(tmp_path / "申报材料.docx", _labelled_word_dossier(docs))
    report = check_dossier(path, ruleset).as_dict()
    assert all(present(report).values()), present(report)
    sections = [s for s in split_sections(read_file(path, path.name, "-", 0), ruleset) if s.role == "item"]
    assert [s.title for s in sections] == [d.title for d in docs]


def test_a_toc_entry_whose_page_holds_the_next_entrys_title_is_missing(tmp_path: Path, ruleset: Ruleset) -> None:
    """The plan is missing, but the 目录 lists it at the page where the brand evidence begins; the
    introduction runs on to that page, so its top is the introduction's text, not the plan."""
    items = texts.all_items(LINQU)
    del items["development_plan"]
    body = PdfLayout()
    for k, (item, doc) in enumerate(items.items()):
        body.item(doc, new_page=k > 0 and item != "brand_evidence")
    starts = {item: pages[0] for item, pages in body.item_pages.items()}
    head = PdfLayout()
    head.title("目　录", 20)
    for title in _toc_titles():
        item = next(i for i, t in zip(ITEM_IDS, _toc_titles(), strict=True) if t == title)
        page = starts.get(item, starts["brand_evidence"])
        head.line(toc_line(title, page + 1))
    for p in head.pages:
        p.numbered = False
    body.pages = head.pages + body.pages
    path = write(tmp_path / "合订本.pdf", body.render("dash"))
    found = present(check_dossier(path, ruleset).as_dict())
    assert not found["development_plan"]
    assert all(found[i] for i in items), found
