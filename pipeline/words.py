"""Chinese word segmentation with jieba, loaded fast enough for a 2-second `dossier check`.

jieba's full dictionary (350k words) takes ~1.5 s to load even from its cache. Identification only
needs the ruleset's cue words segmented correctly and ordinary words kept whole, so the tokenizer
is built from jieba's 30,000 most frequent words plus every cue and title word of the ruleset
(~0.1 s); anything else falls to jieba's HMM, which is fine for counting cues.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.paths import cache_root
from core.scratch import scratch_root

if TYPE_CHECKING:
    import jieba

CORE_WORDS = 30_000
_CUE_FREQ = 100_000  # high enough that a cue wins over its own sub-words


def _jieba() -> Any:
    """jieba, imported by the first Segmenter, on the thread that builds it (not on the loading thread:
    another thread's import of pkg_resources must not meet the block below). jieba imports pkg_resources
    (~0.25 s, a third of `dossier check`'s start-up) only to open its own data files, and falls back to
    plain paths when that import fails: make it fail, for jieba's import only."""
    if "jieba" in sys.modules:
        return sys.modules["jieba"]
    blocked = "pkg_resources" not in sys.modules
    if blocked:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        import jieba
    finally:
        if blocked:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    return jieba


def _cache_dir() -> Path:
    """The product's cache folder (core/paths.py); this process's scratch folder where it cannot be
    written (jieba's own default would be /tmp, shared and left behind)."""
    path = cache_root()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".writable"
        probe.touch()
        return path
    except OSError:
        return scratch_root()


def _core_dictionary(jieba: Any, folder: Path) -> Path:
    """jieba's most frequent words, derived once from its own dict.txt and kept in `folder`."""
    source = Path(jieba.__file__).parent / "dict.txt"
    target = folder / f"jieba-core-{CORE_WORDS}-{int(source.stat().st_mtime)}.txt"
    if not target.is_file():
        entries: list[tuple[int, str]] = []
        with source.open(encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    entries.append((int(parts[1]), line))
        entries.sort(reverse=True)
        # A name of this thread's own: the engine's segmenter and its evidence finder's load at once.
        tmp = target.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        tmp.write_text("".join(line for _, line in entries[:CORE_WORDS]), encoding="utf-8")
        tmp.replace(target)
    return target


class Segmenter:
    """A jieba tokenizer that knows the ruleset's vocabulary; loads in the background."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._vocabulary = sorted({w for w in vocabulary if w})
        self._tokenizer: jieba.Tokenizer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._started = False
        self._lock = threading.Lock()
        self._jieba = _jieba()

    def start(self) -> Segmenter:
        """Begin loading on a thread, so it overlaps with reading the files."""
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._load, name="jieba-load", daemon=True).start()
        return self

    def _load(self) -> None:
        try:
            folder = _cache_dir()
            tokenizer = self._jieba.Tokenizer(dictionary=str(_core_dictionary(self._jieba, folder)))
            tokenizer.tmp_dir = str(folder)
            tokenizer.initialize()
            for word in self._vocabulary:
                tokenizer.add_word(word, freq=_CUE_FREQ)
            self._tokenizer = tokenizer
        except BaseException as exc:  # surfaced by cut(), on the caller's thread
            self._error = exc
        finally:
            self._ready.set()

    def cut(self, text: str) -> list[str]:
        self.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._tokenizer is not None
        return [w for w in self._tokenizer.lcut(text, HMM=True) if w.strip()]
