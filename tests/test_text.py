"""Word's 字 count and the title helpers (CONTRACT.md examples first)."""

from __future__ import annotations

import pytest

from core.text import (
    count_chars_no_spaces,
    count_words,
    is_page_number,
    normalize,
    numbering_level,
    serial_number,
    strip_numbering,
    toc_entry,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("东京2024奥运会", 6),
        ("Hello、World。", 4),
        ("１２３４５", 5),
        ("", 0),
        ("   \n\t ", 0),
        ("增长3.5%，达到41.2亿元。", 10),  # 增长 3.5% ， 达到 41.2 亿元 。
        ("“中国铝业之都”", 8),
        ("ERP 和 MES 系统", 5),
        ("一、历史沿革", 6),
        ("（一）发展现状", 7),
    ],
)
def test_count_words_follows_word(text: str, words: int) -> None:
    assert count_words(text) == words


def test_chars_no_spaces_counts_every_visible_character() -> None:
    assert count_chars_no_spaces("东京 2024 奥运会") == 9
    assert count_chars_no_spaces("Hello、World。") == 12
    assert count_chars_no_spaces(" \u3000\n") == 0


def test_line_breaks_do_not_change_the_count() -> None:
    text = "临朐县铝型材产业始于上世纪八十年代，" * 20
    wrapped = "\n".join(text[i : i + 37] for i in range(0, len(text), 37))
    assert count_words(wrapped) == count_words(text) == 18 * 20


@pytest.mark.parametrize(
    ("title", "level", "stripped"),
    [
        ("附件1 申请表", 1, "申请表"),
        ("第二部分 发展规划", 1, "发展规划"),
        ("二、特色产业集群发展情况简介", 2, "特色产业集群发展情况简介"),
        ("（三）保障措施", 3, "保障措施"),
        ("3. 企业名单", 4, "企业名单"),
        ("(2)检测平台", 5, "检测平台"),
        ("发展规划", None, "发展规划"),
        ("2024年工作总结", None, "2024年工作总结"),
    ],
)
def test_numbering(title: str, level: int | None, stripped: str) -> None:
    assert numbering_level(title) == level
    assert strip_numbering(title) == stripped


@pytest.mark.parametrize("line", ["3", "- 3 -", "— 12 —", "第 3 页", "第3页 共12页", "3/12"])
def test_page_numbers(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.parametrize("line", ["2024年", "一、申请表", "180户", "第三条"])
def test_not_page_numbers(line: str) -> None:
    assert not is_page_number(line)


def test_normalize_folds_width_and_spacing() -> None:
    assert normalize("目  录") == "目录"
    assert normalize("规划（２０２４—２０２８年）") == "规划(20242028年)"


def test_a_toc_line_whose_title_fills_it_keeps_one_leader_dot() -> None:
    assert toc_entry("品、驰（著）名商标或产业荣誉称号、媒体宣传报道等材料.15") == (
        "品、驰（著）名商标或产业荣誉称号、媒体宣传报道等材料",
        15,
        True,
    )
    assert toc_entry("增长了3.15") is None


@pytest.mark.parametrize(
    ("title", "number"),
    [
        ("三、发展规划", 3),
        ("附件12", 12),
        ("（十一）平台", 11),
        ("二十三、x", 23),
        ("1. 概况", 1),
        ("第二部分", 2),
        ("概况", None),
    ],
)
def test_serial_number(title: str, number: int | None) -> None:
    assert serial_number(title) == number
