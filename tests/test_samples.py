"""Every sample dossier against the generator's recorded truth (fixtures/samples/truth.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.model import ITEM_IDS
from tests.conftest import SAMPLES, finding_keys, report_of
from tests.figures import assert_fields

TRUTH_IDS = sorted(p.name[:-4] if p.name.endswith(".zip") else p.name for p in (SAMPLES / "dossiers").iterdir())


@pytest.mark.parametrize("dossier_id", TRUTH_IDS)
def test_verdict_and_items_match_truth(dossier_id: str, truth: dict[str, Any], sample_batch: Path) -> None:
    expected = truth[dossier_id]
    report = report_of(sample_batch, dossier_id)
    items = {item["id"]: item for item in report["items"]}
    wrong = {
        item_id: (want["present"], items[item_id]["present"], items[item_id]["locations"])
        for item_id, want in expected["items"].items()
        if items[item_id]["present"] != want["present"]
    }
    assert not wrong, f"{dossier_id}: item presence (expected, got, where) {wrong}"
    assert report["verdict"] == expected["verdict"], [f["message"] for f in report["findings"]]


@pytest.mark.parametrize("dossier_id", TRUTH_IDS)
def test_items_are_found_in_the_right_files(dossier_id: str, truth: dict[str, Any], sample_batch: Path) -> None:
    report = report_of(sample_batch, dossier_id)
    items = {item["id"]: item for item in report["items"]}
    for item_id, want in truth[dossier_id]["items"].items():
        if want["present"]:
            got = {loc["file"] for loc in items[item_id]["locations"]}
            assert set(want["files"]) <= got, f"{item_id}: expected in {want['files']}, found in {sorted(got)}"


@pytest.mark.parametrize("dossier_id", TRUTH_IDS)
def test_findings_match_truth(dossier_id: str, truth: dict[str, Any], sample_batch: Path) -> None:
    report = report_of(sample_batch, dossier_id)
    got = finding_keys(report)
    expected = set(truth[dossier_id]["expected_findings"])
    assert expected <= got, f"missing findings {expected - got}"
    unexpected_errors = {
        f"{f['code']}:{f['item']}" if f["item"] else f["code"] for f in report["findings"] if f["severity"] == "error"
    } - expected
    # No false contradictions or blank fields on dossiers whose figures agree.
    figure_warnings = {k for k in got if k.startswith(("INCONSISTENT_VALUE:", "FORM_FIELD_MISSING:"))}
    assert figure_warnings <= expected
    assert not unexpected_errors, [f["message"] for f in report["findings"] if f["severity"] == "error"]


@pytest.mark.parametrize("dossier_id", TRUTH_IDS)
def test_introduction_word_count_is_exact(dossier_id: str, truth: dict[str, Any], sample_batch: Path) -> None:
    want = truth[dossier_id]["items"]["introduction"].get("word_count")
    if want is None:
        pytest.skip("no introduction in this dossier")
    intro = next(i for i in report_of(sample_batch, dossier_id)["items"] if i["id"] == "introduction")
    assert intro["metrics"]["word_count"] == want
    assert intro["metrics"]["char_count_no_spaces"] >= want


def test_report_follows_the_contract(sample_batch: Path, truth: dict[str, Any]) -> None:
    for dossier_id in truth:
        report = report_of(sample_batch, dossier_id)
        assert report["schema"] == "dossier-report/1"
        assert tuple(i["id"] for i in report["items"]) == ITEM_IDS  # CONTRACT.md's order
        errors = [f for f in report["findings"] if f["severity"] == "error"]
        assert (report["verdict"] == "complete") == (not errors)
        item_findings = [f for i in report["items"] for f in i["findings"]]
        for f in item_findings:
            assert f in report["findings"]
        for file in report["dossier"]["files"]:
            assert len(file["sha256"]) == 64
            assert file["pages"] is None or file["pages"] >= 1
        for item in report["items"]:
            for loc in item["locations"]:
                assert loc["pages"] is None or 1 <= loc["pages"][0] <= loc["pages"][1]


@pytest.mark.parametrize("dossier_id", TRUTH_IDS)
def test_form_fields_and_conditions_match_truth(dossier_id: str, truth: dict[str, Any], sample_batch: Path) -> None:
    report = report_of(sample_batch, dossier_id)
    assert_fields(report["fields"], truth[dossier_id]["fields"])
    failed = sorted(c["id"] for c in report["conditions"] if c["status"] == "fail")
    assert failed == sorted(truth[dossier_id]["conditions_not_met"])
