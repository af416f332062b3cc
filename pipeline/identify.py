"""Identify which Art. 6 item each section is.

Each section is scored against each item from two kinds of evidence:
- its title (heading, 目录 entry, first line) or, for a whole file, its file name, matched against
  the item's title patterns: this is what makes a section *be* an item;
- its content: how many of the item's cue words it uses and how densely (jieba words).
A section that merely mentions another item ("本集群已编制发展规划") gets no title evidence for it,
and content alone is capped below a title match, so a mention never makes an item present.
Then one assignment is chosen over the whole dossier: each section is one item (or none); an
item may span several sections; a required item still missing may take a section that scores
well enough for it from an item that has more than one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.model import Section
from core.text import normalize

from .evidence import Evidence, evidence_scores
from .ruleset import Ruleset
from .words import Segmenter

TITLE_WEIGHT = 0.75  # a title match alone
FILE_NAME_WEIGHT = 0.65  # a file-name match alone (names are often numbered but sometimes wrong)
CONTENT_WEIGHT = 0.6  # full cue coverage alone: enough for a file with no usable title
CONTENT_SAMPLE = 1200  # characters of a section's body that are segmented: enough to judge, cheap
MIN_CONTENT_CHARS = 20
COVERAGE_CUES = 6  # distinct cues that make full coverage
DENSITY_FULL = 8.0  # cue words per 1000 characters that make full density


@dataclass
class Candidate:
    section: Section
    scores: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # item → what supported it
    item: str | None = None
    titled: set[str] = field(default_factory=set)  # items its title or file name names
    rival: str | None = None  # another item it scores nearly as well for: a doubt to state

    @property
    def confidence(self) -> float:
        return round(self.scores.get(self.item, 0.0), 2) if self.item else 0.0


def _content_scores(text: str, ruleset: Ruleset, segmenter: Segmenter) -> dict[str, float]:
    # The opening says what a section is; a slice of its middle guards against a long preamble.
    middle = len(text) // 2
    sample = (
        text[: CONTENT_SAMPLE * 2 // 3] + "\n" + text[middle : middle + CONTENT_SAMPLE // 3]
        if len(text) > CONTENT_SAMPLE
        else text
    )
    sample = ruleset.mask(sample)  # 工业和信息化局 says nothing about informatization
    chars = len(normalize(sample))
    if chars < MIN_CONTENT_CHARS:
        return {}
    words = Counter(segmenter.cut(sample))
    scores: dict[str, float] = {}
    for rule in ruleset.items:
        hits = {cue: words[cue] for cue in rule.cues if words.get(cue)}
        if not hits:
            continue
        coverage = min(1.0, len(hits) / min(COVERAGE_CUES, len(rule.cues)))
        density = min(1.0, sum(hits.values()) / (chars / 1000) / DENSITY_FULL)
        scores[rule.id] = coverage * (0.5 + 0.5 * density)
    return scores


def _file_stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def score_section(section: Section, ruleset: Ruleset, segmenter: Segmenter) -> Candidate:
    candidate = Candidate(section)
    title_items = {r.id for r in ruleset.items_titled(section.title)} if section.title_source != "file_name" else set()
    name_items: set[str] = set()
    if section.role == "whole":
        name_items = {r.id for r in ruleset.items_titled(_file_stem(section.document.path))}
    content = _content_scores(section.body_text, ruleset, segmenter) if section.role != "preamble" else {}
    candidate.titled = title_items | name_items
    # A 目录 entry whose title is not where it points names the item less surely than a title does.
    title_weight = FILE_NAME_WEIGHT if section.doubt else TITLE_WEIGHT
    for rule in ruleset.items:
        title = title_weight if rule.id in title_items else FILE_NAME_WEIGHT if rule.id in name_items else 0.0
        cue = CONTENT_WEIGHT * content.get(rule.id, 0.0)
        score = 1 - (1 - title) * (1 - cue)
        if score > 0:
            candidate.scores[rule.id] = round(score, 4)
            candidate.evidence[rule.id] = [
                label
                for label, present in (
                    ("标题", rule.id in title_items),
                    ("文件名", rule.id in name_items),
                    (f"内容关键词 {content.get(rule.id, 0):.2f}", rule.id in content),
                )
                if present
            ]
    return candidate


EVIDENCE_WEIGHT = 0.4  # evidence alone stays under the presence threshold: it supports, never decides


def add_evidence(candidate: Candidate, evidence: list[Evidence], weights: Mapping[str, Any]) -> None:
    """Strengthen brand_evidence / innovation_platforms with the honours, platforms and media the
    section names (spaCy inventory), combined with the other evidence as a noisy-or."""
    if candidate.section.role == "preamble" or not evidence:
        return
    scores = evidence_scores(evidence, weights, chars=max(1, len(candidate.section.body_text)))
    for item_id, score in scores.items():
        if score <= 0:
            continue
        before = candidate.scores.get(item_id, 0.0)
        candidate.scores[item_id] = round(1 - (1 - before) * (1 - EVIDENCE_WEIGHT * score), 4)
        candidate.evidence.setdefault(item_id, []).append(f"证明材料清单 {score:.2f}")


RIVAL_MARGIN = 0.1  # a second item scoring this close to the first makes the choice a doubt


def assign(candidates: list[Candidate], ruleset: Ruleset) -> dict[str, list[Candidate]]:
    """Choose each section's item over the whole dossier; returns item id → its sections."""
    threshold = ruleset.identification.present_threshold
    by_item: dict[str, list[Candidate]] = {rule.id: [] for rule in ruleset.items}
    for candidate in candidates:
        if not candidate.scores or candidate.section.role == "preamble":
            continue
        ranked = sorted(candidate.scores, key=lambda item: -candidate.scores[item])
        best = ranked[0]
        if candidate.scores[best] >= threshold:
            candidate.item = best
            by_item[best].append(candidate)
            second = ranked[1] if len(ranked) > 1 else None
            if second and candidate.scores[second] >= max(threshold, candidate.scores[best] - RIVAL_MARGIN):
                candidate.rival = second
    # A required item still missing may take a section no title claims for another item: an untitled
    # section of an item found several times, or one left unassigned. A section whose title or file
    # name names its item stays with it (an item missing is missing, not a piece of another's file).
    for rule in ruleset.items:
        if by_item[rule.id] or not rule.required:
            continue
        spare = [
            c
            for c in candidates
            if c.scores.get(rule.id, 0.0) >= threshold
            and c.section.role != "preamble"
            and (c.item is None or (len(by_item[c.item]) > 1 and c.item not in c.titled))
        ]
        if spare:
            chosen = max(spare, key=lambda c: c.scores[rule.id])
            if chosen.item is not None:
                by_item[chosen.item].remove(chosen)
            chosen.rival = chosen.item
            chosen.item = rule.id
            by_item[rule.id].append(chosen)
    return by_item
