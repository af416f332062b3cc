"""An inventory of the evidence Art. 4 (三)(四) asks for: honours, media reports, innovation platforms.

Brand influence (品牌影响力) and technical level (技术水平) are proved by what a dossier names: 中国驰名商标,
山东名牌产品, “中国铝业之都”, reports in 大众日报 or 人民网, 省级“一企一技术”研发中心, 专精特新“小巨人” firms,
and the enterprises and institutions that hold them. This module finds those mentions with spaCy rule
components over our own jieba segmentation, so no statistical model (and no download) is involved:

- ``spacy.blank("zh")`` with its tokenizer replaced by :class:`_SegmenterTokenizer`, which cuts with
  :class:`pipeline.words.Segmenter` (every pattern word in its dictionary) and gives each token a
  class from the pattern file (TAG: NAME, INNER, ORG_END, PLATFORM_HEAD, STOP, LEVEL, QUOTE …; POS
  PROPN for any word that can be part of a name), so patterns can say "a run of name words ending
  in 有限公司" with equality tests the matcher runs in C;
- an ``entity_ruler`` with phrase patterns (matched by its PhraseMatcher) and token patterns, all read
  from the ruleset's pattern file (its ``evidence:``; ``rulesets/evidence-shandong.yaml`` by default);
- a pass that reads the level (国家级/省级/市级) written next to a mention and the canonical name.

Only clauses (text between ，、：。；) that contain a pattern's anchor word (中心, 公司, 之都, 日报 …) are
segmented: jieba is the slow part (~0.8 s for 150,000 characters), and most of a dossier's text
names nothing. The anchors are derived from the patterns, so a new pattern needs no new anchor.
"""

from __future__ import annotations

import bisect
import math
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from pipeline.ruleset import Loc, Problem, Regex, RulesetError, Spec, load_validated, located_error
from pipeline.words import Segmenter

if TYPE_CHECKING:  # spaCy costs ~1.3 s to import: only EvidenceFinder() pays for it
    from spacy.language import Language
    from spacy.tokens import Doc, Span
    from spacy.vocab import Vocab

LABELS: tuple[str, ...] = ("HONOUR", "PLATFORM", "MEDIA", "ORG")  # order of summaries
LEVEL_RANK: dict[str, int] = {"国家级": 4, "省级": 3, "市级": 2, "县级": 1}
CONTEXT_CHARS = 80
_SPLIT_IN_MAX = 6

_SENTENCE = re.compile(r"[^。！？!?；;\n]+")
_CLAUSE = re.compile(r"[^，,、：:]+")
CHUNK_CHARS = 100_000  # characters given to spaCy at once (its limit is 1,000,000)
_CLAUSE_SEP = "。"  # joins candidate clauses into one Doc; a PUNCT token no pattern crosses
_ASCII_GAP = re.compile(r"(?<=[A-Za-z0-9])\s+(?=[A-Za-z0-9])")
_SPACE = re.compile(r"\s+")
_HAS_SPACE = re.compile(r"\s")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# A PDF line wrapped inside a sentence: long, not closed by punctuation, next line goes on in 汉字.
_WRAP_MIN = 20
_WRAP_LINES = 3  # fewer long lines than this: not a page of wrapped lines
_LINE_END = re.compile(r"[。！？!?；;：:，,、）)】」』”\"》]$")


@dataclass(frozen=True)
class Evidence:
    label: str  # ORG | HONOUR | PLATFORM | MEDIA
    text: str  # as written
    normalized: str  # canonical name (“中国铝业之都” → 中国铝业之都; 专精特新“小巨人” → 专精特新小巨人)
    level: str | None  # 国家级 / 省级 / 市级 (县级) when stated next to it or by the name itself
    file: str
    page: int | None
    context: str  # the sentence it was found in, ≤ 80 chars


# --------------------------------------------------------------------------------------------------
# The pattern file
# --------------------------------------------------------------------------------------------------


class PatternError(RulesetError):
    """The pattern file is malformed."""


# The file's layout, validated before it is read (a misspelt key is an error, not an empty list). Where
# spaCy defines the structure (a token pattern's attributes) it is left to spaCy; "$name" stands for
# `lists.name` wherever a list of words is expected.
Level = Literal["国家级", "省级", "市级", "县级"]


def _words(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return value
    if isinstance(value, list) and all(isinstance(w, str) for w in value):
        return value
    raise ValueError(f"应为文字列表，或以 $ 开头的列表名，实为「{value}」")


Words = Annotated[Any, AfterValidator(_words)]


class _TokenClassSpec(Spec):
    tag: str
    pos: str = "X"
    chars: str | None = None
    words: Words = None
    suffixes: Words = None
    regex: Regex | None = None

    @model_validator(mode="after")
    def _one_test(self) -> _TokenClassSpec:
        given = [k for k in ("chars", "words", "suffixes", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"词类 {self.tag} 应恰有 chars、words、suffixes、regex 之一（实有 {len(given)} 个）")
        return self


class _LevelSpec(Spec):
    words: dict[str, Level] = {}
    skip_before: list[str] = []
    prefixes: dict[str, Level] = {}
    before: dict[str, Level] = {}


class _EntrySpec(Spec):
    name: str
    level: Level | None = None
    phrases: list[str] = Field(min_length=1)


class _PatternSpec(Spec):
    id: str | None = None
    level: Level | None = None
    pattern: list[dict[str, Any]] = Field(min_length=1)  # spaCy's token pattern: spaCy checks its keys


class _LabelSpec(Spec):
    entries: list[_EntrySpec] = []
    patterns: list[_PatternSpec] = []


class _ScoreSpec(Spec):
    labels: list[str] = []
    honours: list[str] = []
    saturation: float = Field(4.0, gt=0)
    density_saturation: float = Field(10.0, gt=0)


class PatternsSpec(Spec):
    """An evidence-pattern file, key for key."""

    id: str | None = None
    title: str | None = None
    lists: dict[str, list[str]] = {}
    vocabulary: list[str] = []
    trim_leading: list[str] = []
    token_classes: list[_TokenClassSpec] = []
    levels: _LevelSpec = Field(default_factory=_LevelSpec)
    labels: dict[str, _LabelSpec]
    scores: dict[str, _ScoreSpec] = {}


def _pattern_problems(spec: PatternsSpec) -> list[Problem]:
    """What refers to what: every "$name" a defined list, REGEX values compile, a phrase one entry's."""
    problems: list[Problem] = []

    def refs(loc: Loc, value: Any) -> None:
        if isinstance(value, str) and value.startswith("$") and value[1:] not in spec.lists:
            problems.append((loc, f"没有名为「{value[1:]}」的列表（lists 已定义：{'、'.join(spec.lists)}）"))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                refs((*loc, i), v)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k == "REGEX" and isinstance(v, str):
                    try:
                        re.compile(v)
                    except re.error as exc:
                        problems.append(((*loc, k), f"正则表达式「{v}」无效：{exc}"))
                refs((*loc, k), v)

    refs(("vocabulary",), spec.vocabulary)
    for i, cls in enumerate(spec.token_classes):
        refs(("token_classes", i, "words"), cls.words)
        refs(("token_classes", i, "suffixes"), cls.suffixes)
    quotes = "".join(c.chars or "" for c in spec.token_classes if c.tag == "QUOTE")
    owner: dict[str, tuple[str, str | None]] = {}
    for label, label_spec in spec.labels.items():
        for i, pat in enumerate(label_spec.patterns):
            refs(("labels", label, "patterns", i, "pattern"), pat.pattern)
        for i, entry in enumerate(label_spec.entries):
            for j, phrase in enumerate(entry.phrases):
                plain = phrase.translate(str.maketrans("", "", quotes))
                meta = (label, entry.name, entry.level)
                if owner.setdefault(plain, meta) != meta:
                    where = ("labels", label, "entries", i, "phrases", j)
                    problems.append((where, f"短语「{plain}」已属于「{owner[plain][1]}」，不能再属于「{entry.name}」"))
    return problems


def check_patterns(path: Path, items: set[str]) -> EvidenceRules:
    """A ruleset's pattern file, read once with the ruleset (RulesetError naming file, line and key): its
    layout, and that `scores` names only the ruleset's items. The ruleset keeps what it gives."""
    rules = load_rules(Path(path))
    unknown = [item for item in rules.scores if item not in items]
    if unknown:
        problems = [(("scores", item), f"规则集没有编号为「{item}」的材料") for item in unknown]
        raise located_error(Path(path), Path(path).read_text(encoding="utf-8"), problems, "证据模式文件", PatternError)
    return rules


@dataclass(frozen=True)
class _Meta:
    """What a pattern id says about its matches."""

    label: str
    name: str | None  # canonical name for entries; None: the text without quotes
    level: str | None


@dataclass
class EvidenceRules:
    """The parsed pattern file; YAML only, no spaCy (evidence_scores() needs it cheaply)."""

    quotes: str
    token_classes: list[dict[str, Any]]
    level_words: dict[str, str]
    level_before: dict[str, str]
    level_prefixes: dict[str, str]
    skip_before: frozenset[str]
    entries: dict[str, _Meta]  # phrase without quotes → its entry
    phrases: list[tuple[str, str, str]]  # (label, phrase as written, canonical name)
    token_patterns: list[dict[str, Any]]  # ready for the entity ruler (lists expanded)
    metas: dict[str, _Meta]  # pattern id → meta
    vocabulary: set[str]
    trim_leading: frozenset[str]
    anchors: set[str] | None  # None: some pattern has no literal anchor, segment every clause
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)


def _expand(value: Any, lists: dict[str, list[str]]) -> Any:
    """Replace "$name" by lists[name]; a list of lists is flattened (HEAD: [$a, $b])."""
    if isinstance(value, str) and value.startswith("$"):
        return list(lists[value[1:]])  # PatternsSpec checked that every list named exists
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            expanded = _expand(item, lists)
            if isinstance(item, str) and item.startswith("$"):
                out.extend(expanded)
            else:
                out.append(expanded)
        return out
    if isinstance(value, dict):
        return {k: _expand(v, lists) for k, v in value.items()}
    return value


def _literals(spec: Any) -> list[str]:
    """The literal strings an ORTH/TEXT value allows ("x" or {IN: [...]})."""
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, dict) and isinstance(spec.get("IN"), list):
        return [s for s in spec["IN"] if isinstance(s, str)]
    return []


def _split_small_in(pattern: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One pattern per word of a short ORTH {IN: [...]} list: the matcher tests equality in C but
    calls Python for IN on every token it reaches."""
    for i, token in enumerate(pattern):
        words = token.get("ORTH", {}).get("IN") if isinstance(token.get("ORTH"), dict) else None
        if words and len(words) <= _SPLIT_IN_MAX and set(token["ORTH"]) == {"IN"}:
            out: list[list[dict[str, Any]]] = []
            for word in words:
                out.extend(_split_small_in([*pattern[:i], {**token, "ORTH": word}, *pattern[i + 1 :]]))
            return out
    return [pattern]


def _anchor(pattern: list[dict[str, Any]], classes: list[dict[str, Any]]) -> list[str] | None:
    """Words one of which every match contains: the last required token with literal text
    (or a TAG defined by words or suffixes). None when the pattern has no such token."""
    by_tag: dict[str, list[str]] = {}
    for cls in classes:
        words = cls.get("words") or cls.get("suffixes")
        if words and "regex" not in cls and "chars" not in cls:
            by_tag.setdefault(cls["tag"], []).extend(words)
    for token in reversed(pattern):
        if token.get("OP") in ("?", "*") or (token.get("OP", "").startswith("{0")):
            continue
        for key in ("ORTH", "TEXT"):
            if key in token and (words := _literals(token[key])):
                return words
        tag = token.get("TAG")
        tags = [tag] if isinstance(tag, str) else _literals(tag) if tag else []
        if tags and all(t in by_tag for t in tags):
            return [w for t in tags for w in by_tag[t]]
    return None


def load_rules(path: Path) -> EvidenceRules:
    # Validated first (PatternsSpec, RulesetError naming file, line and key); then read as plain data.
    _, data = load_validated(path, PatternsSpec, "证据模式文件", _pattern_problems, PatternError)
    lists = {k: [str(w) for w in v] for k, v in (data.get("lists") or {}).items()}
    classes = [_expand(c, lists) for c in data.get("token_classes") or []]
    quotes = "".join(c.get("chars", "") for c in classes if c.get("tag") == "QUOTE")
    levels = data.get("levels") or {}

    vocabulary: set[str] = set(_expand(data.get("vocabulary") or [], lists))
    for cls in classes:
        vocabulary.update(cls.get("words") or [])
        vocabulary.update(cls.get("suffixes") or [])
    entries: dict[str, _Meta] = {}
    phrases: list[tuple[str, str, str]] = []
    token_patterns: list[dict[str, Any]] = []
    metas: dict[str, _Meta] = {}
    anchors: set[str] | None = set()
    quote_split = re.compile(f"[{re.escape(quotes)}]") if quotes else None

    for label, spec in data["labels"].items():
        for entry in spec.get("entries") or []:
            name, level = str(entry["name"]), entry.get("level")
            meta = _Meta(label, name, level)
            metas[name] = meta
            for phrase in entry.get("phrases") or []:
                plain = quote_split.sub("", phrase) if quote_split else phrase
                entries[plain] = meta  # one entry a phrase: checked with the file (_pattern_problems)
                phrases.append((label, phrase, name))
                vocabulary.add(plain)
                if quote_split:
                    vocabulary.update(p for p in quote_split.split(phrase) if p)
                if anchors is not None:
                    anchors.add(max((p for p in quote_split.split(phrase) if p), key=len) if quote_split else plain)
        for number, pat in enumerate(spec.get("patterns") or []):
            pid = str(pat.get("id") or f"@{label.lower()}{number}")
            pattern = _expand(pat["pattern"], lists)
            metas[pid] = _Meta(label, None, pat.get("level"))
            token_patterns.extend({"label": label, "id": pid, "pattern": p} for p in _split_small_in(pattern))
            for token in pattern:
                for key in ("ORTH", "TEXT"):
                    vocabulary.update(_literals(token.get(key)))
            if anchors is not None:
                words = _anchor(pattern, classes)
                anchors = None if words is None else anchors | set(words)

    if anchors is not None:  # a shorter anchor inside a longer one finds the same clauses
        ordered = sorted(anchors, key=len)
        anchors = {a for i, a in enumerate(ordered) if not any(b in a for b in ordered[:i])}
    return EvidenceRules(
        quotes=quotes,
        token_classes=classes,
        level_words=dict(levels.get("words") or {}),
        level_before=dict(levels.get("before") or {}),
        level_prefixes=dict(levels.get("prefixes") or {}),
        skip_before=frozenset(levels.get("skip_before") or ()),
        entries=entries,
        phrases=phrases,
        token_patterns=token_patterns,
        metas=metas,
        # single characters are tokens anyway; raising their frequency would only skew jieba
        vocabulary={w for w in vocabulary if len(w) > 1 and not w.isspace()},
        trim_leading=frozenset(data.get("trim_leading") or ()),
        anchors=anchors,
        scores=dict(data.get("scores") or {}),
    )


# --------------------------------------------------------------------------------------------------
# Tokenizer: jieba words plus a class per word
# --------------------------------------------------------------------------------------------------


class _TokenClasses:
    """Word → (TAG, POS) by the pattern file's ordered rules (first fit wins), memoised."""

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        self._rules: list[tuple[tuple[str, str], Any]] = []
        for rule in rules:
            cls = (str(rule["tag"]), str(rule.get("pos", "X")))
            if "chars" in rule:
                chars = frozenset(rule["chars"])
                self._rules.append((cls, lambda w, c=chars: all(ch in c for ch in w)))
            elif "words" in rule:
                self._rules.append((cls, frozenset(rule["words"]).__contains__))
            elif "suffixes" in rule:
                suffixes = tuple(rule["suffixes"])
                self._rules.append((cls, lambda w, s=suffixes: w.endswith(s)))
            else:  # exactly one of the four: checked with the file (_TokenClassSpec)
                self._rules.append((cls, re.compile(rule["regex"]).match))
        self._memo: dict[str, tuple[str, str]] = {}

    def __call__(self, word: str) -> tuple[str, str]:
        cls = self._memo.get(word)
        if cls is None:
            cls = next((c for c, fits in self._rules if fits(word)), ("X", "X"))
            if len(self._memo) > 200_000:
                self._memo.clear()
            self._memo[word] = cls
        return cls


class _SegmenterTokenizer:
    """spaCy tokenizer that cuts with our compact-dictionary jieba (not spaCy's own jieba
    segmenter, whose full dictionary costs 1.5 s to load) and tags each word with its class."""

    def __init__(self, vocab: Vocab, segmenter: Segmenter, classes: _TokenClasses) -> None:
        from spacy.tokens import Doc

        self.vocab = vocab
        self._segmenter = segmenter
        self._classes = classes
        self._doc = Doc

    def __call__(self, text: str) -> Doc:
        words = self._segmenter.cut(text)  # whitespace is dropped: restore it as spaces
        spaces = [False] * len(words)
        if _HAS_SPACE.search(text):  # find() passes text without any, so this is for other callers
            pos = 0
            for i, word in enumerate(words):
                found = text.find(word, pos)
                if found < 0:  # cannot happen with jieba; keep going rather than fail a dossier
                    continue
                if i and found > pos:
                    spaces[i - 1] = True
                pos = found + len(word)
        classes = list(map(self._classes, words))
        return self._doc(
            self.vocab, words=words, spaces=spaces, tags=[c[0] for c in classes], pos=[c[1] for c in classes]
        )


# --------------------------------------------------------------------------------------------------
# Finder
# --------------------------------------------------------------------------------------------------


def _unwrap(text: str) -> str:
    """Join PDF lines wrapped inside a sentence (a name may be cut in two). A line is taken as
    wrapped when it is about as long as the text's typical full line, does not end in punctuation,
    and both sides of the break are 汉字; a Word paragraph or a form cell is no such line, so two
    cells never make one name."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    long = sorted(n for n in map(len, lines) if n >= _WRAP_MIN)
    if len(long) < _WRAP_LINES:
        return text
    full = 0.9 * long[len(long) // 2]  # the median long line is a full line of a PDF page
    out = [lines[0]]
    for line in lines[1:]:
        prev = out[-1]
        if len(prev) >= full and line and not _LINE_END.search(prev) and _CJK.match(prev[-1]) and _CJK.match(line[0]):
            out[-1] = prev + line
        else:
            out.append(line)
    return "\n".join(out)


def _squeeze(text: str) -> str:
    """No whitespace between 汉字 (PDF text is full of it); one space between Latin words."""
    return _SPACE.sub("", _ASCII_GAP.sub("\x00", text)).replace("\x00", " ")


def _window(sentence: str, start: int, end: int) -> str:
    if len(sentence) <= CONTEXT_CHARS:
        return sentence
    mid = (start + end) // 2
    left = min(max(0, mid - CONTEXT_CHARS // 2), len(sentence) - CONTEXT_CHARS)
    return sentence[left : left + CONTEXT_CHARS]


class EvidenceFinder:
    """Builds the spaCy pipeline once; :meth:`find` runs it over one page or block of text."""

    def __init__(self, rules: EvidenceRules, *, validate: bool = False) -> None:
        self.rules = rules  # the ruleset's (Ruleset.evidence_rules), or `load_rules(path)`
        self.segmenter = Segmenter(rules.vocabulary).start()  # jieba loads while spaCy imports
        import spacy

        self.nlp: Language = spacy.blank("zh")
        self.nlp.tokenizer = _SegmenterTokenizer(self.nlp.vocab, self.segmenter, _TokenClasses(rules.token_classes))
        ruler = self.nlp.add_pipe("entity_ruler", config={"validate": validate, "overwrite_ents": True})
        patterns: list[dict[str, Any]] = list(rules.token_patterns)
        split = re.compile(f"([{re.escape(rules.quotes)}])") if rules.quotes else None
        for label, phrase, name in rules.phrases:
            parts = [p for p in split.split(phrase) if p] if split else [phrase]
            if len(parts) == 1:
                patterns.append({"label": label, "id": name, "pattern": phrase})
                continue
            # Written with quotes: each quote optional, and the phrase without them as a phrase pattern.
            tokens: list[dict[str, Any]] = []
            for part in parts:
                if part in rules.quotes:
                    tokens.append({"TAG": "QUOTE", "OP": "?"})
                else:
                    tokens.extend({"ORTH": w} for w in self.segmenter.cut(part))
            patterns.append({"label": label, "id": name, "pattern": tokens})
            patterns.append({"label": label, "id": name, "pattern": "".join(p for p in parts if p not in rules.quotes)})
        with warnings.catch_warnings():
            # W012: phrase docs carry our token classes, which ORTH matching ignores; harmless.
            warnings.filterwarnings("ignore", message=r"\[W012\]")
            ruler.add_patterns(patterns)  # type: ignore[attr-defined]
        self._anchor = (
            re.compile("|".join(re.escape(a) for a in sorted(rules.anchors, key=len, reverse=True)))
            if rules.anchors
            else None
        )
        self._quote_strip = str.maketrans("", "", rules.quotes)
        self._described: dict[tuple[str, str, str, str], tuple[str, str, str | None]] = {}

    # -- one text ----------------------------------------------------------------------------------

    def find(self, text: str, file: str, page: int | None) -> list[Evidence]:
        """Every mention in ``text`` (one page or block), in reading order."""
        # Candidate clauses: (sentence, clause offset in it, clause); entities never cross ，、：
        sentences: list[str] = []
        clauses: list[tuple[int, int, str]] = []
        for m in _SENTENCE.finditer(_unwrap(text)):
            sentence = _squeeze(m.group())
            if not sentence or (self._anchor is not None and not self._anchor.search(sentence)):
                continue
            sentences.append(sentence)
            for c in _CLAUSE.finditer(sentence):
                if self._anchor is None or self._anchor.search(c.group()):
                    # A clause longer than a chunk (a list of names without punctuation) is cut.
                    for cut in range(0, len(c.group()), CHUNK_CHARS):
                        clauses.append((len(sentences) - 1, c.start() + cut, c.group()[cut : cut + CHUNK_CHARS]))
        found: list[Evidence] = []
        # spaCy refuses a text over its max_length (a million characters): long texts go in chunks.
        chunk: list[tuple[int, int, str]] = []
        size = 0
        for clause in clauses:
            if chunk and size + len(clause[2]) > CHUNK_CHARS:
                found += self._find_in(chunk, sentences, file, page)
                chunk, size = [], 0
            chunk.append(clause)
            size += len(clause[2]) + len(_CLAUSE_SEP)
        if chunk:
            found += self._find_in(chunk, sentences, file, page)
        return found

    def _find_in(
        self, clauses: list[tuple[int, int, str]], sentences: list[str], file: str, page: int | None
    ) -> list[Evidence]:
        starts: list[int] = []
        pos = 0
        for _, _, clause in clauses:
            starts.append(pos)
            pos += len(clause) + len(_CLAUSE_SEP)
        joined = _CLAUSE_SEP.join(c for _, _, c in clauses)
        doc = self.nlp(joined)  # its text is `joined`: no whitespace left but single spaces kept

        found: list[Evidence] = []
        for ent in doc.ents:
            start, end = ent.start_char, ent.end_char
            k = bisect.bisect_right(starts, start) - 1
            s_index, offset, _ = clauses[k]
            label, text, normalized, level = self._describe(ent, joined[start:end])
            begin = offset + start - starts[k] + (end - start - len(text))  # trimmed at the front
            found.append(
                Evidence(
                    label=label,
                    text=text,
                    normalized=normalized,
                    level=level,
                    file=file,
                    page=page,
                    context=_window(sentences[s_index], begin, begin + len(text)),
                )
            )
        return found

    def _describe(self, ent: Span, text: str) -> tuple[str, str, str, str | None]:
        """Label, text as written, canonical name and level of one match."""
        label, ent_id = ent.label_, ent.ent_id_
        # Only a name starting with a function word needs its first token (Token objects cost).
        first = ent[0].text if text[0] in self.rules.trim_leading else ""
        key = (label, ent_id, text, first)
        known = self._described.get(key)
        if known is None:
            known = self._described[key] = self._name(ent_id, text, first)
        text, normalized, own_level = known
        if label == "ORG":
            return label, text, normalized, None
        return label, text, normalized, self._stated_level(ent) or own_level

    def _name(self, ent_id: str, text: str, first: str) -> tuple[str, str, str | None]:
        """Text as written (trimmed), canonical name and the level the name itself implies."""
        rules = self.rules
        meta = rules.metas.get(ent_id)
        generic = meta is None or meta.name is None
        # A name jieba glued a function word onto (对临朐… when 临朐 is unknown) loses it.
        if generic and len(first) >= 2 and first[0] in rules.trim_leading and len(text) > 3:
            text = text[1:]
        plain = text.translate(self._quote_strip).strip()
        # A generic pattern may have matched a known phrase that jieba cut differently here.
        if generic:
            meta = rules.entries.get(plain, meta)
        normalized = meta.name if meta is not None and meta.name else plain
        level = meta.level if meta is not None else None
        if level is None:
            level = next((v for p, v in rules.level_prefixes.items() if normalized.startswith(p)), None)
        return text, normalized, level

    def _stated_level(self, ent: Span) -> str | None:
        rules = self.rules
        doc = ent.doc
        i = ent.start - 1
        while i >= 0 and (doc[i].tag_ == "QUOTE" or doc[i].text in rules.skip_before):
            i -= 1
        if i >= 0:
            word = doc[i].text
            if word in rules.level_words:
                return rules.level_words[word]
            if i == ent.start - 1 and word in rules.level_before:  # 国家高新技术企业, 山东省瞪羚企业
                return rules.level_before[word]
        # 企业技术中心（省级）
        if ent.end + 1 < len(doc) and doc[ent.end].text in "（(" and doc[ent.end + 1].text in rules.level_words:
            return rules.level_words[doc[ent.end + 1].text]
        return None


# --------------------------------------------------------------------------------------------------
# Inventory, summary, scores
# --------------------------------------------------------------------------------------------------


def _higher(a: str | None, b: str | None) -> str | None:
    return max((x for x in (a, b) if x), key=lambda x: LEVEL_RANK.get(x, 0), default=None)


def inventory(blocks: Iterable[tuple[str, str, int | None]], f: EvidenceFinder) -> list[Evidence]:
    """Evidence of (text, file, page) blocks, one per (label, normalized, file, page): the first
    mention, carrying the highest level any of its mentions states. Consecutive blocks of one page
    (a PDF's lines) are read as one text, so a name wrapped across lines is whole and the cost is
    per page, not per line."""
    kept: dict[tuple[str, str, str, int | None], Evidence] = {}
    for (file, page), group in groupby(blocks, key=lambda b: (b[1], b[2])):
        for ev in f.find("\n".join(text for text, _, _ in group), file, page):
            key = (ev.label, ev.normalized, ev.file, ev.page)
            seen = kept.get(key)
            if seen is None:
                kept[key] = ev
            elif (level := _higher(seen.level, ev.level)) != seen.level:
                kept[key] = replace(seen, level=level)
    return list(kept.values())


def _page_key(page: int | None) -> tuple[int, int]:
    return (0, 0) if page is None else (1, page)


def summarize(evidence: list[Evidence]) -> dict[str, Any]:
    """JSON-ready: counts of distinct names per label, and one item per (label, normalized) with
    the first file and its pages, plus every file's pages in ``locations``."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for ev in evidence:
        item = merged.get((ev.label, ev.normalized))
        if item is None:
            item = merged[(ev.label, ev.normalized)] = {
                "label": ev.label,
                "text": ev.text,
                "normalized": ev.normalized,
                "level": ev.level,
                "file": ev.file,
                "pages": [],
                "locations": {},
            }
        item["level"] = _higher(item["level"], ev.level)
        pages = item["locations"].setdefault(ev.file, set())
        if ev.page is not None:
            pages.add(ev.page)
    order = {label: i for i, label in enumerate(LABELS)}
    items = sorted(merged.values(), key=lambda it: order.get(it["label"], len(order)))  # stable: reading order
    for item in items:
        locations = item.pop("locations")
        item["pages"] = sorted(locations[item["file"]])
        item["locations"] = [{"file": f, "pages": sorted(p)} for f, p in locations.items()]
    counts = {label: 0 for label in LABELS}
    for item in items:
        counts[item["label"]] = counts.get(item["label"], 0) + 1
    return {"counts": counts, "items": items}


def evidence_scores(
    evidence: list[Evidence], weights: Mapping[str, Any], *, chars: int | None = None
) -> dict[str, float]:
    """0..1 per Art. 6 item id (brand_evidence, innovation_platforms) from one section's evidence:
    saturating in the number of distinct mentions (name and page), weighted by that item's share of
    all HONOUR/PLATFORM/MEDIA evidence and, given the section's length in ``chars``, by how densely
    it names them (`weights`: the `scores` of the ruleset's pattern file, `Ruleset.evidence_rules.scores`)."""
    config = weights
    innovation_honours = {h for spec in config.values() for h in spec.get("honours") or ()}
    distinct: dict[str, set[tuple[str, str, int | None]]] = {item: set() for item in config}
    mentions: dict[str, int] = dict.fromkeys(config, 0)
    total: set[tuple[str, str, str, int | None]] = set()
    for ev in evidence:
        for item, spec in config.items():
            if ev.label == "HONOUR" and ev.normalized in innovation_honours:
                fits = ev.normalized in (spec.get("honours") or ())
            else:
                fits = ev.label in (spec.get("labels") or ())
            if fits:
                distinct[item].add((ev.normalized, ev.file, ev.page))
                mentions[item] += 1
                total.add((ev.label, ev.normalized, ev.file, ev.page))
    scores: dict[str, float] = {}
    for item, spec in config.items():
        n = len(distinct[item])
        score = (1.0 - math.exp(-n / float(spec.get("saturation", 4.0)))) * (n / len(total) if total else 0.0)
        if chars:
            density = 1000.0 * mentions[item] / chars
            score *= 1.0 - math.exp(-density / float(spec.get("density_saturation", 10.0)))
        scores[item] = round(score, 4)
    return scores
