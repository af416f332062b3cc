"""Rulesets as validated data (pipeline/ruleset.py): the bundled file loads as before, a wrong one is a
RulesetError naming file, line and key; a ruleset brings its own evidence patterns, field kinds and labels,
and knows when it is in force. Every ruleset here is a real YAML file, the bundled one edited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.model import Block, Document, Section
from fixtures.model import ITEM_IDS
from pipeline.evidence import EvidenceFinder, inventory
from pipeline.figures import conditions, cross_check
from pipeline.identify import Candidate, add_evidence, score_section
from pipeline.ruleset import DEFAULT_EVIDENCE, DEFAULT_RULESET, RULESET_DIR, Ruleset, RulesetError, load_ruleset
from pipeline.words import Segmenter

BUNDLED = RULESET_DIR / f"{DEFAULT_RULESET}.yaml"
BUNDLED_TEXT = BUNDLED.read_text(encoding="utf-8")
EVIDENCE_TEXT = DEFAULT_EVIDENCE.read_text(encoding="utf-8")


def _edited(tmp_path: Path, *edits: tuple[str, str], name: str = "rules.yaml", text: str = BUNDLED_TEXT) -> Path:
    """The bundled ruleset (or `text`) with each `old` replaced by `new` (each must occur once), in tmp_path."""
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(path: Path, fragment: str) -> int:
    """The last line holding `fragment` (a duplicate is reported where it is written the second time)."""
    return max(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line)


def _error(path: Path) -> RulesetError:
    with pytest.raises(RulesetError) as caught:
        load_ruleset(str(path))
    return caught.value


def test_bundled_ruleset_loads_as_before() -> None:
    ruleset = load_ruleset()
    assert isinstance(ruleset, Ruleset) and ruleset.id == "shandong-2020"
    assert [r.id for r in ruleset.items] == list(ITEM_IDS)  # CONTRACT.md's item ids, in Art. 6's order
    assert [r.id for r in ruleset.items if not r.required] == ["other_materials"]
    assert ruleset.item("introduction").limit_words == 3000
    assert [r.id for r in ruleset.items if r.needs_seal] == ["authenticity_declaration"]
    assert ruleset.item("other_materials").generic
    assert ruleset.form_item == "application_form"
    kinds = {f.id: f.kind for f in ruleset.form_fields}
    assert kinds == {
        "cluster_name": "text",
        "applicant": "text",
        "region": "region",
        "leading_industry": "text",
        "area_km2": "area",
        "enterprise_count": "count",
        "annual_revenue_cny": "money",
    }
    assert ruleset.required_fields == tuple(kinds)
    assert [(c.id, c.field, c.op, c.threshold, c.unit) for c in ruleset.conditions] == [
        ("area_max", "area_km2", "<=", 100.0, "km2"),
        ("enterprise_min", "enterprise_count", ">=", 100.0, "户"),
        ("revenue_min", "annual_revenue_cny", ">=", 1e10, "元"),
    ]
    assert [s.field for s in ruleset.cross_checks.statements] == ["enterprise_count", "annual_revenue_cny"]
    assert [n.field for n in ruleset.cross_checks.names] == ["applicant", "cluster_name"]
    assert (ruleset.identification.present_threshold, ruleset.seals.min_score) == (0.45, 0.5)
    assert ruleset.valid_from == dt.date(2020, 10, 9) and ruleset.valid_until == dt.date(2025, 10, 8)
    assert ruleset.issued_by == "山东省工业和信息化厅" and ruleset.recognition_years == 5
    assert "临朐县" in ruleset.places and ruleset.place_names is not None
    assert ruleset.evidence_patterns == DEFAULT_EVIDENCE
    # the labels the report used to keep for itself
    assert {f.id: ruleset.field_label(f.id) for f in ruleset.form_fields} == {
        "cluster_name": "集群名称",
        "applicant": "申报单位",
        "region": "所在地区",
        "leading_industry": "主导产业",
        "area_km2": "集群区域面积",
        "enterprise_count": "企业数量",
        "annual_revenue_cny": "年营业收入",
    }
    assert [it.id for it in ruleset.items_titled("二、特色产业集群发展情况简介")] == ["introduction"]
    assert load_ruleset() is not ruleset and hash(ruleset) != hash(load_ruleset())  # compared by identity


def test_misspelt_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("    limit_words: 3000\n", "    limit_wrods: 3000\n"))
    error = _error(path)
    line = _line_of(path, "limit_wrods")
    message = str(error)
    assert str(path) in message and f"第 {line} 行" in message and "items[1].limit_wrods" in message
    assert "limit_words" in message  # the key it was meant to be
    assert (error.file, error.line, error.key) == (str(path), line, "items[1].limit_wrods")


def test_misspelt_key_of_a_form_field(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("      exclude: [规上, 规模以上,", "      exlude: [规上, 规模以上,"))
    error = _error(path)
    assert error.line == _line_of(path, "exlude:") and error.key == "form.fields.enterprise_count.exlude"


def test_wrong_type(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("    threshold: 100\n    unit: 户\n", "    threshold: 一百\n    unit: 户\n"))
    error = _error(path)
    assert error.line == _line_of(path, "threshold: 一百") and error.key == "conditions[1].threshold"
    assert "数字" in str(error) and "一百" in str(error)


def test_bad_regular_expression(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("      - 申报书$\n", "      - 申报书(\n"))
    error = _error(path)
    assert error.line == _line_of(path, "- 申报书(") and error.key == "items[0].titles[3]"
    assert "正则表达式" in str(error)


def test_unknown_field_in_required(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("  required: [cluster_name, applicant,", "  required: [cluster_nme, applicant,"))
    error = _error(path)
    assert error.line == _line_of(path, "required: [cluster_nme") and error.key == "form.required[0]"
    assert "cluster_nme" in str(error) and str(path) in str(error)


@pytest.mark.parametrize(
    ("old", "new", "at", "key"),
    [
        ("  - id: development_plan\n", "  - id: introduction\n", "- id: introduction", "items[2].id"),
        ('    op: "<="\n', '    op: "<"\n', 'op: "<"', "conditions[0].op"),
        ("    field: area_km2\n", "    field: area\n", "    field: area", "conditions[0].field"),
        ("    field: area_km2\n", "    field: region\n", "field: region", "conditions[0].field"),  # not a figure
        ("      items: [development_plan, authenticity", "      items: [plan, authenticity", "items: [plan", None),
        (
            "    enterprise_count:\n      items: [introduction]",
            "    enterprises:\n      items: [introduction]",
            "enterprises:",
            "cross_checks.statements.enterprises",
        ),
        ("  item: application_form", "  item: form", "item: form", "form.item"),
        ("      kind: count\n", "      kind: number\n", "kind: number", "form.fields.enterprise_count.kind"),
        (
            "required: true\n    needs_seal: false\n    limit_words",
            "required: maybe\n    needs_seal: false\n    limit_words",
            "required: maybe",
            "items[1].required",
        ),
        ("valid_until: 2025-10-08", "valid_until: 2019-10-08", "valid_until:", "valid_until"),
        ("evidence: evidence-shandong.yaml", "evidence: nowhere.yaml", "evidence: nowhere", "evidence"),
        ("recognition_years: 5", "recognition_years: 5\nrecognition_years: 6", "recognition_years: 6", None),
    ],
)
def test_each_inconsistency_is_located(tmp_path: Path, old: str, new: str, at: str | None, key: str | None) -> None:
    path = _edited(tmp_path, (old, new))
    error = _error(path)
    assert str(path) in str(error)
    if at is not None:
        assert error.line == _line_of(path, at), str(error)
    if key is not None:
        assert error.key == key, str(error)


def test_ruleset_without_evidence_key_gets_the_bundled_patterns(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("evidence: evidence-shandong.yaml\n", ""))
    assert load_ruleset(str(path)).evidence_patterns == DEFAULT_EVIDENCE
    # a copy of the bundled ruleset edited elsewhere: the bundled file it names, none being beside it
    assert load_ruleset(str(_edited(tmp_path, name="copy.yaml"))).evidence_patterns == DEFAULT_EVIDENCE


def test_ruleset_brings_its_own_evidence_patterns(tmp_path: Path) -> None:
    honour = "      - {name: 中国驰名商标, phrases: [中国驰名商标, 驰名商标]}\n"
    own = _edited(
        tmp_path,
        (honour, honour + "      - {name: 好品山东, phrases: [好品山东]}\n"),
        name="mine.yaml",
        text=EVIDENCE_TEXT,
    )
    ruleset = load_ruleset(str(_edited(tmp_path, ("evidence: evidence-shandong.yaml", "evidence: mine.yaml"))))
    assert ruleset.evidence_patterns == own.resolve()
    blocks = [("集群内12家企业产品入选好品山东品牌名单。", "4.品牌.docx", 2)]
    found = inventory(blocks, EvidenceFinder(ruleset.evidence_rules))
    assert [(ev.label, ev.normalized) for ev in found if ev.label == "HONOUR"] == [("HONOUR", "好品山东")]
    assert not [ev for ev in inventory(blocks, EvidenceFinder(load_ruleset().evidence_rules)) if ev.label == "HONOUR"]


def test_identification_weighs_evidence_by_the_rulesets_pattern_file(tmp_path: Path) -> None:
    # A pattern file whose `scores` count platforms for brand_evidence and honours and media for innovation.
    swapped = (
        ("  brand_evidence:\n    labels: [HONOUR, MEDIA]", "  brand_evidence:\n    labels: [PLATFORM]"),
        ("  innovation_platforms:\n    labels: [PLATFORM]", "  innovation_platforms:\n    labels: [HONOUR, MEDIA]"),
    )
    _edited(tmp_path, *swapped, name="mine.yaml", text=EVIDENCE_TEXT)
    supported: dict[str, set[str]] = {}
    for evidence in ("evidence-shandong.yaml", "mine.yaml"):
        ruleset = load_ruleset(str(_edited(tmp_path, ("evidence: evidence-shandong.yaml", f"evidence: {evidence}"))))
        text = "建有企业技术中心8家。"  # too short for cue words: evidence alone
        section = Section(Document(path="5.平台.docx", sha256="0", format="docx"), "材料", "heading", [Block(text)])
        candidate = score_section(section, ruleset, Segmenter(()))
        found = inventory([(text, "5.平台.docx", None)], EvidenceFinder(ruleset.evidence_rules))
        add_evidence(candidate, found, ruleset.evidence_weights)
        supported[evidence] = {
            item for item, why in candidate.evidence.items() if any("证明材料清单" in w for w in why)
        }
    assert supported == {"evidence-shandong.yaml": {"innovation_platforms"}, "mine.yaml": {"brand_evidence"}}


def test_evidence_file_is_validated_too(tmp_path: Path) -> None:
    _edited(
        tmp_path,
        ("  skip_before: [以上, 及以上, 重点]", "  skip_befor: [以上, 及以上, 重点]"),
        name="mine.yaml",
        text=EVIDENCE_TEXT,
    )
    path = _edited(tmp_path, ("evidence: evidence-shandong.yaml", "evidence: mine.yaml"))
    error = _error(path)
    evidence = tmp_path / "mine.yaml"
    assert (
        error.file == str(evidence)
        and error.line == _line_of(evidence, "skip_befor")
        and error.key == "levels.skip_befor"
    )
    assert "skip_before" in str(error)


def test_evidence_scores_must_name_the_rulesets_items(tmp_path: Path) -> None:
    _edited(
        tmp_path,
        ("  innovation_platforms:\n    labels: [PLATFORM]", "  platforms:\n    labels: [PLATFORM]"),
        name="mine.yaml",
        text=EVIDENCE_TEXT,
    )
    error = _error(_edited(tmp_path, ("evidence: evidence-shandong.yaml", "evidence: mine.yaml")))
    assert error.key == "scores.platforms" and error.line == _line_of(tmp_path / "mine.yaml", "  platforms:")


# A form field the code has never heard of: read as a count, stated in the introduction, with a threshold.
PATENTS = (
    (
        "  fields:\n",
        "  fields:\n    patent_count:\n      kind: count\n      unit: 件\n      label: 有效专利数量\n      labels: [有效专利数, 专利数量]\n",
    ),
    (
        "  statements:\n",
        "  statements:\n    patent_count:\n      items: [introduction]\n      cues: [专利]\n      units: [件, 项]\n",
    ),
    (
        "conditions:\n",
        'conditions:\n  - id: patent_min\n    article: 第四条（四）\n    field: patent_count\n    op: ">="\n'
        "    threshold: 500\n    unit: 件\n    title: 有效专利500件以上\n",
    ),
)


def test_new_count_field_goes_through_figures(tmp_path: Path) -> None:
    ruleset = load_ruleset(str(_edited(tmp_path, *PATENTS)))
    assert ruleset.form_field("patent_count").kind == "count" and ruleset.field_label("patent_count") == "有效专利数量"
    doc = Document(path="2.发展情况简介.docx", sha256="0", format="docx")
    text = "集群企业累计拥有有效专利1200件，其中发明专利86件。"
    section = Section(doc, "特色产业集群发展情况简介", "heading", [Block(text)])
    fields = {"patent_count": 300, "enterprise_count": 180}
    findings, compared = cross_check(fields, "1.申请表.docx", {"introduction": [Candidate(section)]}, ruleset)
    assert [(c["field"], c["value"], c["agrees"]) for c in compared] == [("patent_count", 1200.0, False)]
    assert [f.code for f in findings] == ["INCONSISTENT_VALUE"] and "300 件" in findings[0].message
    results, failed = conditions(fields, ruleset, None)
    assert [r["status"] for r in results if r["id"] == "patent_min"] == ["fail"]
    assert [f.field for f in failed] == ["patent_min"] and "300 件" in failed[0].message


def test_in_force_and_validity_note() -> None:
    ruleset = load_ruleset()
    day = dt.timedelta(days=1)
    start, end = dt.date(2020, 10, 9), dt.date(2025, 10, 8)
    for on in (start, start + day, end - day, end, dt.datetime(2025, 10, 8, 23, 59)):
        assert ruleset.in_force(on) and ruleset.validity_note(on) is None, on
    assert not ruleset.in_force(end + day)
    assert ruleset.validity_note(end + day) == "依据文件已于2025年10月8日到期，请确认本轮适用的办法"
    assert ruleset.validity_note(dt.date(2026, 11, 29)) == ruleset.validity_note(end + day)
    assert not ruleset.in_force(start - day)
    assert (
        ruleset.validity_note(start - day)
        == "依据文件自2020年10月9日起施行，检查日期早于施行日期，请确认本轮适用的办法"
    )


def test_no_dates_always_in_force(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        ("valid_from: 2020-10-09 # Art. 16\n", ""),
        ("valid_until: 2025-10-08 # Art. 16; later notices still cite it\n", ""),
    )
    ruleset = load_ruleset(str(path))
    assert ruleset.in_force(dt.date(1990, 1, 1)) and ruleset.validity_note(dt.date(2099, 1, 1)) is None


@pytest.mark.parametrize(
    ("old", "new", "at", "said"),
    [
        ("vocabulary: [$places]", "vocabulary: [$placs]", "vocabulary: [$placs]", "placs"),
        (
            "  - {tag: STOP, pos: ADP, words: $stop_words}",
            "  - {tag: STOP, pos: ADP, words: $stop_words, suffixes: [局]}",
            "tag: STOP",
            "恰有",
        ),
        (
            "{name: 山东省著名商标, phrases: [山东省著名商标, 山东著名商标, 著名商标]}",
            "{name: 山东省著名商标, phrases: [山东省著名商标, 山东著名商标, 著名商标, 驰名商标]}",
            "山东著名商标, 著名商标, 驰名商标",
            "驰名商标",
        ),
    ],
)
def test_an_inconsistent_pattern_file_is_located(tmp_path: Path, old: str, new: str, at: str, said: str) -> None:
    """What the finder relies on without checking again (a list named exists, a token class has one test,
    a phrase has one entry) is an error of the ruleset's load, naming the pattern file's line."""
    patterns = _edited(tmp_path, (old, new), name="mine.yaml", text=EVIDENCE_TEXT)
    error = _error(_edited(tmp_path, ("evidence: evidence-shandong.yaml", "evidence: mine.yaml")))
    assert error.file is not None and Path(error.file).name == "mine.yaml"
    assert error.line == _line_of(patterns, at) and said in str(error)
