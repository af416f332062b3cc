"""The HTML, Markdown and Word reports of the sample dossiers all follow the one outline: the same sections
in the same order, and the Word report carries what the HTML one does (form, cross-checks, evidence, seals).

The batch (conftest's `sample_batch`) writes report.json and report.md; the HTML and Word reports are
written here from the report read back, its seal crops taken from the PNGs beside it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx import Document

from pipeline.batch import dossiers_in
from pipeline.report import Report, SealFound
from pipeline.reports import outline, render_html, write_reports
from pipeline.reports.outline import headings
from pipeline.reports.wording import (
    CROSS_HEADERS,
    CROSS_TITLE,
    EVIDENCE_HEADERS,
    EVIDENCE_TITLE,
    FORM_HEADERS,
    FORM_TITLE,
    SEALS_TITLE,
    VERDICT_MARK,
)
from tests.conftest import SAMPLES

IDS = [ident for ident, _ in dossiers_in(SAMPLES / "dossiers")]
SEALED = "01-临朐县铝型材加工"  # its declaration's seal is found, and cropped


def read_back(folder: Path) -> Report:
    """report.json as a Report, with the seal crops written beside it."""
    report = Report.model_validate_json((folder / "report.json").read_text(encoding="utf-8"))
    for item in report.items:
        if isinstance(item.seal, SealFound) and (folder / item.seal.crop).is_file():
            item.seal_crop = (folder / item.seal.crop).read_bytes()
    return report


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._level = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._level = int(tag[1])
            self.found.append((self._level, ""))

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._level = 0

    def handle_data(self, data: str) -> None:
        if self._level:
            level, text = self.found[-1]
            self.found[-1] = (level, text + data)


def html_headings(page: str) -> list[tuple[int, str]]:
    parser = _Headings()
    parser.feed(page)
    parser.close()
    return parser.found


def markdown_headings(text: str) -> list[tuple[int, str]]:
    """ATX headings, unescaped; the verdict (a heading in Markdown, a box in HTML and Word) left out."""
    found = []
    for line in text.splitlines():
        match = re.match(r"(#{1,6}) (.*)", line)
        if match and not match.group(2).startswith(tuple(VERDICT_MARK.values())):
            found.append((len(match.group(1)), re.sub(r"\\(.)", r"\1", match.group(2))))
    return found


def word_headings(path: Path) -> list[tuple[int, str]]:
    found = []
    for paragraph in Document(str(path)).paragraphs:
        match = re.fullmatch(r"Heading (\d)", paragraph.style.name)
        if match:
            found.append((int(match.group(1)), paragraph.text))
    return found


def _table_after(document: object, headers: tuple[str, ...]) -> list[list[str]]:
    """The rows of the Word table with these headers (none when the section said 'none found')."""
    for table in document.tables:  # type: ignore[attr-defined]
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if tuple(rows[0]) == headers:
            return rows[1:]
    return []


@pytest.mark.parametrize("dossier_id", IDS)
def test_formats_follow_the_outline(dossier_id: str, sample_batch: Path, tmp_path: Path) -> None:
    folder = sample_batch / dossier_id
    report = read_back(folder)
    sections = headings(outline(report))
    assert sections[0][0] == 1 and len(sections) >= 10
    assert markdown_headings((folder / "report.md").read_text(encoding="utf-8")) == sections
    assert html_headings(render_html(report)) == sections
    write_reports(report, tmp_path, ["docx"])
    assert word_headings(tmp_path / "report.docx") == sections


@pytest.mark.parametrize("dossier_id", IDS)
def test_word_has_form_cross_checks_evidence_and_seals(dossier_id: str, sample_batch: Path, tmp_path: Path) -> None:
    folder = sample_batch / dossier_id
    report = read_back(folder)
    write_reports(report, tmp_path, ["docx"])
    document = Document(str(tmp_path / "report.docx"))
    texts = [p.text for p in document.paragraphs]
    assert {FORM_TITLE, CROSS_TITLE, EVIDENCE_TITLE} <= set(texts)

    form = _table_after(document, FORM_HEADERS)
    assert [row[:2] for row in form] == [[p.label, p.text or "（空）"] for p in report.form]
    cross = _table_after(document, CROSS_HEADERS)
    assert [row[2] for row in cross] == [c.text for c in report.cross_checks]
    evidence = _table_after(document, EVIDENCE_HEADERS)
    assert [row[1] for row in evidence] == [e.normalized or e.text for e in report.evidence.items]

    crops = report.crops()
    assert (SEALS_TITLE in texts) == bool(crops)
    pictures = [
        document.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
        for shape in document.inline_shapes
    ]
    assert pictures == list(crops.values())


def test_a_sample_dossier_has_a_seal_crop_in_every_format(sample_batch: Path, tmp_path: Path) -> None:
    folder = sample_batch / SEALED
    report = read_back(folder)
    crops = report.crops()
    assert crops and all(crops.values()), "the sealed sample's crop is missing"
    [name] = crops
    assert f"![公章]({name})" in (folder / "report.md").read_text(encoding="utf-8")
    write_reports(report, tmp_path, ["html", "docx"])
    assert f'<img src="{name}" alt="公章" width="160">' in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert len(Document(str(tmp_path / "report.docx")).inline_shapes) == 1
    assert report.form and report.cross_checks and report.evidence.items  # the Word tables above are not empty
