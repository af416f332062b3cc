"""Figures as Chinese applicants write them (DOMAIN.md, Art. 4): money in yuan, area in km², counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.numbers import Quantity, find_quantities, parse_area, parse_count, parse_money, parse_number

YI, WAN = 100_000_000, 10_000
MU_KM2 = 1 / 1500  # 1 亩 = 1/15 公顷

Parser = Callable[..., Quantity | None]


def check(q: Quantity | None, value: float, unit: str, text: str, approximate: bool = False) -> None:
    assert q is not None
    assert q.value == pytest.approx(value, rel=1e-9)
    assert (q.unit, q.text, q.approximate) == (unit, text, approximate)


# --------------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "value", "approximate"),
    [
        ("41.2亿元", "", 41.2 * YI, False),
        ("412000万元", "", 412000 * WAN, False),
        ("4,120,000万元", "", 4_120_000 * WAN, False),
        ("4，120，000万元", "", 4_120_000 * WAN, False),  # full-width commas
        ("四十一亿元", "", 41 * YI, False),
        ("四十一点二亿元", "", 41.2 * YI, False),
        ("一百亿元", "", 100 * YI, False),
        ("1.2万亿元", "", 1.2e12, False),
        ("41.2 亿元", "", 41.2 * YI, False),
        ("41.2亿", "", 41.2 * YI, False),
        ("412.6", "年营业收入（亿元）", 412.6 * YI, False),
        ("96800", "营业收入(万元)", 96800 * WAN, False),
        ("412.6", "年营业收入（亿\n元）", 412.6 * YI, False),  # the label wraps inside its cell
        ("412.6", "年营业收入（亿）", 412.6 * YI, False),
        ("412.6", "单位：亿元", 412.6 * YI, False),
        ("900,000", "年营业收入（万元）", 90 * YI, False),
        ("8500000000元", "", 8.5e9, False),
        ("85亿元人民币", "", 85 * YI, False),
        ("人民币85亿元", "", 85 * YI, False),
        ("￥８５亿元", "", 85 * YI, False),
        ("４１．２亿元", "", 41.2 * YI, False),  # full-width digits and point
        ("0.5亿元", "", 0.5 * YI, False),
        ("零点五亿元", "", 0.5 * YI, False),
        ("5千万元", "", 5e7, False),
        ("两千三百万元", "", 2.3e7, False),
        ("壹佰亿元", "", 100 * YI, False),  # financial numerals
        ("約100億元", "", 100 * YI, True),  # traditional characters
        ("约100亿", "", 100 * YI, True),
        ("约 100 亿元", "", 100 * YI, True),
        ("超过400亿元", "", 400 * YI, True),
        ("400亿元以上", "", 400 * YI, True),
        ("400余亿元", "", 400 * YI, True),
        ("400多亿元", "", 400 * YI, True),
        ("近400亿元", "", 400 * YI, True),
        ("逾400亿元", "", 400 * YI, True),
        ("400亿元左右", "", 400 * YI, True),
        ("四百多亿元", "", 400 * YI, True),
        ("四百餘億元", "", 400 * YI, True),
        ("约412.6", "年营业收入（亿元）", 412.6 * YI, True),
        ("1.234567元", "", 1.23, False),  # rounded to the fen
    ],
)
def test_parse_money(text: str, label: str, value: float, approximate: bool) -> None:
    check(parse_money(text, label), value, "yuan", text.strip(), approximate)


def test_equal_amounts_are_equal_floats() -> None:
    """Decimal arithmetic, one rounding: the same amount written three ways is the same float."""
    values = {parse_money(t).value for t in ("41.2亿元", "412000万元", "4120000000元", "四十一点二亿元")}  # type: ignore[union-attr]
    assert values == {4.12e9}
    assert parse_money("4,120,000万元").value == 4.12e10  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "label", "value"),
    [
        ("41.2亿元", "年营业收入（万元）", 41.2 * YI),  # the value's unit wins
        ("8500000000元", "年营业收入（亿元）", 8.5e9),
        ("4.12万", "营业收入（万元）", 41200),  # the value's multiplier replaces the label's
        ("四十一亿", "营业收入（万元）", 41 * YI),  # a numeral ending in 亿 carries its own scale
        ("一万二千", "营业收入（万元）", 12000 * WAN),  # … one ending in 千 does not
    ],
)
def test_unit_in_value_wins_over_label(text: str, label: str, value: float) -> None:
    check(parse_money(text, label), value, "yuan", text)


def test_numbers_from_a_spreadsheet_cell() -> None:
    check(parse_money(412.6, "年营业收入（亿元）"), 412.6 * YI, "yuan", "412.6")
    check(parse_count(182), 182, "count", "182")
    assert parse_money(float("nan"), "（亿元）") is None
    assert parse_money(True, "（亿元）") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value", "shown"),
    [
        ("412.6亿元（2023年）", 412.6 * YI, "412.6亿元"),
        ("2023年营业收入412.6亿元", 412.6 * YI, "412.6亿元"),
        ("412.6亿元（2022年为380亿元）", 412.6 * YI, "412.6亿元"),  # the figure outside brackets
    ],
)
def test_money_with_words_around_one_figure(text: str, value: float, shown: str) -> None:
    check(parse_money(text), value, "yuan", shown)


@pytest.mark.parametrize(
    "text",
    [
        "412.6",  # no unit anywhere: 元? 万元? 亿元? not guessed
        "100万美元",  # another currency
        "2000元/吨",  # a rate
        "10亿级",
        "2023年营业收入412.6亿元，2022年380亿元",  # two figures, neither in brackets
        "-5亿元",
        "−5亿元",
        "3.5%",
        "３.５％",
        "9" * 400 + "亿元",
    ],
)
def test_money_not_read(text: str) -> None:
    assert parse_money(text) is None


# --------------------------------------------------------------------------------------------------
# Area
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "value"),
    [
        ("36.5平方公里", "", 36.5),
        ("36.5km²", "", 36.5),
        ("36.5 km2", "", 36.5),
        ("36.5KM²", "", 36.5),
        ("36.5㎢", "", 36.5),
        ("36.5k㎡", "", 36.5),
        ("36.5平方千米", "", 36.5),
        ("36500000平方米", "", 36.5),
        ("3.2万平方米", "", 0.032),
        ("3650公顷", "", 36.5),
        ("3650hm²", "", 36.5),
        ("5.5万亩", "", 55_000 * MU_KM2),
        ("12800亩", "", 12_800 * MU_KM2),
        ("三十六点五平方公里", "", 36.5),
        ("36.5", "集群区域面积（平方公里）", 36.5),
        ("３６．５", "集群区域面积（\n平方公里）", 36.5),
        ("36.5", "面积(km²)", 36.5),
        ("3650", "面积（公顷）", 36.5),
        ("5.5", "面积（万亩）", 55_000 * MU_KM2),
        ("5.5万", "面积（亩）", 55_000 * MU_KM2),  # the value's 万, the label's 亩
        ("5.5万", "面积（万亩）", 55_000 * MU_KM2),  # … not 万 × 万亩
        ("36.5平方公里", "面积（亩）", 36.5),
    ],
)
def test_parse_area(text: str, label: str, value: float) -> None:
    check(parse_area(text, label), value, "km2", text)


def test_approximate_area() -> None:
    check(parse_area("约36.5平方公里"), 36.5, "km2", "约36.5平方公里", approximate=True)


@pytest.mark.parametrize(("text", "label"), [("36.5", ""), ("36.5", "集群区域面积"), ("5.5万", ""), ("36.5米", "")])
def test_area_without_a_unit_is_not_guessed(text: str, label: str) -> None:
    assert parse_area(text, label) is None


# --------------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "value", "approximate"),
    [
        ("180户", "", 180, False),
        ("180家", "", 180, False),
        ("1.2万家", "", 12_000, False),
        ("一百八十户", "", 180, False),
        ("182", "企业数量（户）", 182, False),
        ("182", "企业户数", 182, False),
        ("182", "", 182, False),  # a count needs no unit
        ("１８２", "", 182, False),
        ("3.6万人", "", 36_000, False),
        ("36000人", "", 36_000, False),
        ("3.6", "从业人员（万人）", 36_000, False),
        ("3.6万", "从业人员（万人）", 36_000, False),
        ("两百家", "", 200, False),
        ("一万二千户", "", 12_000, False),
        ("526项", "", 526, False),
        ("130余家", "", 130, True),
        ("130多家", "", 130, True),
        ("180家以上", "", 180, True),
        ("近两百家", "", 200, True),
        ("十余家", "", 10, True),
        ("百余家", "", 100, True),
        ("二十多个", "", 20, True),
        ("180户（其中规上企业60户）", "", 180, False),  # the headline, not the remark in brackets
    ],
)
def test_parse_count(text: str, label: str, value: float, approximate: bool) -> None:
    shown = "180户" if text.startswith("180户（") else text
    check(parse_count(text, label), value, "count", shown, approximate)


@pytest.mark.parametrize("text", ["180.5户", "1.5", "2023年", "第3家", "5个百分点", "3.5%", "180+", "百家", "6个月"])
def test_count_not_read(text: str) -> None:
    assert parse_count(text) is None


# --------------------------------------------------------------------------------------------------
# Bad input and ranges: None, never an exception
# --------------------------------------------------------------------------------------------------

BAD = [
    "100+",
    "—",
    "－",
    "/",
    "",
    "  ",
    "\u3000",
    "无",
    "不详",
    "见附件",
    "约",
    "亿元",
    "万元",
    "abc",
    "1.2.3亿元",
    "--",
    "None",
    "none",
    "null",
    "nan",
    "NaN",
    "inf",
    "N/A",
    "2023.10.09",
    "2023-10-09",
    "二〇二三",
    "1,2亿元",
    "12,35亿元",
]


@pytest.mark.parametrize("parse", [parse_money, parse_area, parse_count])
@pytest.mark.parametrize("text", [*BAD, None])
def test_bad_input_is_none(parse: Parser, text: str | None) -> None:
    assert parse(text) is None


@pytest.mark.parametrize("parse", [parse_money, parse_area, parse_count])
@pytest.mark.parametrize("text", BAD)
def test_bad_input_is_none_under_a_unit_label(parse: Parser, text: str) -> None:
    assert (
        parse(text, "（亿元）" if parse is parse_money else "（平方公里）" if parse is parse_area else "（户）") is None
    )


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_money, "100-120亿元"),
        (parse_money, "100~120亿元"),
        (parse_money, "100～120亿元"),
        (parse_money, "100—120亿元"),
        (parse_money, "100至120亿元"),
        (parse_money, "100亿元-120亿元"),
        (parse_money, "约100-120亿元"),
        (parse_area, "30-40平方公里"),
        (parse_count, "100-120家"),
        (parse_count, "三五家"),
    ],
)
def test_ranges_are_none(parse: Parser, text: str) -> None:
    # Which end matters depends on the condition (area ≤ 100 wants the upper, revenue ≥ 100亿 the lower).
    assert parse(text) is None


def test_pathological_cells_stay_fast() -> None:
    assert parse_money("1" + " " * 100_000 + "x") is None
    assert parse_count("1" * 10_000) is None  # too large for a float: None, not inf or an exception
    assert len(find_quantities("集群内共有企业182户，实现营业收入412.6亿元。" * 2000, "money")) == 2000


# --------------------------------------------------------------------------------------------------
# Running text
# --------------------------------------------------------------------------------------------------


def test_find_money_in_order() -> None:
    found = find_quantities("2023年，集群内共有企业182户，实现营业收入412.6亿元，利税21.3亿元", "money")
    assert [q.text for q in found] == ["412.6亿元", "21.3亿元"]
    assert [q.value for q in found] == [pytest.approx(412.6 * YI, rel=1e-9), pytest.approx(21.3 * YI, rel=1e-9)]
    assert all(q.unit == "yuan" and not q.approximate for q in found)


def test_find_counts_and_areas() -> None:
    text = "截至2023年底，集群规划面积36.5平方公里（3650公顷），共有企业182户，从业人员3.6万人，专利526项。"
    assert [(q.value, q.text) for q in find_quantities(text, "count")] == [
        (182, "182户"),
        (36_000, "3.6万人"),
        (526, "526项"),
    ]
    assert [(q.value, q.text) for q in find_quantities(text, "area")] == [(36.5, "36.5平方公里"), (36.5, "3650公顷")]
    assert find_quantities(text, "money") == []


def test_find_keeps_original_text_and_approximations() -> None:
    text = "集群年营业收入超过４００亿元，企业１８０余户，稳定在400亿元以上。"
    money = find_quantities(text, "money")
    assert [(q.text, q.approximate) for q in money] == [("超过４００亿元", True), ("400亿元以上", True)]
    assert [(q.text, q.value, q.approximate) for q in find_quantities(text, "count")] == [("１８０余户", 180, True)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2023年、2024年、二〇二五年", "count"),
        ("2020年10月9日至2025年10月8日", "count"),
        ("营业收入增长3.5%，占比提高2个百分点，用时6个月", "count"),
        ("营业收入增长3.5%，占全省的12.5%", "money"),
        ("打造千亿级产业集群，培育百亿级企业、十亿级企业", "money"),
        ("年产铝型材1.2万吨，出口1.2亿美元", "money"),
        ("投资强度300万元/亩，价格2000元/吨", "money"),
        ("元器件2023元旦", "money"),
        ("建设一个平台，培育一家龙头企业", "count"),
        ("数十家、几十家、上百家、十几家企业，千家万户，百家争鸣", "count"),
        ("第一家，第3家，排名第10名", "count"),
        ("预计营业收入100-120亿元", "money"),
        ("企业数量100～120家", "count"),
        ("G20 峰会，PM2.5", "count"),
    ],
)
def test_find_ignores_what_is_no_figure(text: str, kind: str) -> None:
    assert find_quantities(text, kind) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("营业收入400亿，利税30亿。", [400 * YI, 30 * YI]),  # 元 dropped after 亿
        ("由100亿元增至120亿元", [100 * YI, 120 * YI]),  # a change, not a range
        ("产值100亿元/年", [100 * YI]),  # per year is still an amount
        ("节约100万元", [100 * WAN]),
        ("RMB 100亿元，CNY5亿元", [100 * YI, 5 * YI]),
    ],
)
def test_find_money_cases(text: str, values: list[float]) -> None:
    assert [q.value for q in find_quantities(text, "money")] == [pytest.approx(v, rel=1e-9) for v in values]


def test_saving_is_not_approximate() -> None:
    assert [q.approximate for q in find_quantities("节约100万元，约100万元", "money")] == [False, True]


def test_find_rejects_unknown_kind_and_non_text() -> None:
    with pytest.raises(ValueError):
        find_quantities("100亿元", "weight")  # type: ignore[arg-type]
    assert find_quantities(None, "money") == []  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Bare numbers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("41.2", 41.2),
        ("４１．２", 41.2),
        ("4,120,000", 4_120_000),
        ("4，120，000", 4_120_000),
        ("0", 0),
        ("1.2万", 12_000),
        ("1.2万亿", 1.2e12),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("一百零五", 105),
        ("一千零五十", 1050),
        ("两千三百", 2300),
        ("一万二千", 12_000),
        ("一万零五百", 10_500),
        ("四十一点二", 41.2),
        ("三点零五", 3.05),
        ("零点五", 0.5),
        ("一百八", 180),  # colloquial: 一百八十
        ("一万二", 12_000),
        ("三亿五", 3.5e8),
        ("一亿二千万", 1.2e8),
        ("十万八千", 108_000),
        ("十二万亿", 1.2e13),
        ("壹仟贰佰", 1200),
        ("兩百", 200),
        (" 182 ", 182),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-5",
        "+5",
        "约100",
        "100元",
        "1.2.3",
        "1,2",
        "二〇二三",
        "一一",
        "一零",
        "百",
        "万",
        "十百",
        "一十百",
        "点五",
        "四十一点",
        "abc",
        "nan",
        "1e5",
        None,
    ],
)
def test_parse_number_rejects(text: str | None) -> None:
    assert parse_number(text) is None
