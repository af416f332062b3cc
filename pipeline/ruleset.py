"""Load a ruleset file: the regulation's items, limits and conditions as data."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.text import normalize, strip_numbering

RULESET_DIR = Path(__file__).parent / "rulesets"
DEFAULT_RULESET = "shandong-2020"


class RulesetError(ValueError):
    """The ruleset file is missing or malformed; the message is for people."""


@dataclass(frozen=True)
class ItemRule:
    id: str
    article: str
    title: str
    required: bool
    titles: tuple[re.Pattern[str], ...]
    negative: tuple[re.Pattern[str], ...] = ()
    cues: tuple[str, ...] = ()
    limit_words: int | None = None
    needs_seal: bool = False
    generic: bool = False  # named by its titles only where no other item's titles match
    weak_titles: tuple[re.Pattern[str], ...] = ()  # name it only where no other item's titles match

    def matches_title(self, title: str, weak: bool = False) -> bool:
        """Whether a heading, TOC entry or file name names this item (not merely mentions it); `weak`:
        by its weak titles. Use `Ruleset.items_titled`, which also masks organisation names and tries
        the weak titles only where no other title matches, where the ruleset is at hand."""
        text = normalize(strip_numbering(title))
        if not text or any(p.search(text) for p in self.negative):
            return False
        return any(p.search(text) for p in (self.weak_titles if weak else self.titles))


@dataclass(frozen=True)
class Condition:
    id: str
    article: str
    field: str
    op: str  # "<=" or ">="
    threshold: float
    unit: str
    title: str


@dataclass(frozen=True)
class FieldRule:
    """One field of the application form and the labels it goes by."""

    id: str
    kind: str  # text, region, area, count, money
    labels: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def matches_label(self, label: str) -> bool:
        return self.matches_normalized(normalize(label))

    def matches_normalized(self, text: str) -> bool:
        """`matches_label` on a label already passed through `normalize`."""
        return any(lab in text for lab in self._labels) and not any(x in text for x in self.exclude)

    @functools.cached_property
    def _labels(self) -> tuple[str, ...]:
        return tuple(normalize(lab) for lab in self.labels)


@dataclass(frozen=True)
class StatementRule:
    """Where else a figure is stated (e.g. the introduction's enterprise count) and how to tell it."""

    field: str
    items: tuple[str, ...]
    cues: tuple[str, ...]
    qualifiers: tuple[str, ...]
    units: tuple[str, ...] = ()
    lead_ins: tuple[str, ...] = ()
    right_before: tuple[str, ...] = ()


@dataclass(frozen=True)
class NameRule:
    field: str
    items: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class CrossChecks:
    exact_tolerance: float = 0.02
    approximate_tolerance: float = 0.10
    statements: tuple[StatementRule, ...] = ()
    names: tuple[NameRule, ...] = ()


@dataclass(frozen=True)
class Identification:
    present_threshold: float = 0.45
    low_confidence: float = 0.65
    empty_body_words: int = 30
    ocr_low_confidence: float = 0.8


@dataclass(frozen=True)
class SealRules:
    cues: tuple[str, ...] = ("盖章", "公章")
    min_score: float = 0.5


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per loaded file
class Ruleset:
    id: str
    title: str
    items: tuple[ItemRule, ...]
    conditions: tuple[Condition, ...] = ()
    identification: Identification = field(default_factory=Identification)
    seals: SealRules = field(default_factory=SealRules)
    form_item: str | None = None
    form_fields: tuple[FieldRule, ...] = ()
    required_fields: tuple[str, ...] = ()
    cross_checks: CrossChecks = field(default_factory=CrossChecks)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    relaxation: str = ""
    source: str = ""
    masks: tuple[re.Pattern[str], ...] = ()  # organisation names and the like: not an item's words
    places: tuple[str, ...] = ()  # cities and county-level divisions (OCR'd names are checked against them)
    common: tuple[re.Pattern[str], ...] = ()  # words every item title shares

    @functools.cached_property
    def place_names(self) -> re.Pattern[str] | None:
        """Any of `places`, the longest first (市中区 before 中区); None without places."""
        if not self.places:
            return None
        return re.compile("|".join(sorted(map(re.escape, self.places), key=len, reverse=True)))

    def specific(self, shared: str) -> str:
        """What two titles share beyond the words every title has."""
        for pattern in self.common:
            shared = pattern.sub("", shared)
        return shared

    def mask(self, text: str) -> str:
        """`text` without the names the vocabulary masks (工业和信息化局 is not 信息化)."""
        for pattern in self.masks:
            text = pattern.sub("", text)
        return text

    def item(self, item_id: str) -> ItemRule:
        for rule in self.items:
            if rule.id == item_id:
                return rule
        raise KeyError(item_id)

    def items_titled(self, title: str) -> list[ItemRule]:
        """The items a title names (cached: the same headings are asked about repeatedly)."""
        return list(_items_titled(self, title))

    def title_text(self, title: str) -> str:
        """A title as the title patterns see it: numbering stripped, NFKC, no spaces, names masked."""
        return self.mask(normalize(strip_numbering(title)))

    def needs_seal_check(self, text: str) -> bool:
        """Whether a page's text mentions sealing or names an item that must be sealed."""
        if any(cue in text for cue in self.seals.cues):
            return True
        flat = normalize(text)  # once per page, not once per title pattern
        return any(rule.needs_seal and any(p.search(flat) for p in rule.titles) for rule in self.items)

    def all_cues(self) -> set[str]:
        return {cue for rule in self.items for cue in rule.cues}


# libyaml's safe loader where PyYAML has it (its wheels do): ten times faster than the pure-Python one,
# which took 0.4 s of `dossier check`'s start on the ruleset.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _patterns(raw: Any, where: str) -> tuple[re.Pattern[str], ...]:
    try:
        return tuple(re.compile(str(p)) for p in raw or [])
    except re.error as exc:
        raise RulesetError(f"规则文件 {where} 中的标题模式无效：{exc}") from exc


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def parse_ruleset(data: dict[str, Any], source: str = "") -> Ruleset:
    try:
        items = tuple(
            ItemRule(
                id=str(raw["id"]),
                article=str(raw["article"]),
                title=str(raw["title"]),
                required=bool(raw.get("required", True)),
                titles=_patterns(raw.get("titles"), f"{raw['id']}.titles"),
                negative=_patterns(raw.get("negative"), f"{raw['id']}.negative"),
                cues=tuple(str(c) for c in raw.get("cues") or []),
                limit_words=int(raw["limit_words"]) if raw.get("limit_words") else None,
                needs_seal=bool(raw.get("needs_seal", False)),
                generic=bool(raw.get("generic", False)),
                weak_titles=_patterns(raw.get("weak_titles"), f"{raw['id']}.weak_titles"),
            )
            for raw in data["items"]
        )
        conditions = tuple(
            Condition(
                id=str(raw["id"]),
                article=str(raw["article"]),
                field=str(raw["field"]),
                op=str(raw["op"]),
                threshold=float(raw["threshold"]),
                unit=str(raw.get("unit", "")),
                title=str(raw.get("title", raw["id"])),
            )
            for raw in data.get("conditions") or []
        )
        ident = Identification(**(data.get("identification") or {}))
        seal_data = data.get("seals") or {}
        seals = SealRules(
            cues=tuple(str(c) for c in seal_data.get("cues", SealRules.cues)),
            min_score=float(seal_data.get("min_score", SealRules.min_score)),
        )
        form = data.get("form") or {}
        form_fields = tuple(
            FieldRule(
                id=str(key),
                kind=str(raw.get("kind", "text")),
                labels=tuple(str(x) for x in raw.get("labels") or []),
                exclude=tuple(str(x) for x in raw.get("exclude") or []),
            )
            for key, raw in (form.get("fields") or {}).items()
        )
        cross = data.get("cross_checks") or {}
        cross_checks = CrossChecks(
            exact_tolerance=float(cross.get("exact_tolerance", 0.02)),
            approximate_tolerance=float(cross.get("approximate_tolerance", 0.10)),
            statements=tuple(
                StatementRule(
                    field=str(key),
                    items=tuple(raw.get("items") or []),
                    cues=tuple(raw.get("cues") or []),
                    qualifiers=tuple(raw.get("qualifiers") or []),
                    units=tuple(raw.get("units") or []),
                    lead_ins=tuple(raw.get("lead_ins") or []),
                    right_before=tuple(raw.get("right_before") or []),
                )
                for key, raw in (cross.get("statements") or {}).items()
            ),
            names=tuple(
                NameRule(str(key), tuple(raw.get("items") or []), _patterns(raw.get("patterns"), f"cross_checks.{key}"))
                for key, raw in (cross.get("names") or {}).items()
            ),
        )
        ruleset = Ruleset(
            id=str(data["id"]),
            title=str(data["title"]),
            items=items,
            conditions=conditions,
            identification=ident,
            seals=seals,
            form_item=str(form["item"]) if form.get("item") else None,
            form_fields=form_fields,
            required_fields=tuple(str(x) for x in form.get("required") or []),
            cross_checks=cross_checks,
            valid_from=_date(data.get("valid_from")),
            valid_until=_date(data.get("valid_until")),
            relaxation=str(data.get("relaxation", "")),
            source=source,
            masks=_patterns((data.get("vocabulary") or {}).get("masks"), "vocabulary.masks"),
            common=_patterns((data.get("vocabulary") or {}).get("common"), "vocabulary.common"),
            places=tuple(
                dict.fromkeys(
                    str(name)
                    for city, counties in (data.get("places") or {}).items()
                    for name in (city, *(counties or []))
                )
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RulesetError):
            raise
        raise RulesetError(f"规则文件 {source or '(内存)'} 格式有误：{exc!r}") from exc
    ids = [rule.id for rule in ruleset.items]
    if len(set(ids)) != len(ids):
        raise RulesetError(f"规则文件 {source} 中的材料编号重复：{ids}")
    for cond in ruleset.conditions:
        if cond.op not in ("<=", ">="):
            raise RulesetError(f"规则文件 {source} 中条件 {cond.id} 的比较符 {cond.op} 不受支持")
    return ruleset


def load_ruleset(id_or_path: str = DEFAULT_RULESET) -> Ruleset:
    """A bundled ruleset by id (`shandong-2020`) or any YAML file by path."""
    path = Path(id_or_path)
    if not path.suffix:
        path = RULESET_DIR / f"{id_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(
            sorted(p.stem for p in RULESET_DIR.glob("*.yaml") if "\nitems:" in p.read_text(encoding="utf-8"))
        )
        raise RulesetError(f"找不到规则集「{id_or_path}」（内置规则集：{known}）")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulesetError(f"无法读取规则文件 {path}：{exc}") from exc
    if not isinstance(data, dict):
        raise RulesetError(f"规则文件 {path} 不是一个 YAML 映射")
    return parse_ruleset(data, source=str(path))


@functools.lru_cache(maxsize=8192)
def _items_titled(ruleset: Ruleset, title: str) -> tuple[ItemRule, ...]:
    text = ruleset.title_text(title)
    named = tuple(rule for rule in ruleset.items if rule.matches_title(text))
    specific = tuple(rule for rule in named if not rule.generic)
    if specific or named:
        return specific or named
    return tuple(rule for rule in ruleset.items if rule.matches_title(text, weak=True))
