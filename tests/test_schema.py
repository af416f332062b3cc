"""`dossier schema`: the JSON Schema of report.json (pipeline/report.py) and every sample report against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pipeline.report import Report, report_schema

CONTRACT_KEYS = {"schema", "dossier", "ruleset", "verdict", "items", "fields", "conditions", "findings"}
FINDING_CODES = {
    "ITEM_MISSING",
    "ITEM_OVERSIZED",
    "SEAL_MISSING",
    "ITEM_EMPTY",
    "FILE_UNREADABLE",
    "FORM_FIELD_MISSING",
    "CONDITION_NOT_MET",
    "INCONSISTENT_VALUE",
    "UNSUPPORTED_FORMAT",
    "OCR_LOW_CONFIDENCE",
    "LOW_CONFIDENCE",
    "DUPLICATE_FILE",
}


def test_schema_names_every_contract_key() -> None:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) >= CONTRACT_KEYS
    assert set(schema["properties"]) == set(schema["required"])
    item = schema["$defs"]["ItemResult"]["properties"]
    assert {"id", "article", "title", "required", "present", "confidence", "locations", "metrics", "seal"} <= set(item)
    assert "seal_crop" not in item  # written beside the report, not inside it


def test_every_sample_report_validates(sample_batch: Path) -> None:
    validator = jsonschema.Draft202012Validator(report_schema())
    reports = sorted(sample_batch.glob("*/report.json"))
    assert len(reports) >= 20
    codes: set[str] = set()
    for path in reports:
        data = json.loads(path.read_text(encoding="utf-8"))
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (path.parent.name, errors[:5])
        report = Report.model_validate(data)  # and back to the same JSON
        assert report.as_dict() == data, path.parent.name
        codes |= {f.code for f in report.findings}
    assert codes <= FINDING_CODES | {"ARCHIVE_ENTRY_SKIPPED", "LIMIT_REACHED"}


def test_a_misspelt_key_does_not_validate(sample_batch: Path) -> None:
    data = json.loads(next(iter(sorted(sample_batch.glob("*/report.json")))).read_text(encoding="utf-8"))
    data["verdikt"] = data.pop("verdict")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, report_schema())
