"""Load a ruleset file: the regulation's items, limits and conditions as data.

The YAML is validated by pydantic models that mirror its layout (`RulesetSpec` and the models under it):
an unknown key is an error, never silently ignored, so a misspelt `limit_wrods` cannot quietly drop a
limit. Names the file uses for each other (items, form fields) are checked against each other too. Any
problem is a `RulesetError` naming the file, the line and the key. The pipeline works with the frozen
dataclasses below (`Ruleset`, `ItemRule` …), built from the validated data: patterns compiled, lists
made tuples.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.numbers import UNIT_OF
from core.text import normalize, strip_numbering
from pipeline import DEFAULT_RULESET

if TYPE_CHECKING:
    from pipeline.evidence import EvidenceRules

RULESET_DIR = Path(__file__).parent / "rulesets"

TITLES_REMEMBERED = 8192  # headings whose items a ruleset remembers (Ruleset.items_titled)
# The evidence patterns a ruleset without `evidence:` uses (pipeline/evidence.py's DEFAULT_PATTERNS).
DEFAULT_EVIDENCE = (RULESET_DIR / "evidence-shandong.yaml").resolve()

FieldKind = Literal["text", "region", "area", "count", "money"]
NUMERIC_KINDS: tuple[str, ...] = ("area", "count", "money")  # kinds a threshold or a statement compares


class RulesetError(ValueError):
    """The ruleset file (or its evidence-pattern file) is missing or malformed; the message is for people.
    `file`, `line` (1-based) and `key` (dotted path) locate the first problem when it is known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, key: str | None = None):
        super().__init__(message)
        self.file, self.line, self.key = file, line, key


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
    """One field of the application form, the labels it goes by and the report's name for it."""

    id: str
    kind: str  # text, region, area, count, money
    labels: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    label: str = ""  # the report's name for the field; "" → the first of `labels`
    unit: str = ""  # what its value is shown in (yuan, km2, 户 …); "" for text

    def __post_init__(self) -> None:
        if not self.label and self.labels:
            object.__setattr__(self, "label", self.labels[0])

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
    cue_before: bool = False  # a cue must stand just before the figure (a sum that is not the revenue)


@dataclass(frozen=True)
class NameRule:
    field: str
    items: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    ignore: tuple[re.Pattern[str], ...] = ()  # taken out of both names before they are compared


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
    partial_reading_confidence: float = 0.9


@dataclass(frozen=True)
class SealRules:
    cues: tuple[str, ...] = ("盖章", "公章")
    min_score: float = 0.5


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"  # 2025年10月8日: no leading zeros


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
    evidence_patterns: Path = DEFAULT_EVIDENCE  # the evidence-pattern file (pipeline/evidence.py)
    evidence_rules: EvidenceRules | None = None  # that file as read and checked with the ruleset
    issued_by: str = ""
    notice: dict[str, str] = field(default_factory=dict)  # NoticeSpec as data: the report carries it
    recognition_years: int | None = None  # how long a recognition lasts

    @property
    def evidence_weights(self) -> Mapping[str, Any]:
        """How the evidence its pattern file names counts for each item (the file's `scores`)."""
        return self.evidence_rules.scores if self.evidence_rules is not None else {}

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

    def form_field(self, field_id: str) -> FieldRule:
        """The form field with this id (KeyError when the form does not define it)."""
        for rule in self.form_fields:
            if rule.id == field_id:
                return rule
        raise KeyError(field_id)

    def field_label(self, field_id: str) -> str:
        """The report's name for a form field (its `label`, else the first of its `labels`)."""
        return self.form_field(field_id).label

    def in_force(self, on: dt.date) -> bool:
        """Whether the regulation applies on that day (`valid_from` and `valid_until` included)."""
        return self.validity_note(on) is None

    def validity_note(self, on: dt.date) -> str | None:
        """None while the regulation is in force on that day; else the sentence telling the clerk so."""
        day = on.date() if isinstance(on, dt.datetime) else on  # a datetime does not compare with a date
        if self.valid_until is not None and day > self.valid_until:
            return f"依据文件已于{_chinese_date(self.valid_until)}到期，请确认本轮适用的办法"
        if self.valid_from is not None and day < self.valid_from:
            return f"依据文件自{_chinese_date(self.valid_from)}起施行，检查日期早于施行日期，请确认本轮适用的办法"
        return None

    def items_titled(self, title: str) -> list[ItemRule]:
        """The items a title names (remembered per ruleset: the same headings are asked about repeatedly)."""
        known = self._titled
        if title not in known:
            if len(known) >= TITLES_REMEMBERED:  # a long-lived service meets ever new headings
                known.clear()
            known[title] = _items_titled(self, title)
        return list(known[title])

    @functools.cached_property
    def _titled(self) -> dict[str, tuple[ItemRule, ...]]:
        return {}

    def title_text(self, title: str) -> str:
        """A title as the title patterns see it: numbering stripped, NFKC, no spaces, names masked."""
        return self.mask(normalize(strip_numbering(title)))

    def reads_text(self, item_id: str) -> bool:
        """Whether a check reads the item's text beyond telling what it is: a word limit, a seal, the form's
        fields, a cross-check. A scanned page of any other item needs reading only far enough to be
        identified (pipeline/scans.py)."""
        rule = self.item(item_id)
        crossed = {i for check in (*self.cross_checks.statements, *self.cross_checks.names) for i in check.items}
        return rule.limit_words is not None or rule.needs_seal or item_id == self.form_item or item_id in crossed

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


class _UniqueKeyLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """SAFE_LOADER refusing a key written twice in one mapping: YAML would keep the last one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"键「{key.value}」在同一处写了两次", key.start_mark
                    )
                seen.add(key.value)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------
# Validation: pydantic models of the file, and errors located in it
# --------------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]  # a path into the YAML: mapping keys and sequence indexes
Problem = tuple[Loc, str]  # where, and what is wrong there (Chinese)
_M = TypeVar("_M", bound=BaseModel)
_MAX_SHOWN = 8  # problems listed in one error; the rest are counted


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"正则表达式「{value}」无效：{exc}") from None
    return value


def _value_regex(value: str) -> str:
    if "value" not in re.compile(_regex(value)).groupindex:
        raise ValueError(f"正则表达式「{value}」缺少命名分组 (?P<value>…)，无法取出名称")
    return value


Regex = Annotated[str, AfterValidator(_regex)]
ValueRegex = Annotated[str, AfterValidator(_value_regex)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Spec(BaseModel):
    """Base of every model of a rules file: a key the model does not declare is an error."""

    model_config = ConfigDict(extra="forbid")


class IdentificationSpec(Spec):
    present_threshold: Fraction = Identification.present_threshold
    low_confidence: Fraction = Identification.low_confidence
    empty_body_words: int = Field(Identification.empty_body_words, ge=0)
    ocr_low_confidence: Fraction = Identification.ocr_low_confidence
    partial_reading_confidence: Fraction = Identification.partial_reading_confidence


class SealSpec(Spec):
    cues: list[str] = list(SealRules.cues)
    min_score: Fraction = SealRules.min_score


class NoticeSpec(Spec):
    """How the 补正通知 cites the regulation (pipeline/reports/notice.py)."""

    short_title: str = ""  # what the letter calls it after the first time: 《办法》
    review_article: str = ""  # the article under which the bureau checks a dossier and asks for 补正
    general_article: str = ""  # what a finding about the dossier as a whole (a file, a format) rests on


class VocabularySpec(Spec):
    masks: list[Regex] = []
    common: list[Regex] = []


class ItemSpec(Spec):
    id: str
    article: str
    title: str
    required: bool = True
    needs_seal: bool = False
    generic: bool = False
    limit_words: int | None = Field(None, gt=0)
    titles: list[Regex] = []
    weak_titles: list[Regex] = []
    negative: list[Regex] = []
    cues: list[str] = []


class FieldSpec(Spec):
    kind: FieldKind = "text"
    label: str | None = None  # the report's name; default: the first of `labels`
    unit: str | None = None  # a count's noun (户, 件); money and areas are in the unit they are parsed into
    labels: list[str] = Field(min_length=1)
    exclude: list[str] = []

    @model_validator(mode="after")
    def _count_has_a_unit(self) -> FieldSpec:
        if self.kind == "count" and not self.unit:
            raise ValueError("计数栏目须写明单位 unit（如 户、件）")
        return self


class FormSpec(Spec):
    item: str | None = None
    fields: dict[str, FieldSpec] = {}
    required: list[str] = []


class StatementSpec(Spec):
    items: list[str] = Field(min_length=1)
    cues: list[str] = Field(min_length=1)
    qualifiers: list[str] = []
    units: list[str] = []
    lead_ins: list[str] = []
    right_before: list[str] = []
    cue_before: bool = False


class NameSpec(Spec):
    items: list[str] = Field(min_length=1)
    patterns: list[ValueRegex] = Field(min_length=1)
    ignore: list[Regex] = []


class CrossCheckSpec(Spec):
    exact_tolerance: Fraction = CrossChecks.exact_tolerance
    approximate_tolerance: Fraction = CrossChecks.approximate_tolerance
    statements: dict[str, StatementSpec] = {}
    names: dict[str, NameSpec] = {}


class ConditionSpec(Spec):
    id: str
    article: str
    field: str
    op: Literal["<=", ">="]
    threshold: float
    unit: str = ""
    title: str | None = None  # default: the id


class RulesetSpec(Spec):
    """A ruleset file, key for key."""

    id: str
    title: str
    issued_by: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    recognition_years: int | None = Field(None, gt=0)
    evidence: str | None = None  # the evidence-pattern file, relative to this file
    identification: IdentificationSpec = Field(default_factory=IdentificationSpec)
    seals: SealSpec = Field(default_factory=SealSpec)
    vocabulary: VocabularySpec = Field(default_factory=VocabularySpec)
    places: dict[str, list[str] | None] = {}  # city → its county-level divisions
    items: list[ItemSpec] = Field(min_length=1)
    form: FormSpec = Field(default_factory=FormSpec)
    cross_checks: CrossCheckSpec = Field(default_factory=CrossCheckSpec)
    conditions: list[ConditionSpec] = []
    relaxation: str = ""
    notice: NoticeSpec = Field(default_factory=NoticeSpec)


def _plain(tp: Any) -> Any:
    """`X | None` and `Annotated[X, …]` as X."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _keys_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model allows at a path (for "did you mean"); [] where it does not say."""
    tp: Any = model
    for part in loc:
        tp = _plain(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        elif origin is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict and isinstance(part, str):
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _plain(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


_EXPECTED = {  # pydantic error type prefix → what the value should have been
    "bool": "true 或 false",
    "int": "整数",
    "float": "数字",
    "string": "文字",
    "list": "列表",
    "dict": "映射（键: 值）",
    "model": "映射（键: 值）",
    "date": "日期（如 2025-10-08）",
}


_BOUNDS = {  # pydantic error type → (the wording, the ctx key of the bound)
    "greater_than": ("大于", "gt"),
    "greater_than_equal": ("不小于", "ge"),
    "less_than": ("小于", "lt"),
    "less_than_equal": ("不大于", "le"),
}


def _problem(err: Any, model: type[BaseModel]) -> Problem:
    """One pydantic error as (path, Chinese sentence)."""
    loc: Loc = tuple(p for p in err["loc"] if p != "[key]")
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "extra_forbidden":
        allowed = _keys_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"，是不是「{close[0]}」？" if close else f"（可用的键：{'、'.join(allowed)}）" if allowed else ""
        return loc, f"不认识的键{hint}"
    if kind == "missing":
        return loc, "缺少此项"
    if kind == "literal_error":
        return loc, f"取值「{_shown(value)}」无效，应为 {str(ctx.get('expected', '')).replace(' or ', ', ')} 之一"
    if kind in ("value_error", "assertion_error"):
        return loc, str(ctx.get("error", err["msg"]))
    if kind == "too_short":
        return loc, f"至少要有 {ctx.get('min_length', 1)} 项"
    if kind in _BOUNDS:
        word, bound = _BOUNDS[kind]
        return loc, f"应{word} {ctx.get(bound, '')}，实为「{_shown(value)}」"
    expected = _EXPECTED.get(kind.split("_")[0])
    if expected:
        return loc, f"应为{expected}，实为「{_shown(value)}」"
    return loc, f"取值「{_shown(value)}」无效（{err['msg']}）"


def _locate(root: yaml.Node | None, loc: Loc) -> tuple[int, Loc, bool]:
    """The 1-based line a path points at (a mapping step's key, a sequence's element, else the nearest
    ancestor: a missing key is reported where its mapping is), the parts of the path the file has, and
    whether the last part is one of them."""
    node, line, found, last = root, 1 if root is None else root.start_mark.line + 1, [], False
    for part in loc:
        last = False
        if isinstance(node, yaml.MappingNode):
            hit = next(
                (kv for kv in node.value if isinstance(kv[0], yaml.ScalarNode) and kv[0].value == str(part)), None
            )
            if hit is None:
                continue
            line, node = hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            continue
        found.append(part)
        last = True
    return line, tuple(found), last


def _dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def located_error(
    path: Path, text: str, problems: list[Problem], what: str = "规则文件", error: type[RulesetError] = RulesetError
) -> RulesetError:
    """A RulesetError (or `error`) listing problems by line and key. The file is composed again only
    here, for the node marks: the normal load never pays for it."""
    try:
        root = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        root = None
    located = []
    for loc, message in problems:
        line, found, complete = _locate(root, loc)
        key = found if complete else found + loc[-1:]  # plus the key the file lacks (or misspells)
        located.append((line, _dotted(key), message))
    located.sort(key=lambda x: x[0])
    lines = [f"{what} {path} 第 {line} 行「{key}」：{message}" for line, key, message in located[:_MAX_SHOWN]]
    if len(located) > _MAX_SHOWN:
        lines.append(f"（另有 {len(located) - _MAX_SHOWN} 处问题）")
    first = located[0] if located else (None, None, "")
    return error("\n".join(lines), file=str(path), line=first[0], key=first[1])


def load_validated(
    path: Path,
    model: type[_M],
    what: str = "规则文件",
    check: Callable[[_M], list[Problem]] | None = None,
    error: type[RulesetError] = RulesetError,
) -> tuple[_M, dict[str, Any]]:
    """A YAML file read with SAFE_LOADER and validated by `model` (then by `check`, for what refers to
    what): the model and the plain data. Any problem is a RulesetError (or `error`) naming file, line
    and key; `what` is what the message calls the file."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"无法读取{what} {path}：{exc}", file=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" 第 {line} 行" if line else ""
        problem = getattr(exc, "problem", None) or exc
        raise error(f"{what} {path}{where} 不是有效的 YAML：{problem}", file=str(path), line=line) from exc
    if not isinstance(data, dict):
        raise error(f"{what} {path} 不是一个 YAML 映射（键: 值）", file=str(path), line=1)
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, model) for err in exc.errors()]
        raise located_error(path, text, problems, what, error) from None
    problems = check(spec) if check else []
    if problems:
        raise located_error(path, text, problems, what, error)
    return spec, data


def _references(spec: RulesetSpec, base: Path) -> list[Problem]:
    """What the schema cannot say: ids unique, and every name of an item or a form field defined."""
    problems: list[Problem] = []
    items: set[str] = set()
    for i, item in enumerate(spec.items):
        if item.id in items:
            problems.append((("items", i, "id"), f"材料编号「{item.id}」重复"))
        items.add(item.id)
    fields = spec.form.fields
    known_items = "、".join(dict.fromkeys(i.id for i in spec.items))
    known_fields = "、".join(fields) or "（无）"

    def item_ref(loc: Loc, item_id: str) -> None:
        if item_id not in items:
            problems.append((loc, f"没有编号为「{item_id}」的材料（已定义：{known_items}）"))

    def field_ref(loc: Loc, field_id: str, numeric: bool) -> None:
        if field_id not in fields:
            problems.append((loc, f"申请表没有栏目「{field_id}」（form.fields 已定义：{known_fields}）"))
        elif numeric and fields[field_id].kind not in NUMERIC_KINDS:
            problems.append(
                (loc, f"栏目「{field_id}」的 kind 是 {fields[field_id].kind}，不是数值（{'/'.join(NUMERIC_KINDS)}）")
            )

    if spec.form.item is not None:
        item_ref(("form", "item"), spec.form.item)
    for j, field_id in enumerate(spec.form.required):
        field_ref(("form", "required", j), field_id, numeric=False)
    conditions: set[str] = set()
    for i, cond in enumerate(spec.conditions):
        if cond.id in conditions:
            problems.append((("conditions", i, "id"), f"条件编号「{cond.id}」重复"))
        conditions.add(cond.id)
        field_ref(("conditions", i, "field"), cond.field, numeric=True)
    for key, statement in spec.cross_checks.statements.items():
        field_ref(("cross_checks", "statements", key), key, numeric=True)
        for j, item_id in enumerate(statement.items):
            item_ref(("cross_checks", "statements", key, "items", j), item_id)
    for key, name in spec.cross_checks.names.items():
        field_ref(("cross_checks", "names", key), key, numeric=False)
        for j, item_id in enumerate(name.items):
            item_ref(("cross_checks", "names", key, "items", j), item_id)
    if spec.valid_from and spec.valid_until and spec.valid_from > spec.valid_until:
        problems.append((("valid_until",), f"到期日 {spec.valid_until} 早于施行日 {spec.valid_from}"))
    if spec.evidence is not None and _evidence_path(spec.evidence, base) is None:
        problems.append((("evidence",), f"找不到证据模式文件 {base / spec.evidence}"))
    return problems


def _evidence_path(name: str, base: Path) -> Path | None:
    """The pattern file a ruleset names: beside the ruleset, else a bundled one of that name (a copy of the
    bundled ruleset edited elsewhere still finds the bundled patterns); None when neither exists."""
    for folder in (base, RULESET_DIR):
        if (folder / name).is_file():
            return (folder / name).resolve()
    return None


def _build(spec: RulesetSpec, source: str, evidence: Path, evidence_rules: EvidenceRules) -> Ruleset:
    """The runtime Ruleset from validated data (every pattern compiles: validation tried each)."""

    def compiled(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in patterns)

    cross = spec.cross_checks
    return Ruleset(
        id=spec.id,
        title=spec.title,
        items=tuple(
            ItemRule(
                id=raw.id,
                article=raw.article,
                title=raw.title,
                required=raw.required,
                titles=compiled(raw.titles),
                negative=compiled(raw.negative),
                cues=tuple(raw.cues),
                limit_words=raw.limit_words,
                needs_seal=raw.needs_seal,
                generic=raw.generic,
                weak_titles=compiled(raw.weak_titles),
            )
            for raw in spec.items
        ),
        conditions=tuple(
            Condition(
                id=raw.id,
                article=raw.article,
                field=raw.field,
                op=raw.op,
                threshold=float(raw.threshold),
                unit=raw.unit,
                title=raw.title if raw.title is not None else raw.id,
            )
            for raw in spec.conditions
        ),
        identification=Identification(**spec.identification.model_dump()),
        seals=SealRules(cues=tuple(spec.seals.cues), min_score=spec.seals.min_score),
        form_item=spec.form.item or None,
        form_fields=tuple(
            FieldRule(
                id=key,
                kind=raw.kind,
                labels=tuple(raw.labels),
                exclude=tuple(raw.exclude),
                label=raw.label or "",
                unit=raw.unit or UNIT_OF.get(raw.kind, ""),
            )
            for key, raw in spec.form.fields.items()
        ),
        required_fields=tuple(spec.form.required),
        cross_checks=CrossChecks(
            exact_tolerance=cross.exact_tolerance,
            approximate_tolerance=cross.approximate_tolerance,
            statements=tuple(
                StatementRule(
                    field=key,
                    items=tuple(raw.items),
                    cues=tuple(raw.cues),
                    qualifiers=tuple(raw.qualifiers),
                    units=tuple(raw.units),
                    lead_ins=tuple(raw.lead_ins),
                    right_before=tuple(raw.right_before),
                    cue_before=raw.cue_before,
                )
                for key, raw in cross.statements.items()
            ),
            names=tuple(
                NameRule(key, tuple(raw.items), compiled(raw.patterns), compiled(raw.ignore))
                for key, raw in cross.names.items()
            ),
        ),
        valid_from=spec.valid_from,
        valid_until=spec.valid_until,
        relaxation=spec.relaxation,
        source=source,
        masks=compiled(spec.vocabulary.masks),
        common=compiled(spec.vocabulary.common),
        places=tuple(
            dict.fromkeys(name for city, counties in spec.places.items() for name in (city, *(counties or [])))
        ),
        evidence_patterns=evidence,
        evidence_rules=evidence_rules,
        issued_by=spec.issued_by,
        notice=spec.notice.model_dump(),
        recognition_years=spec.recognition_years,
    )


def load_ruleset(id_or_path: str = DEFAULT_RULESET) -> Ruleset:
    """A bundled ruleset by id (`shandong-2020`) or any YAML file by path; its evidence-pattern file is
    validated too (RulesetError for either)."""
    path = Path(id_or_path)
    if not path.suffix:
        path = RULESET_DIR / f"{id_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(
            sorted(p.stem for p in RULESET_DIR.glob("*.yaml") if "\nitems:" in p.read_text(encoding="utf-8"))
        )
        raise RulesetError(f"找不到规则集「{id_or_path}」（内置规则集：{known}）")
    spec, _ = load_validated(path, RulesetSpec, check=lambda s: _references(s, path.parent))
    evidence = _evidence_path(spec.evidence, path.parent) if spec.evidence is not None else DEFAULT_EVIDENCE
    from .evidence import check_patterns  # here: pipeline.evidence imports this module

    rules = check_patterns(evidence, {item.id for item in spec.items})
    return _build(spec, str(path), evidence, rules)


def _items_titled(ruleset: Ruleset, title: str) -> tuple[ItemRule, ...]:
    text = ruleset.title_text(title)
    named = tuple(rule for rule in ruleset.items if rule.matches_title(text))
    specific = tuple(rule for rule in named if not rule.generic)
    if specific or named:
        return specific or named
    return tuple(rule for rule in ruleset.items if rule.matches_title(text, weak=True))
