"""Sections and identification on small generated files: the rules one at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors import read_file
from fixtures.model import Block, ItemDoc
from fixtures.writers import DocxStyle, docx_bytes, pdf_bytes
from pipeline.engine import check_dossier
from pipeline.ruleset import Ruleset
from pipeline.sections import split_sections
from tests.conftest import present, write

INTRO_BODY = [
    Block("h2", "一、历史沿革"),
    Block("p", "临朐县铝型材产业起步于上世纪八十年代，经过四十年发展，形成了完整的产业链，龙头企业带动作用明显。" * 3),
    Block("h2", "五、公共服务平台"),
    Block("p", "集群建有检验检测中心和省级企业技术中心，为企业提供检测、研发、培训服务。" * 3),
    Block("h2", "六、信息化建设情况"),
    Block("p", "本集群已编制发展规划，信息化智能化建设稳步推进，申报材料真实性声明另附。" * 3),
]


@pytest.mark.parametrize("headings", ["styles", "bold"])
def test_sub_sections_that_name_items_stay_inside_the_introduction(
    tmp_path: Path, ruleset: Ruleset, headings: str
) -> None:
    intro = ItemDoc("introduction", "特色产业集群发展情况简介", INTRO_BODY)
    path = write(tmp_path / "a.docx", docx_bytes([intro], DocxStyle(headings=headings)))  # type: ignore[arg-type]
    doc = read_file(path, "a.docx", "-", 0)
    sections = split_sections(doc, ruleset)
    assert len(sections) == 1
    assert sections[0].title == "特色产业集群发展情况简介"
    assert "六、信息化建设情况" in sections[0].body_text


def test_mentions_do_not_make_items_present(tmp_path: Path, ruleset: Ruleset) -> None:
    intro = ItemDoc("introduction", "特色产业集群发展情况简介", INTRO_BODY)
    write(tmp_path / "d" / "简介.docx", docx_bytes([intro]))
    report = check_dossier(tmp_path / "d", ruleset).as_dict()
    found = present(report)
    assert found["introduction"]
    assert not found["development_plan"]
    assert not found["informatization"]
    assert not found["innovation_platforms"]
    assert not found["authenticity_declaration"]


def test_pdf_titles_found_by_size_with_a_meaningless_name(tmp_path: Path, ruleset: Ruleset) -> None:
    plan = ItemDoc(
        "development_plan",
        "临朐县铝型材加工产业集群发展规划（2024—2028年）",
        [
            Block("h2", "一、指导思想"),
            Block("p", "坚持创新驱动，着力培育龙头企业，打造铝型材产业高地，到2028年实现发展目标。" * 4),
        ],
    )
    declaration = ItemDoc(
        "authenticity_declaration",
        "申报材料真实性声明",
        [
            Block("p", "本单位郑重声明：所报材料真实、准确、完整，如有不实，愿承担相应责任。"),
            Block("line", "申报单位（盖章）"),
        ],
    )
    result = pdf_bytes([plan, declaration])
    write(tmp_path / "d" / "扫描件001.pdf", result.data)
    report = check_dossier(tmp_path / "d", ruleset).as_dict()
    items = {i["id"]: i for i in report["items"]}
    assert items["development_plan"]["present"] and items["authenticity_declaration"]["present"]
    assert items["development_plan"]["locations"] == [
        {"file": "扫描件001.pdf", "pages": list(result.item_pages["development_plan"])}
    ]
    assert items["authenticity_declaration"]["locations"][0]["pages"] == list(
        result.item_pages["authenticity_declaration"]
    )


def test_title_only_file_is_empty(tmp_path: Path, ruleset: Ruleset) -> None:
    write(tmp_path / "d" / "3.发展规划.docx", docx_bytes([ItemDoc("development_plan", "特色产业集群发展规划", [])]))
    report = check_dossier(tmp_path / "d", ruleset).as_dict()
    codes = {(f["code"], f["item"]) for f in report["findings"]}
    assert ("ITEM_EMPTY", "development_plan") in codes
    assert report["verdict"] == "incomplete"


def test_content_without_a_title_is_low_confidence(tmp_path: Path, ruleset: Ruleset) -> None:
    body = [
        Block(
            "p", "集群依托云计算平台和工业互联网，建设数据中心，提升计算能力和存储能力，推进企业上云和大数据应用。" * 3
        )
    ]
    write(tmp_path / "d" / "材料3.docx", docx_bytes([ItemDoc("informatization", "", body)]))
    report = check_dossier(tmp_path / "d", ruleset).as_dict()
    item = next(i for i in report["items"] if i["id"] == "informatization")
    assert item["present"], "content alone, dense enough, identifies the item"
    assert ruleset.identification.present_threshold <= item["confidence"] < ruleset.identification.low_confidence
    assert [f["code"] for f in item["findings"]] == ["LOW_CONFIDENCE"]


def test_word_count_excludes_the_title_and_page_numbers(tmp_path: Path, ruleset: Ruleset) -> None:
    body = [Block("p", "临朐县铝型材产业起步于上世纪八十年代。" * 100)]  # 19 字 × 100
    result = pdf_bytes([ItemDoc("introduction", "特色产业集群发展情况简介", body)], footer="dash")
    write(tmp_path / "d" / "简介.pdf", result.data)
    intro = check_dossier(tmp_path / "d", ruleset).as_dict()["items"][1]
    assert intro["metrics"]["word_count"] == 1900
