"""Scanned application forms read as tables, end to end: forms generated at test time (fixtures/forms.py
make_form, printed by fixtures/writers.py, scanned by fixtures/scans.py), recognised by OCR, their grid
read from the page image (pipeline/form_grid.py) and their fields paired (pipeline/form.py).

OCR is the slow part (several seconds a page on two cores): four pages in all, one dossier each,
checked in one batch; the OCR cache of the test run (tests/conftest.py) is shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from fixtures import scans, writers
from fixtures.clusters import DAIYUE, LINQU, TENGZHOU, ZHUCHENG, Cluster
from fixtures.forms import LIGHT_SCAN, make_form
from tests.conftest import batch, finding_keys, report_of
from tests.figures import assert_fields

LONG_APPLICANT = "临朐县工业和信息化局（临朐县中小企业发展和民营经济服务中心）"


def _form_pdf(c: Cluster, columns: int, cells: Mapping[str, tuple[str | None, str]]) -> bytes:
    return writers.pdf_bytes([make_form(c, fmt="pdf", columns=columns, cells=cells).doc]).data


def _without_rulings(image: Image.Image) -> Image.Image:
    """The page as a borderless form: every long straight run of ink painted over with paper."""
    grey = np.asarray(image.convert("L")).copy()
    dark = (grey < 160).astype(np.uint8) * 255
    lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, 60), np.uint8))
    lines |= cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((40, 1), np.uint8))
    grey[cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0] = 255
    return Image.fromarray(grey).convert("RGB")


def _borderless_scan(pdf: bytes, skew: float, seed: int) -> bytes:
    pages = []
    for number, clean in enumerate(scans.render_pages(pdf, scans.DPI), start=1):
        image = scans.degrade(_without_rulings(clean), skew=skew, grey=True, seed=seed, **LIGHT_SCAN)
        size = scans.page_size_pt(pdf, number)
        pages.append(scans.ScanPage(image, scans.jpeg_bytes(image, 70), scans.DPI, size, skew=skew))
    return scans.image_pdf(pages)


def _sideways_jpeg(pdf: bytes, skew: float, seed: int) -> bytes:
    (clean,) = scans.render_pages(pdf, scans.DPI, [1])
    image = scans.degrade(clean, skew=skew, rotate=90, grey=True, seed=seed, **LIGHT_SCAN)
    return scans.jpeg_bytes(image, 70)


# Each form: (cluster, how it is written, how it is scanned, the fields a reader must get, findings).
FORMS: dict[str, dict[str, Any]] = {
    "two-columns-skew-1.5": {
        "cluster": LINQU,
        "columns": 2,
        "cells": {
            "applicant": (None, LONG_APPLICANT),  # wraps in its cell
            "area_km2": (None, "—"),  # blank on purpose
            "enterprise_count": ("集群内企业数（家）", "182"),  # longer than the known label 集群内企业
            "annual_revenue_cny": ("年营业收入<br/>（亿元）", "412.6"),  # the unit on the label's second line
        },
        "scan": {"skew": 1.5},
        "fields": {
            "cluster_name": LINQU.name,
            "applicant": LONG_APPLICANT,
            "region": "潍坊市临朐县",
            "leading_industry": LINQU.industry,
            "area_km2": None,
            "enterprise_count": 182,
            "annual_revenue_cny": 41_260_000_000,
        },
        "findings": {"FORM_FIELD_MISSING:area_km2"},
    },
    "four-columns-skew-2.5": {
        "cluster": DAIYUE,
        "columns": 4,
        "cells": {
            "region": (None, "山东省泰安市岱岳区满庄镇和大汶口镇"),  # wraps in its narrow cell
            "enterprise_count": ("集群内企业数（家）", "133"),
            "annual_revenue_cny": ("年营业收入", "110.12<br/>亿元"),  # the unit on the value's second line
        },
        "scan": {"skew": -2.5},
        "fields": {
            "cluster_name": DAIYUE.name,
            "applicant": DAIYUE.applicant,
            "region": "泰安市岱岳区满庄镇和大汶口镇",
            "leading_industry": DAIYUE.industry,
            "area_km2": 45.8,
            "enterprise_count": 133,
            "annual_revenue_cny": 11_012_000_000,
        },
        "findings": set(),
    },
    "borderless-skew-1": {
        "cluster": ZHUCHENG,
        "columns": 2,
        "cells": {
            "applicant": (None, "诸城市工业和信息化局（诸城市中小企业发展和民营经济服务中心）"),
            "enterprise_count": ("企业数量", "552<br/>户"),
            "annual_revenue_cny": ("年营业收入（亿元）", "见附表"),  # not a figure: a person must look
        },
        "scan": {"skew": 1.0, "borderless": True},  # the table runs onto the page after the title
        "fields": {
            "cluster_name": ZHUCHENG.name,
            "applicant": "诸城市工业和信息化局（诸城市中小企业发展和民营经济服务中心）",
            "region": "潍坊市诸城市",
            "leading_industry": ZHUCHENG.industry,
            "area_km2": 58.0,
            "enterprise_count": 552,
            "annual_revenue_cny": None,
        },
        "findings": {"LOW_CONFIDENCE:annual_revenue_cny"},
    },
    "sideways-jpeg-four-columns": {
        "cluster": TENGZHOU,
        "columns": 4,
        "cells": {"annual_revenue_cny": ("年营业收入（万元）", "2268000")},
        "scan": {"skew": 0.8, "sideways": True},
        "fields": {
            "cluster_name": TENGZHOU.name,
            "applicant": TENGZHOU.applicant,
            "region": "枣庄市滕州市",
            "leading_industry": TENGZHOU.industry,
            "area_km2": 32.6,
            "enterprise_count": 136,
            "annual_revenue_cny": 22_680_000_000,
        },
        "findings": set(),
    },
}


def write_scanned_forms(inbox: Path) -> None:
    """One dossier per form: the scanned form alone."""
    for seed, (name, spec) in enumerate(FORMS.items(), start=31):
        pdf = _form_pdf(spec["cluster"], spec["columns"], spec["cells"])
        scan = spec["scan"]
        folder = inbox / name
        folder.mkdir(parents=True)
        if scan.get("borderless"):
            (folder / "1.申请表.pdf").write_bytes(_borderless_scan(pdf, scan["skew"], seed))
        elif scan.get("sideways"):
            (folder / "申请表扫描件.jpg").write_bytes(_sideways_jpeg(pdf, scan["skew"], seed))
        else:
            data = scans.scan_pdf(pdf, scans.DPI, quality=70, seed=seed, skew=scan["skew"], **LIGHT_SCAN)
            (folder / "1.申请表.pdf").write_bytes(data)


@pytest.fixture(scope="module")
def scanned_forms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("scanned-forms")
    write_scanned_forms(inbox)
    return batch(inbox, tmp_path_factory.mktemp("scanned-forms-out"))


@pytest.mark.parametrize("name", list(FORMS))
def test_scanned_form_fields(name: str, scanned_forms: Path) -> None:
    report = report_of(scanned_forms, name)
    assert_fields(report["fields"], FORMS[name]["fields"])  # says which field is wrong
    assert report["fields"] == FORMS[name]["fields"]  # exactly, nulls included


@pytest.mark.parametrize("name", list(FORMS))
def test_scanned_form_findings(name: str, scanned_forms: Path) -> None:
    report = report_of(scanned_forms, name)
    keys = finding_keys(report)
    figure_codes = ("FORM_FIELD_MISSING", "LOW_CONFIDENCE")
    fields = FORMS[name]["fields"]
    raised = {k for k in keys if k.split(":")[0] in figure_codes and k.split(":")[-1] in fields}
    assert raised == FORMS[name]["findings"]
    for finding in report["findings"]:
        if finding["code"] == "LOW_CONFIDENCE" and finding["field"]:
            assert finding["severity"] == "warning"
            assert "无法可靠识别" in finding["message"] and "请人工核对" in finding["message"]
