"""Checks: turn identified sections and read files into item results and findings (CONTRACT.md)."""

from __future__ import annotations

from core.model import Document, SealMark
from core.text import count_chars_no_spaces, count_words

from .identify import Candidate
from .intake import IntakeProblem
from .report import Finding, ItemResult, Location, SealFound, SealNotFound, SealUnchecked, Severity
from .ruleset import ItemRule, Ruleset

# Finding codes and their severities are part of the outside contract.
SEVERITY: dict[str, Severity] = {
    "ITEM_MISSING": "error",
    "ITEM_OVERSIZED": "error",
    "SEAL_MISSING": "error",
    "ITEM_EMPTY": "error",
    "FILE_UNREADABLE": "error",
    "FORM_FIELD_MISSING": "warning",
    "CONDITION_NOT_MET": "warning",
    "INCONSISTENT_VALUE": "warning",
    "UNSUPPORTED_FORMAT": "warning",
    "OCR_LOW_CONFIDENCE": "warning",
    "LOW_CONFIDENCE": "warning",
    "DUPLICATE_FILE": "info",
    "ARCHIVE_ENTRY_SKIPPED": "info",
    "LIMIT_REACHED": "warning",
}


def finding(
    code: str, message: str, item: str | None = None, location: Location | None = None, field: str | None = None
) -> Finding:
    return Finding(code=code, severity=SEVERITY[code], message=message, item=item, location=location, field=field)


def _location(candidate: Candidate) -> Location:
    return Location(file=candidate.section.document.path, pages=candidate.section.pages)


def _merge_locations(candidates: list[Candidate]) -> list[Location]:
    """One location per file, its pages spanning every section of the item in that file."""
    merged: dict[str, Location] = {}
    for candidate in candidates:
        loc = _location(candidate)
        seen = merged.get(loc.file)
        if seen is None:
            merged[loc.file] = Location(file=loc.file, pages=list(loc.pages) if loc.pages else None)
        elif seen.pages and loc.pages:
            seen.pages = [min(seen.pages[0], loc.pages[0]), max(seen.pages[1], loc.pages[1])]
    return list(merged.values())


def _word_counts(candidates: list[Candidate]) -> tuple[int, int]:
    """Body 字 of an item: summed over its sections within one file; across files the largest
    (the same text is often submitted twice, as .docx and as PDF)."""
    per_file: dict[str, list[int]] = {}
    for candidate in candidates:
        text = candidate.section.counted_text
        counts = per_file.setdefault(candidate.section.document.path, [0, 0])
        counts[0] += count_words(text)
        counts[1] += count_chars_no_spaces(text)
    if not per_file:
        return 0, 0
    words, chars = max(per_file.values())
    return words, chars


def _seal(rule: ItemRule, candidates: list[Candidate], result: ItemResult) -> None:
    """The best seal on the item's own pages (or in its Word file's pictures), or SEAL_MISSING."""
    marks: list[tuple[str, SealMark]] = []
    checked: list[str] = []
    for candidate in candidates:
        doc, pages = candidate.section.document, candidate.section.pages
        # A Word file's pictures are known by their order: only those inside this section count (a
        # certificate's seal elsewhere in a bound Word file is not the declaration's).
        pictures = {b.picture for b in candidate.section.blocks if b.kind == "figure"}

        def inside(mark: SealMark, pages: list[int] | None = pages, pictures: set[int | None] = pictures) -> bool:
            if mark.page is None:
                return mark.picture is None or mark.picture in pictures
            return pages is None or pages[0] <= mark.page <= pages[1]

        checked += [
            f"{doc.path}" + (f" 第{p}页" if p else "")
            for p in doc.seal_checked
            if p == 0 or pages is None or pages[0] <= p <= pages[1]
        ]
        marks += [(doc.path, mark) for mark in doc.seals if inside(mark)]
    where = result.locations[0] if result.locations else None
    if marks:
        path, best = max(marks, key=lambda pm: pm[1].score)
        result.seal = SealFound(
            file=path,
            page=best.page,
            bbox=[round(v, 1) for v in best.bbox],
            score=best.score,
            diameter_mm=best.diameter_mm,
            crop=f"seal-{rule.id}.png",
        )
        result.seal_crop = best.crop_png
    elif checked:
        result.seal = SealNotFound(checked=checked)
        result.findings.append(
            finding("SEAL_MISSING", f"{rule.title}未发现申报单位公章（已检查：{'、'.join(checked)}）", rule.id, where)
        )
    else:
        # Nothing could be searched (a legacy .doc, a page that failed to render): say so, no guess.
        result.seal = SealUnchecked(reason="无法检查此文件中的公章，请人工核对")
        result.findings.append(finding("LOW_CONFIDENCE", f"{rule.title}的公章无法自动检查，请人工核对", rule.id, where))


def _ocr_quality(rule: ItemRule, candidates: list[Candidate], ruleset: Ruleset, result: ItemResult) -> None:
    """OCR_LOW_CONFIDENCE when the item was judged only on OCR text that reads poorly."""
    blocks = [b for c in candidates for b in c.section.blocks]
    if not blocks or any(b.source != "ocr" for b in blocks):
        return
    chars = sum(len(b.text) for b in blocks)
    confidence = sum((b.confidence or 0.0) * len(b.text) for b in blocks) / max(1, chars)
    result.metrics["ocr_confidence"] = round(confidence, 3)  # type: ignore[assignment]
    if confidence < ruleset.identification.ocr_low_confidence:
        result.findings.append(
            finding(
                "OCR_LOW_CONFIDENCE",
                f"{rule.title}为扫描件，文字识别可信度低（{confidence:.2f}），字数与内容判断可能不准，请人工核对",
                rule.id,
                result.locations[0] if result.locations else None,
            )
        )


def _partial_pages(candidates: list[Candidate]) -> int:
    """The item's scanned pages read only far enough to tell what they are (pipeline/scans.py)."""
    pages: set[tuple[str, int]] = set()
    for c in candidates:
        doc, span = c.section.document, c.section.pages
        if c.section.role == "whole" and doc.pages:
            span = [1, len(doc.pages)]
        for page in doc.pages or []:
            if page.ocr_partial and span and span[0] <= page.number <= span[1]:
                pages.add((doc.path, page.number))
    return len(pages)


def judge_item(rule: ItemRule, candidates: list[Candidate], ruleset: Ruleset) -> ItemResult:
    result = ItemResult(id=rule.id, article=rule.article, title=rule.title, required=rule.required)
    if not candidates:
        if rule.required:
            result.findings.append(finding("ITEM_MISSING", f"缺少{rule.title}（{rule.article}）", item=rule.id))
        return result
    result.present = True
    result.confidence = max(c.confidence for c in candidates)
    result.locations = _merge_locations(candidates)
    words, chars = _word_counts(candidates)
    result.metrics = {"word_count": words, "char_count_no_spaces": chars}
    where = result.locations[0]
    if rule.limit_words is not None:
        result.metrics["limit"] = rule.limit_words
        if words > rule.limit_words:
            result.findings.append(
                finding(
                    "ITEM_OVERSIZED",
                    f"{rule.title} {words} 字，超过 {rule.limit_words} 字上限（多 {words - rule.limit_words} 字）",
                    item=rule.id,
                    location=where,
                )
            )
    _ocr_quality(rule, candidates, ruleset, result)
    if partial := _partial_pages(candidates):
        result.metrics["ocr_pages_partial"] = partial
    if rule.needs_seal:
        _seal(rule, candidates, result)
    if words < ruleset.identification.empty_body_words and not _pictures(candidates):
        failed = [p.ocr_error for c in candidates for p in c.section.document.pages or [] if p.ocr_error]
        why = f"（{failed[0]}）" if failed else ""
        result.findings.append(
            finding(
                "ITEM_EMPTY",
                f"{rule.title}只有标题或几乎没有内容（正文 {words} 字）{why}",
                item=rule.id,
                location=where,
            )
        )
    if result.confidence < ruleset.identification.low_confidence:
        result.findings.append(
            finding(
                "LOW_CONFIDENCE",
                f"{rule.title}的识别把握不大（置信度 {result.confidence:.2f}），请人工核对："
                + "；".join(c.section.label() for c in candidates),
                item=rule.id,
                location=where,
            )
        )
    elif all(c.section.doubt for c in candidates):
        result.findings.append(
            finding(
                "LOW_CONFIDENCE",
                f"{rule.title}：" + "；".join(str(c.section.doubt) for c in candidates) + "，请人工核对",
                item=rule.id,
                location=where,
            )
        )
    elif all(c.rival and rule.id not in c.titled for c in candidates):
        # Nothing names the item, and what was taken for it reads almost as well as another item.
        rivals = "、".join(sorted({ruleset.item(c.rival).title for c in candidates if c.rival}))
        result.findings.append(
            finding(
                "LOW_CONFIDENCE",
                f"{rule.title}未见标题，所取内容也像{rivals}，请人工核对："
                + "；".join(c.section.label() for c in candidates),
                item=rule.id,
                location=where,
            )
        )
    return result


PICTURE_COVER = 0.15  # a picture over this share of a page is content (a certificate, a photograph)


def _pictures(candidates: list[Candidate]) -> int:
    """Pictures in the item: a Word file's pictures, a PDF's pages that are mostly a picture or a scan
    (certificates, photographed awards). An item of pictures alone is not empty."""
    count = 0
    for candidate in candidates:
        section = candidate.section
        count += sum(1 for b in section.blocks if b.kind == "figure")
        span = section.pages
        if span is not None:
            count += sum(
                1
                for page in section.document.pages or []
                if span[0] <= page.number <= span[1]
                and (page.image_cover >= PICTURE_COVER or page.ocr_reason == "image")
            )
    return count


def file_findings(docs: list[Document], duplicates: dict[str, str]) -> list[Finding]:
    """FILE_UNREADABLE, UNSUPPORTED_FORMAT and DUPLICATE_FILE, one per file concerned."""
    findings: list[Finding] = []
    for doc in docs:
        where = Location(file=doc.path)
        if doc.unsupported:
            findings.append(finding("UNSUPPORTED_FORMAT", f"{doc.path}：{doc.error}", location=where))
        elif doc.error:
            findings.append(finding("FILE_UNREADABLE", f"{doc.path} 无法读取：{doc.error}", location=where))
        findings += [finding("LIMIT_REACHED", f"{doc.path}：{hit.message}", location=where) for hit in doc.limits_hit]
        if doc.path in duplicates:
            findings.append(
                finding(
                    "DUPLICATE_FILE",
                    f"{doc.path} 与 {duplicates[doc.path]} 内容完全相同（重复提交）",
                    location=where,
                )
            )
    return findings


def intake_findings(problems: list[IntakeProblem]) -> list[Finding]:
    findings: list[Finding] = []
    for problem in problems:
        where = Location(file=problem.rel)
        if problem.kind in ("unsafe_path", "symlink", "special"):
            findings.append(finding("ARCHIVE_ENTRY_SKIPPED", f"{problem.rel}：{problem.reason}", location=where))
        else:
            findings.append(finding("FILE_UNREADABLE", f"{problem.rel} 无法读取：{problem.reason}", location=where))
    return findings
