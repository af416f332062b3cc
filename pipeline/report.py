"""The report of one dossier, typed: this module *is* report.json of CONTRACT.md.

Every stage writes into these models and every renderer reads them; `dossier schema` prints their JSON
Schema. Keys of CONTRACT.md are never renamed or removed; new keys are added at the end of a model.
Seal crops ride along (`ItemResult.seal_crop`) but are not part of the JSON: they are written beside it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = "dossier-report/1"
Severity = Literal["error", "warning", "info"]
Verdict = Literal["complete", "incomplete"]
# CONTRACT.md: a complete dossier with these warnings reads "材料齐全，N 项请人工核对", never bare 材料齐全.
REVIEW_CODES = ("LOW_CONFIDENCE", "LIMIT_REACHED")


class Part(BaseModel):
    """A part of report.json: keys exactly as written (a misspelt key is an error, not a new key)."""

    # Serialised, every key is always written: the schema says so (required), defaults or not.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Location(Part):
    file: str
    pages: list[int] | None = None  # [first, last], 1-based inclusive; None where the format has no pages


class Finding(Part):
    code: str
    severity: Severity
    item: str | None = None
    field: str | None = None  # the form field or Art. 4 condition a finding is about
    message: str
    location: Location | None = None


class SealFound(Part):
    detected: Literal[True] = True
    file: str
    page: int | None  # None: a picture inside a Word file
    bbox: list[float]
    bbox_unit: str = "pt"
    score: float
    diameter_mm: float
    crop: str  # the PNG written beside the report


class SealNotFound(Part):
    detected: Literal[False] = False
    checked: list[str]  # the pages searched, for the clerk


class SealUnchecked(Part):
    detected: None = None  # nothing could be searched: a person must look
    checked: list[str] = Field(default_factory=list)
    reason: str


Seal = SealFound | SealNotFound | SealUnchecked


class ItemResult(Part):
    """One Art. 6 item of the ruleset as judged in one dossier."""

    id: str
    article: str
    title: str
    required: bool
    present: bool = False
    confidence: float = 0.0
    locations: list[Location] = Field(default_factory=list)
    metrics: dict[str, int | float] = Field(default_factory=dict)
    seal: Seal | None = None
    findings: list[Finding] = Field(default_factory=list)
    seal_crop: bytes = Field(default=b"", exclude=True)  # PNG of the seal found, written as seal.crop


class Identified(Part):
    """What a file (or a part of a bound file) was taken for."""

    item: str | None
    title: str
    pages: list[int] | None
    confidence: float


class FileEntry(Part):
    path: str
    sha256: str
    format: str
    pages: int | None
    ocr_pages: int
    ocr_pages_partial: int = 0  # of those, read only far enough to tell what they are (`--full-ocr` reads all)
    error: str | None
    error_kind: str | None = None
    size: int = 0
    seconds: float = 0.0
    identified_as: list[Identified] = Field(default_factory=list)


class DossierInfo(Part):
    id: str
    source: str
    checked_at: str  # ISO 8601 with the UTC+08:00 offset
    files: list[FileEntry]
    skipped: list[str] = Field(default_factory=list)


class RulesetInfo(Part):
    id: str
    title: str
    valid_from: str | None = None
    valid_until: str | None = None
    as_of: str | None = None  # the date the validity was judged on (the check date unless --as-of)
    in_force: bool | None = None  # whether the regulation was in force on `as_of`
    validity_note: str | None = None  # the clerk's warning when it was not
    field_labels: dict[str, str] = Field(default_factory=dict)  # form field id → its name in reports
    field_units: dict[str, str] = Field(default_factory=dict)  # form field id → the unit its value is in
    sealed_items: list[str] = Field(default_factory=list)  # the items the ruleset wants sealed (人工确认 of seals)
    notice: dict[str, str] = Field(default_factory=dict)  # how the 补正通知 cites it (short_title, articles)


class ConditionResult(Part):
    id: str
    article: str
    status: Literal["pass", "fail", "unknown"]
    value: int | float | None
    threshold: float
    unit: str
    title: str
    op: str = ""  # "<=" or ">="


class FormPair(Part):
    """A label of the application form and the value written beside it."""

    field: str | None  # the contract field it is, if any
    label: str
    text: str
    value: int | float | str | None
    approximate: bool
    location: Location


class CrossCheck(Part):
    """A figure or name stated elsewhere in the dossier, compared with the form."""

    field: str
    item: str
    text: str
    value: int | float | str
    agrees: bool
    location: Location


class EvidenceEntry(Part):
    label: str
    text: str
    normalized: str
    level: str | None
    file: str
    pages: list[int]
    locations: list[Location]


class Evidence(Part):
    counts: dict[str, int] = Field(default_factory=dict)
    items: list[EvidenceEntry] = Field(default_factory=list)


class Counts(Part):
    error: int = 0
    warning: int = 0
    info: int = 0

    @classmethod
    def of(cls, findings: list[Finding]) -> Counts:
        return cls(**{s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")})

    @property
    def verdict(self) -> Verdict:
        """CONTRACT.md: complete exactly when no finding is an error."""
        return "incomplete" if self.error else "complete"


class ClerkDecision(Part):
    """A clerk's own judgement (人工确认) on one thing the tool judged: an item, a seal, an Art. 4 condition or
    a finding (pipeline/review.py)."""

    target: str  # "item:<id>", "seal:<item id>", "condition:<id>", "finding:<code>:<item>:<field>:<file>"
    kind: Literal["item", "seal", "condition", "finding"]
    label: str  # what it is about, for people
    value: str  # the clerk's answer: present / missing (items, seals), pass / fail, upheld / dismissed
    value_text: str
    tool: str  # the tool's answer when the clerk decided
    tool_now: str | None  # the tool's answer in this report; None: the thing is no longer there
    note: str
    user: str
    at: str  # ISO 8601
    applies: bool  # False: the content changed since, so the decision is not applied: 请重新确认
    reason: str | None = None  # why it no longer applies


class Review(Part):
    """The verdict after the clerk's decisions. `Report.verdict` stays the tool's own."""

    verdict: Verdict
    counts: Counts
    review_count: int  # the tool's doubts nobody decided on, plus decisions to confirm again
    findings: list[Finding]  # the tool's, less those the clerk dismissed or settled, plus the clerk's own
    decisions: list[ClerkDecision]
    stale: int  # decisions that no longer apply


class Report(Part):
    """report.json (CONTRACT.md)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True)

    schema_id: str = Field(default=SCHEMA, alias="schema")
    dossier: DossierInfo
    ruleset: RulesetInfo
    verdict: Verdict
    items: list[ItemResult]
    findings: list[Finding]
    counts: Counts
    review_count: int  # LOW_CONFIDENCE and LIMIT_REACHED warnings: "材料齐全，N 项请人工核对"
    fields: dict[str, int | float | str | None] = Field(default_factory=dict)
    conditions: list[ConditionResult] = Field(default_factory=list)
    form: list[FormPair] = Field(default_factory=list)
    cross_checks: list[CrossCheck] = Field(default_factory=list)
    evidence: Evidence = Field(default_factory=Evidence)
    elapsed_seconds: float = 0.0
    review: Review | None = None  # the clerk's decisions and the verdict after them (`dossier web`)

    @classmethod
    def judged(cls, findings: list[Finding], **parts: Any) -> Report:
        """A report whose verdict and counts follow from its findings (CONTRACT.md: complete exactly when
        no finding is an error), so they can never disagree."""
        counts = Counts.of(findings)
        return cls(
            verdict=counts.verdict,
            findings=findings,
            counts=counts,
            review_count=sum(1 for f in findings if f.code in REVIEW_CODES),
            **parts,
        )

    @property
    def final_verdict(self) -> Verdict:
        """The verdict people act on: the clerk's where they decided, else the tool's."""
        return self.review.verdict if self.review else self.verdict

    @property
    def final_counts(self) -> Counts:
        return self.review.counts if self.review else self.counts

    @property
    def final_findings(self) -> list[Finding]:
        return self.review.findings if self.review else self.findings

    @property
    def final_review_count(self) -> int:
        return self.review.review_count if self.review else self.review_count

    def crops(self) -> dict[str, bytes]:
        """The seal crops to write beside the report, by file name."""
        return {i.seal.crop: i.seal_crop for i in self.items if isinstance(i.seal, SealFound) and i.seal_crop}

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def report_schema() -> dict[str, Any]:
    """The JSON Schema of report.json (`dossier schema`)."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = SCHEMA
    schema["title"] = "report.json（山东省特色产业集群申报材料预审报告）"
    return schema
