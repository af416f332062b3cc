"""The accuracy instrument: the scorer on hand-made truth and reports, the varied generator's own consistency
(files open, truth agrees with itself, introductions count what the truth says when read back), and one
end-to-end run of the real pipeline on a small sample (a few scanned pages) against THRESHOLDS."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.vary import verify
from fixtures.vary.dossier import Options
from fixtures.vary.run import generate
from scripts import accuracy
from scripts.accuracy import below, figures, score_dossier, table

# What the end-to-end sample must reach: the targets (make accuracy measures them on 200).
THRESHOLDS: dict[str, float] = {k: v for k, v in accuracy.NEEDED.items() if k != "packaging"}

# --------------------------------------------------------------------------------------------------
# scorer
# --------------------------------------------------------------------------------------------------

FIELDS = {
    "cluster_name": "临朐县铝型材加工特色产业集群",
    "applicant": "临朐县工业和信息化局",
    "region": "潍坊市临朐县",
    "leading_industry": "铝型材加工",
    "area_km2": 36.5,
    "enterprise_count": 182,
    "annual_revenue_cny": 41_260_000_000,
}


def _truth(**over: Any) -> dict[str, Any]:
    items = {
        i: {
            "present": True,
            "empty": False,
            "files": ["a.pdf"],
            "pages": [1, 1],
            "text_layer": True,
            "locations": [{"file": "a.pdf", "pages": [1, 1]}],
        }
        for i in accuracy.ITEMS
    }
    t: dict[str, Any] = {
        "source": "d1.zip",
        "packaging": "zip",
        "scanned_pages": 0,
        "verdict": "complete",
        "expected_errors": [],
        "items": items,
        "introduction": {"word_count": 2874, "text_layer": True},
        "declaration": {"sealed": True},
        "fields": dict(FIELDS),
        "conditions": {"area_max": "pass", "enterprise_min": "pass", "revenue_min": "pass"},
        "axes": {"packaging": "zip"},
    }
    t.update(over)
    return t


def _report(truth: dict[str, Any]) -> dict[str, Any]:
    """The report a perfect pipeline writes for ``truth``."""
    items = []
    for i in accuracy.ITEMS:
        want = truth["items"][i]
        item: dict[str, Any] = {
            "id": i,
            "present": want["present"],
            "locations": want["locations"] if want["present"] else [],
            "confidence": 0.9,
            "metrics": {},
            "seal": None,
        }
        if i == "introduction" and truth["introduction"]:
            item["metrics"] = {"word_count": truth["introduction"]["word_count"]}
        if i == "authenticity_declaration" and truth["declaration"]:
            item["seal"] = {"detected": truth["declaration"]["sealed"]}
        items.append(item)
    findings = [
        {"code": e.split(":")[0], "item": e.split(":")[1] if ":" in e else None, "severity": "error", "message": e}
        for e in truth["expected_errors"]
    ]
    return {
        "verdict": truth["verdict"],
        "items": items,
        "findings": findings,
        "fields": dict(truth["fields"] or {}),
        "conditions": [{"id": k, "status": v} for k, v in (truth["conditions"] or {}).items()],
        "elapsed_seconds": 2.0,
    }


def test_a_perfect_report_scores_everything_right() -> None:
    t = _truth()
    s = score_dossier(t, _report(t))
    assert s.id == "d1"
    assert (s.items_right, s.items_total) == (8, 8)
    assert s.verdict_right and s.oversize_right and s.count_exact and s.seal_right
    assert all(s.fields_right.values()) and len(s.fields_right) == 7
    assert all(s.conditions_right.values())
    assert not s.mistakes
    assert not below(figures([s]))


def test_a_missing_item_reported_present_is_caught() -> None:
    items = copy.deepcopy(_truth()["items"])
    items["informatization"] = {
        "present": False,
        "empty": False,
        "files": [],
        "pages": None,
        "text_layer": False,
        "locations": [],
    }
    t = _truth(items=items, verdict="incomplete", expected_errors=["ITEM_MISSING:informatization"])
    r = _report(_truth())  # the pipeline took a sub-heading for the item and saw nothing missing
    s = score_dossier(t, r)
    assert (s.items_right, s.missing_caught, s.missing_total) == (7, 0, 1)
    assert not s.verdict_right and s.wrongly_complete
    assert any("informatization: truth absent" in m for m in s.mistakes)
    figs = figures([s])
    assert {"items", "missing", "verdict"} <= set(below(figs))
    assert "**below**" in table([s])


def test_introduction_count_and_limit() -> None:
    t = _truth(
        introduction={"word_count": 3010, "text_layer": True},
        verdict="incomplete",
        expected_errors=["ITEM_OVERSIZED:introduction"],
    )
    r = _report(t)
    r["items"][1]["metrics"]["word_count"] = 2998  # counted short: under the limit, not flagged
    r["findings"] = []
    r["verdict"] = "complete"
    s = score_dossier(t, r)
    assert s.count_exact is False and s.oversize_right is False and s.wrongly_complete
    scanned = _truth(introduction={"word_count": 2000, "text_layer": False})
    r = _report(scanned)
    r["items"][1]["metrics"]["word_count"] = 1990  # OCR: the count is not held to exactness
    s = score_dossier(scanned, r)
    assert s.count_exact is None and s.oversize_right is True


def test_seal_fields_and_conditions() -> None:
    t = _truth(
        declaration={"sealed": False}, verdict="incomplete", expected_errors=["SEAL_MISSING:authenticity_declaration"]
    )
    r = _report(t)
    r["items"][7]["seal"] = {"detected": True, "page": 1, "score": 0.7}  # a red logo taken for a seal
    r["fields"].update(
        {"region": "潍坊市　临朐县", "area_km2": 36.53, "annual_revenue_cny": 41_400_000_000, "enterprise_count": None}
    )
    r["conditions"][1]["status"] = "unknown"
    s = score_dossier(t, r)
    assert s.seal_right is False
    assert s.fields_right["region"]  # NFKC and whitespace
    assert s.fields_right["area_km2"]  # within 0.1 %
    assert not s.fields_right["annual_revenue_cny"]  # 0.3 % off
    assert not s.fields_right["enterprise_count"]
    assert s.conditions_right == {"area_max": True, "enterprise_min": False, "revenue_min": True}
    no_form = _truth(fields=None, conditions=None)
    s = score_dossier(no_form, _report(no_form))
    assert s.fields_right == {} and s.conditions_right == {}


def test_no_report_is_all_wrong() -> None:
    s = score_dossier(_truth(), None)
    assert not s.reported and s.items_right == 0 and not s.verdict_right
    assert "no_report" in below(figures([s]))


# --------------------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("vary")
    doc = generate(out, 8, 5, Options(), log=lambda _m: None)
    return out, doc


def test_truth_agrees_with_itself(generated: tuple[Path, dict[str, Any]]) -> None:
    _out, doc = generated
    assert doc["generator"] == "fixtures.vary" and doc["count"] == 8 and len(doc["dossiers"]) == 8
    for did, t in doc["dossiers"].items():
        errors = set(t["expected_errors"])
        assert (t["verdict"] == "incomplete") == bool(errors), did
        for item in accuracy.REQUIRED:
            assert (f"ITEM_MISSING:{item}" in errors) == (not t["items"][item]["present"]), (did, item)
        if t["introduction"]:
            assert ("ITEM_OVERSIZED:introduction" in errors) == (t["introduction"]["word_count"] > 3000), did
        if t["declaration"] and "ITEM_EMPTY:authenticity_declaration" not in errors:
            assert ("SEAL_MISSING:authenticity_declaration" in errors) == (not t["declaration"]["sealed"]), did
        assert (t["fields"] is None) == (not t["items"]["application_form"]["present"]), did


def test_files_exist_and_open(generated: tuple[Path, dict[str, Any]]) -> None:
    out, doc = generated
    for t in doc["dossiers"].values():
        assert not verify.problems(out / "dossiers" / t["source"], t), t["source"]


def test_introductions_read_back_count_what_the_truth_says(generated: tuple[Path, dict[str, Any]]) -> None:
    """Single-file introductions (Word, text PDF) and bound PDFs: body read back from the file, counted apart."""
    out, doc = generated
    checked = 0
    for t in doc["dossiers"].values():
        intro = t["items"]["introduction"]
        if not t["introduction"] or not intro["text_layer"] or intro["empty"]:
            continue
        files = verify.members(out / "dossiers" / t["source"], t)
        path = intro["files"][0]
        data = files[path]
        single = sum(path in v["files"] for v in t["items"].values()) == 1
        if path.endswith(".docx") and single:
            body = verify.docx_body(data, intro["title"], intro["kicker"])
        elif path.endswith(".pdf"):
            after = [k for k in accuracy.ITEMS if t["items"][k]["present"] and path in t["items"][k]["files"]]
            nxt = after[after.index("introduction") + 1] if after.index("introduction") + 1 < len(after) else None
            ends = [t["items"][nxt]["kicker"], t["items"][nxt]["title"][0]] if nxt else []
            body = verify.pdf_body(
                data,
                tuple(intro["pages"]),
                intro["title"],
                intro["kicker"],
                ends,
                t["axes"].get("running_header") or "",
            )
        else:
            continue
        # Word's 字数 leaves out the numbers a Word list draws; a PDF made from the file prints them.
        want = t["introduction"]["word_count_docx" if path.endswith(".docx") else "word_count"]
        assert verify.count(body) == want, (t["source"], path)
        checked += 1
    assert checked >= 3


def test_sealed_declarations_show_a_seal(generated: tuple[Path, dict[str, Any]]) -> None:
    """Every declaration the truth calls sealed carries red seal ink where it was printed or scanned."""
    out, doc = generated
    for t in doc["dossiers"].values():
        item = t["items"]["authenticity_declaration"]
        if not t["declaration"] or not t["declaration"]["sealed"] or item["files"][0].endswith(".docx"):
            continue
        files = verify.members(out / "dossiers" / t["source"], t)
        path = item["files"][0]
        area = verify.red_area(files[path], path, tuple(item["pages"]) if item["pages"] else None)
        assert area >= 200, (t["source"], path, area)


def test_dossier_i_does_not_depend_on_the_count(generated: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _out, doc = generated
    small = generate(tmp_path, 2, 5, Options(), log=lambda _m: None)
    for did, t in small["dossiers"].items():
        a, b = json.loads(json.dumps(t)), json.loads(json.dumps(doc["dossiers"][did]))
        assert a == b, did


# --------------------------------------------------------------------------------------------------
# end to end: the real pipeline on a small sample against the targets
# --------------------------------------------------------------------------------------------------


def test_end_to_end_accuracy(tmp_path: Path) -> None:
    # A small sample, a few scanned pages among it (OCR is the slow part): seed 11, 14 dossiers.
    doc = generate(tmp_path, 14, 11, Options(scan_share=0.3, max_scanned_pages=2), log=lambda _m: None)
    accuracy.run_pipeline(tmp_path / "dossiers", tmp_path / "reports", workers=2)
    truths = doc["dossiers"]
    scores = accuracy.score_all(truths, accuracy.load_reports(tmp_path / "reports", truths))
    figs = figures(scores)
    low = {
        k: round(figs[k]["share"], 3) for k, need in THRESHOLDS.items() if figs[k]["total"] and figs[k]["share"] < need
    }
    assert not low, f"below THRESHOLDS: {low}\n{table(scores)}\n{accuracy.mistakes_md(scores, truths)}"
