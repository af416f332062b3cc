"""The engine: everything checking dossiers needs loaded, held by whoever checks them.

One engine per ruleset and process: the ruleset, its readers (the jieba segmenter and the spaCy evidence
finder) and the pool of reading processes. The CLI's `check`, the plain batch, the Prefect flow's tasks and
the watch service each hold one and close it when done; nothing of it lives in module globals.

Threads: several dossiers may be in flight at once, sharing the engine. The pool is thread-safe and
interleaves their jobs on its workers (extractors/sandbox.py), so one dossier's files and pages are read
while another is judged, and the next dossier's pages fill the workers its predecessor's last pages leave idle.
"""

from __future__ import annotations

import datetime as dt
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

from core.limits import Limits
from core.names import shown
from extractors.sandbox import DEFAULT_TIMEOUT, ExtractionPool, default_workers, queue_as_one

from .dossier import Readers, failure_report, judge_dossier, read_dossier, write_outputs
from .report import Report
from .reports import failed_row, summary_row
from .ruleset import Ruleset, load_ruleset
from .runner import Outcome, failure_reason


class Engine:
    """Checks dossiers against one ruleset: `check()` gives a report, `run_one()` writes it; `close()`
    (or leaving a `with` block) stops the reading processes."""

    def __init__(
        self,
        ruleset: Ruleset,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        limits: Limits | None = None,
        pool: ExtractionPool | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.limits = limits or Limits.from_env()
        self.readers = Readers(ruleset)  # starts loading now, while the files are read
        self._own_pool = pool is None
        self.pool = (
            pool
            if pool is not None
            else ExtractionPool(max(1, workers or default_workers()), timeout, self.limits.worker_memory_mb)
        )

    def warm(self) -> Engine:
        """Start every reading process now (they are started on first use otherwise)."""
        self.pool.warm()
        return self

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(
        self,
        path: Path,
        name: str | None = None,
        ident: str | None = None,
        as_of: dt.date | None = None,
        full_ocr: bool = False,
    ) -> Report:
        """Check one dossier end to end; `name` is what it is called (default: the path's name), `ident` its
        id in a batch (default: from its name), `as_of` the date the ruleset's validity is judged on
        (default: the check's own date); `full_ocr` reads every scanned page in full (by default a page
        whose item needs no more is read only far enough to tell what it is)."""
        with queue_as_one():  # this dossier's jobs go before those of dossiers begun after it
            read = read_dossier(path, self.pool, self.ruleset, self.readers, self.limits, name, full_ocr)
        return judge_dossier(read, self.ruleset, ident, as_of)

    def run_one(
        self,
        child: Path,
        ident: str,
        out: Path,
        formats: Sequence[str],
        as_of: dt.date | None = None,
        full_ocr: bool = False,
    ) -> Outcome:
        """Check one dossier into out/<ident>/report.*. Never raises for a bad dossier: its row says
        `failed`, out/<ident>/error.txt says why for the maintainer and its reports say so for the clerk.
        Raises only OSError while writing the reports (a full disk, a share gone away: worth another try)."""
        try:
            report = self.check(child, child.name, ident, as_of, full_ocr)
        except Exception as exc:  # a bad dossier must not stop the batch
            error, reason = traceback.format_exc(), failure_reason(exc)
            (out / ident).mkdir(parents=True, exist_ok=True)
            (out / ident / "error.txt").write_text(error, encoding="utf-8")
            try:
                failed = failure_report(child, child.name, reason, self.ruleset, ident, as_of)
                write_outputs(failed, out / ident, formats)
            except Exception:  # the row and error.txt say it already
                traceback.print_exc()
            return Outcome(failed_row(ident, shown(child.name), reason), error=error)
        write_outputs(report, out / ident, formats)
        return Outcome(summary_row(report, ident), report)


class Engines:
    """Engines by ruleset (id or file), worker count and time limit, for a process that checks with the
    settings each run names (the Prefect flow's tasks, the watch service). Its owner closes it; a ruleset
    file that changed gets a new engine (the old one is closed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # tasks on several threads ask at once
        self._engines: dict[tuple[str, int, float], tuple[int, Engine]] = {}

    def get(self, ref: str, workers: int, timeout: float) -> Engine:
        path = Path(ref) if Path(ref).suffix else None
        stamp = path.stat().st_mtime_ns if path else 0
        key = (ref, max(1, workers), timeout)
        with self._lock:
            known = self._engines.get(key)
            if known is not None and known[0] == stamp:
                return known[1]
            if known is not None:
                known[1].close()
            engine = Engine(load_ruleset(ref), max(1, workers), timeout).warm()
            self._engines[key] = (stamp, engine)
            return engine

    def close(self) -> None:
        with self._lock:
            engines = [engine for _, engine in self._engines.values()]
            self._engines.clear()
        for engine in engines:
            engine.close()

    def __enter__(self) -> Engines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_dossier(path: Path, ruleset: Ruleset, pool: ExtractionPool | None = None, name: str | None = None) -> Report:
    """Check one dossier with an engine of its own (one reading process unless `pool` is given)."""
    with Engine(ruleset, workers=1, pool=pool) as engine:
        return engine.check(path, name)
