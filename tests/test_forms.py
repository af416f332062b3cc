"""The application form's figures, Art. 4 and the cross-checks against fixtures/forms/truth.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.text import normalize
from pipeline.form import is_blank
from tests.conftest import batch, finding_keys, report_of
from tests.figures import assert_fields

FORMS = Path(__file__).resolve().parent.parent / "fixtures" / "forms"
TRUTH: dict[str, Any] = json.loads((FORMS / "truth.json").read_text(encoding="utf-8"))["dossiers"]


@pytest.fixture(scope="module")
def forms_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return batch(FORMS / "dossiers", tmp_path_factory.mktemp("forms"))


@pytest.mark.parametrize("dossier_id", sorted(TRUTH))
def test_fields(dossier_id: str, forms_batch: Path) -> None:
    assert_fields(report_of(forms_batch, dossier_id)["fields"], TRUTH[dossier_id]["fields"])


@pytest.mark.parametrize("dossier_id", sorted(TRUTH))
def test_conditions(dossier_id: str, forms_batch: Path) -> None:
    report = report_of(forms_batch, dossier_id)
    assert {c["id"]: c["status"] for c in report["conditions"]} == TRUTH[dossier_id]["conditions"]
    for cond in report["conditions"]:
        if cond["status"] == "fail":
            message = next(f["message"] for f in report["findings"] if f.get("field") == cond["id"])
            assert "放宽" in message  # the relaxation clause of Art. 4


@pytest.mark.parametrize("dossier_id", sorted(TRUTH))
def test_findings_and_no_false_inconsistencies(dossier_id: str, forms_batch: Path) -> None:
    report = report_of(forms_batch, dossier_id)
    keys = finding_keys(report)
    expected = set(TRUTH[dossier_id]["expected_findings"])
    assert expected <= keys, f"missing {expected - keys}"
    figure_codes = ("INCONSISTENT_VALUE", "CONDITION_NOT_MET", "FORM_FIELD_MISSING")
    raised = {
        k
        for k in keys
        if ":" in k
        and k.split(":")[0] in figure_codes
        and k.split(":")[1] not in ("application_form", "introduction", "authenticity_declaration", "development_plan")
    }
    assert raised == {k for k in expected if k.split(":")[0] in figure_codes}
    assert report["verdict"] == TRUTH[dossier_id]["verdict"]


@pytest.mark.parametrize("dossier_id", sorted(d for d, t in TRUTH.items() if t.get("inconsistencies")))
def test_inconsistencies_name_both_places(dossier_id: str, forms_batch: Path) -> None:
    report = report_of(forms_batch, dossier_id)
    for want in TRUTH[dossier_id]["inconsistencies"]:
        found = [f for f in report["findings"] if f["code"] == "INCONSISTENT_VALUE" and f["field"] == want["field"]]
        assert found, want
        message = found[0]["message"]
        assert all(place in message for place in want["places"]), (message, want["places"])


def test_other_labelled_fields_are_kept(forms_batch: Path) -> None:
    # Forms with cells (Word, PDF tables, a scan's grid): every other label whole, even where it wraps
    # in its cell (a scan's cells are joined line by line), its value blank or not read.
    for dossier_id, truth in TRUTH.items():
        labels = {normalize(f["label"]) for f in report_of(forms_batch, dossier_id)["form"]}
        for other in truth.get("other_fields", []):
            assert normalize(other["label"]) in labels, (dossier_id, other)


def test_a_scanned_form_is_read_from_its_grid(forms_batch: Path) -> None:
    scanned = [d for d, t in TRUTH.items() if t["items"]["application_form"].get("format") == "scan"]
    assert scanned
    for dossier_id in scanned:
        form = report_of(forms_batch, dossier_id)["form"]
        by_label = {normalize(f["label"]): f for f in form}
        for other in TRUTH[dossier_id].get("other_fields", []):
            if "盖章" in other["label"]:
                continue  # the seal stamped over the approval text is read too
            value = by_label[normalize(other["label"])]["text"]
            assert value in ("", other["value"]) or normalize(value) == normalize(other["value"]), (other, value)


@pytest.mark.parametrize(
    ("read", "attested", "want"),
    [
        ("营县煤化工特色产业集群", {"莒县", "日照市"}, "莒县煤化工特色产业集群"),  # 莒 read as 营
        ("在平区科技和工业信息化局", {"茌平区"}, "茌平区科技和工业信息化局"),  # 茌 read as 在
        ("单县", {"莘县"}, "单县"),  # a real county is never "corrected" into another
        ("冠县", {"莘县", "单县"}, "冠县"),
        ("营县", {"莘县", "莒县"}, "营县"),  # two places one character off: no guess
    ],
)
def test_ocr_place_names_put_right_only_against_the_dossiers_own_text(read: str, attested: set[str], want: str) -> None:
    from pipeline.form import correct_places
    from pipeline.ruleset import load_ruleset

    assert correct_places(read, frozenset(attested), frozenset(load_ruleset().places)) == want


def test_a_cell_wrapped_inside_a_chinese_number_is_read_whole() -> None:
    from core.numbers import parse_money
    from core.text import join_wrapped

    assert join_wrapped("一千七百八十点\n六亿元") == "一千七百八十点六亿元"
    assert join_wrapped("ERP\n系统") == "ERP 系统"
    quantity = parse_money(join_wrapped("一千七百八十点\n六亿元"), "集群营业收入")
    assert quantity is not None and quantity.value == 178_060_000_000


@pytest.mark.parametrize(
    ("label", "value", "want"),
    [
        ("所在市/县（市、区", "）临沂市罗庄区", ("所在市/县（市、区）", "临沂市罗庄区")),
        ("所在市/县（市、区）", "临沂市罗庄区", ("所在市/县（市、区）", "临沂市罗庄区")),
        ("备注", "）", ("备注", "）")),
    ],
)
def test_a_labels_bracket_past_the_cell_rule_goes_back_to_it(label: str, value: str, want: tuple[str, str]) -> None:
    from pipeline.form import _close_bracket

    assert _close_bracket(label, value) == want


@pytest.mark.parametrize(
    ("text", "ocr", "blank"),
    [
        *[("/", False, True), ("1", True, True), ("l", True, True), ("|", True, True), ("一", True, True)],
        *[("1", False, False), ("11", True, False), ("1户", True, False), ("7", True, False)],
    ],
)
def test_a_scanned_slash_read_as_1_is_a_blank_cell(text: str, ocr: bool, blank: bool) -> None:
    """The ／ that marks a field not applicable comes back from OCR as 1, l or |; a typed 1 is a figure."""
    assert is_blank(text, ocr) is blank


@pytest.mark.parametrize(
    ("text", "ocr", "want"),
    [
        ("农机装备.（拖拉机）", True, "农机装备（拖拉机）"),
        ("铝型材加工.", True, "铝型材加工"),
        ("中国·临朐铝型材", True, "中国·临朐铝型材"),
        ("农机装备.（拖拉机）", False, "农机装备.（拖拉机）"),
    ],
)
def test_a_speck_a_scan_put_into_a_name_is_dropped(text: str, ocr: bool, want: str) -> None:
    from pipeline.form import _normalise
    from pipeline.ruleset import load_ruleset

    rule = next(f for f in load_ruleset().form_fields if f.id == "leading_industry")
    assert _normalise(rule, "产业领域", text, ocr) == (want, False)


def test_a_sliver_cell_before_a_scanned_label_is_dropped() -> None:
    """A speck or a broken rule at a scanned table's left edge cuts an empty sliver of a cell before the
    label: the label still pairs with its value (a typed table keeps its empty cells as they are)."""
    from pipeline.form import _pairs_from_rows
    from pipeline.ruleset import load_ruleset

    rules = load_ruleset().form_fields
    row = ["", "集群营业收入（亿元)", "1466"]
    assert _pairs_from_rows([row], rules, cells_once=True) == [("集群营业收入（亿元)", "1466")]
    assert _pairs_from_rows([row], rules, cells_once=False) == []
