"""The form's figures against Art. 4, and against what the other items of the dossier say."""

from __future__ import annotations

import re
from typing import Any

from core.numbers import Quantity, find_quantities
from core.text import normalize

from .checks import finding
from .form import FormField, is_blank
from .identify import Candidate
from .report import Finding, Location
from .ruleset import NameRule, Ruleset, StatementRule

_SENTENCE = re.compile(r"[^。；;！!？?\n]+")


def conditions(
    fields: dict[str, Any], ruleset: Ruleset, where: Location | None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Each Art. 4 condition pass / fail / unknown; a fail is a warning naming the relaxation clause."""
    results: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for cond in ruleset.conditions:
        value = fields.get(cond.field)
        if value is None:
            status = "unknown"
        else:
            met = value <= cond.threshold if cond.op == "<=" else value >= cond.threshold
            status = "pass" if met else "fail"
        results.append(
            {
                "id": cond.id,
                "article": cond.article,
                "status": status,
                "value": value,
                "threshold": cond.threshold,
                "op": cond.op,
                "unit": cond.unit,
                "title": cond.title,
            }
        )
        if status == "fail":
            unit = ruleset.form_field(cond.field).unit
            message = f"{cond.title}：申报值 {_show(unit, value)}，不满足{cond.article}（{'≤' if cond.op == '<=' else '≥'} {_show(unit, cond.threshold)}）。{ruleset.relaxation}"
            findings.append(
                finding("CONDITION_NOT_MET", message, item=ruleset.form_item, location=where, field=cond.id)
            )
    return results, findings


def missing_fields(
    found: list[FormField], fields: dict[str, Any], ruleset: Ruleset, where: Location | None
) -> list[Finding]:
    """FORM_FIELD_MISSING for each required field that is blank, unreadable or not on the form. On a
    scanned form a blank cell is FORM_FIELD_MISSING too, but a field whose label was not found or whose
    value does not read is LOW_CONFIDENCE: OCR may have misread it, a person should look."""
    labels = {f.id: f for f in found if f.id}
    scanned = any(f.ocr for f in found)
    findings = []
    for field_id in ruleset.required_fields:
        if fields.get(field_id) is not None:
            continue
        seen = labels.get(field_id)
        title = next((r.labels[0] for r in ruleset.form_fields if r.id == field_id), field_id)
        misread = (seen.ocr and not is_blank(seen.text, ocr=True)) if seen is not None else scanned
        if misread:
            read = f"（识别为「{seen.text}」）" if seen is not None else "（未找到该栏目）"
            message = f"申请表扫描件中“{title}”无法可靠识别{read}，请人工核对"
            findings.append(finding("LOW_CONFIDENCE", message, item=ruleset.form_item, location=where, field=field_id))
            continue
        why = f"填写为「{seen.text}」，无法识别" if seen and seen.text.strip() else "未填写" if seen else "未找到该栏目"
        findings.append(
            finding(
                "FORM_FIELD_MISSING", f"申请表「{title}」{why}", item=ruleset.form_item, location=where, field=field_id
            )
        )
    return findings


def _show(unit: str, value: float) -> str:
    """A figure in its field's unit (FieldRule.unit) as the clerk reads it: yuan in 亿元."""
    if unit == "yuan":
        return f"{value / 1e8:g} 亿元"
    if unit == "km2":
        return f"{value:g} 平方公里"
    return f"{value:g} {unit}"


def _statements(text: str, rule: StatementRule, kind: str) -> list[Quantity]:
    """The figure as the text states it about the cluster as a whole: in a sentence with one of
    the rule's cues, in one of its units, not qualified as a subset (规上企业, a company's revenue)
    and not itself qualifying something (营业收入超过十亿元的企业)."""
    found: list[Quantity] = []
    for sentence in _SENTENCE.findall(text):
        if not any(cue in sentence for cue in rule.cues):
            continue
        for quantity in find_quantities(sentence, kind):  # type: ignore[arg-type]
            at = sentence.find(quantity.text)
            before, after = (
                sentence[max(0, at - 12) : at],
                sentence[at + len(quantity.text) : at + len(quantity.text) + 2],
            )
            if any(q in before for q in rule.qualifiers) or after.startswith("的"):
                continue
            if rule.units and not quantity.text.rstrip().endswith(rule.units):
                continue
            clause = re.split(r"[，,：:]", sentence[:at])[-1]
            if rule.lead_ins and not any(word in clause for word in rule.lead_ins):
                continue  # 营业收入超过十亿元的企业达到9家: a part of the cluster, not all of it
            if rule.right_before and not clause.rstrip().endswith(rule.right_before):
                continue  # 拥有省级企业技术中心8家: counts something else
            if rule.cue_before and not any(cue in before for cue in rule.cues):
                continue  # a sum of money that is not the revenue (利税, 投资 …)
            found.append(quantity)
    return found


def cross_check(
    fields: dict[str, Any], form_file: str | None, by_item: dict[str, list[Candidate]], ruleset: Ruleset
) -> tuple[list[Finding], list[dict[str, Any]]]:
    """INCONSISTENT_VALUE where another item states a figure or a name differently from the form.
    Also returns every statement compared, for the report."""
    checks = ruleset.cross_checks
    findings: list[Finding] = []
    compared: list[dict[str, Any]] = []
    for rule in checks.statements:
        declared = fields.get(rule.field)
        if declared is None:
            continue
        kind = ruleset.form_field(rule.field).kind  # the ruleset checks it is area, count or money
        for item_id in rule.items:
            for candidate in by_item.get(item_id, []):
                section = candidate.section
                for quantity in _statements(section.body_text, rule, kind):
                    tolerance = checks.approximate_tolerance if quantity.approximate else checks.exact_tolerance
                    off = abs(quantity.value - declared) / max(abs(declared), 1e-9)
                    agrees = off <= tolerance
                    where = Location(file=section.document.path, pages=section.pages)
                    compared.append(
                        {
                            "field": rule.field,
                            "item": item_id,
                            "text": quantity.text,
                            "value": quantity.value,
                            "agrees": agrees,
                            "location": where.as_dict(),
                        }
                    )
                    if not agrees:
                        message = (
                            f"{section.document.path}（{ruleset.item(item_id).title}）称「{quantity.text}」，"
                            f"与申请表{'（' + form_file + '）' if form_file else ''}填报的 {_show(ruleset.form_field(rule.field).unit, declared)} 不一致"
                        )
                        findings.append(
                            finding("INCONSISTENT_VALUE", message, item=item_id, location=where, field=rule.field)
                        )
                        break  # one finding per section and field is enough for the clerk
    for name_rule in checks.names:
        declared = fields.get(name_rule.field)
        if not declared:
            continue
        for item_id in name_rule.items:
            for candidate in by_item.get(item_id, []):
                section = candidate.section
                text = section.title + "\n" + section.body_text[:3000]
                for pattern in name_rule.patterns:
                    match = pattern.search(text)
                    if not match:
                        continue
                    stated = match.group("value").strip()
                    agrees = _same_name(stated, str(declared), name_rule)
                    where = Location(file=section.document.path, pages=section.pages)
                    compared.append(
                        {
                            "field": name_rule.field,
                            "item": item_id,
                            "text": stated,
                            "value": stated,
                            "agrees": agrees,
                            "location": where.as_dict(),
                        }
                    )
                    if not agrees:
                        form = f"（{form_file}）" if form_file else ""
                        message = f"{section.document.path}（{ruleset.item(item_id).title}）写作「{stated}」，与申请表{form}填报的「{declared}」不一致"
                        findings.append(
                            finding("INCONSISTENT_VALUE", message, item=item_id, location=where, field=name_rule.field)
                        )
                    break
    return findings, compared


def _same_name(stated: str, declared: str, rule: NameRule) -> bool:
    a, b = normalize(stated), normalize(declared)
    for pattern in rule.ignore:  # 临朐县铝型材加工 for 临朐县铝型材加工特色产业集群
        a, b = pattern.sub("", a), pattern.sub("", b)
    if a == b or a in b or b in a:
        return True
    # A name written a little differently (临朐铝型材 for 临朐县铝型材加工) still shares most characters.
    shared = sum(1 for ch in set(a) if ch in b)
    return shared >= 0.8 * len(set(a))
