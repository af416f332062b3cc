"""What the watch service writes into OUT, and how (its layout is that of `dossier batch`).

- `OUT/<id>/report.*`: written into `OUT/.staging/new/<id>` and swapped into place whole, so a reader sees
  the old folder or the new one, never half of one; a changed dossier replaces its folder.
- `OUT/failed/<id>/reason.txt` (and `error.txt` with the traceback) for a dossier that could not be checked.
- `OUT/summary.json` and `.xlsx`, from the registry's rows (`OUT/registry.sqlite3`).
- `OUT/registry.lock`: one service per OUT.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.registry import FILENAME as REGISTRY_FILE
from pipeline.review import FILENAME as DECISIONS_FILE
from pipeline.review import DecisionStore, reports_lock, rewrite

STAGING, FAILED, LOCK = ".staging", "failed", "registry.lock"
# Names OUT uses itself: a dossier called `failed` or `summary.json` gets `-2`.
RESERVED_IDS = (FAILED, "summary.json", "summary.xlsx", REGISTRY_FILE, LOCK, DECISIONS_FILE)


def staging(out: Path) -> Path:
    """Where new report folders are written before they are swapped in."""
    return out / STAGING / "new"


def clear_staging(out: Path) -> None:
    """Half-written reports of a run that crashed or stopped."""
    shutil.rmtree(out / STAGING, ignore_errors=True)


def publish(out: Path, new: Path, ident: str) -> None:
    """Swap the new report folder in as OUT/<ident>, with the clerk's decisions on the dossier applied
    (those that still apply); no older failure of it stays listed."""
    final, old = out / ident, out / STAGING / "old" / ident
    with reports_lock(out):
        if DecisionStore.exists(out):
            store = DecisionStore(out)
            try:
                rewrite(new, store.current(ident))
            finally:
                store.close()
        shutil.rmtree(old, ignore_errors=True)
        old.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            final.rename(old)
        new.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(out / FAILED / ident, ignore_errors=True)  # an older content had failed


def record_failure(out: Path, name: str, ident: str, reason: str, details: str | None) -> None:
    """OUT/failed/<ident>/reason.txt (the source's name, then why) and error.txt; a report of older content
    would mislead, so OUT/<ident> goes."""
    shutil.rmtree(out / ident, ignore_errors=True)
    folder = out / FAILED / ident
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reason.txt").write_text(f"{name}\n{reason}\n", encoding="utf-8")
    if details:
        (folder / "error.txt").write_text(details, encoding="utf-8")


def checked_at(report: dict[str, Any]) -> dt.datetime | None:
    """When the report's check ran (CONTRACT.md: `dossier.checked_at`), None where it does not say."""
    try:
        checked = dt.datetime.fromisoformat(str(report.get("dossier", {}).get("checked_at")))
    except ValueError:
        return None
    return checked if checked.tzinfo else None


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


@contextmanager
def single_instance(out: Path) -> Iterator[bool]:
    """One service per OUT (the lock dies with the process, kill -9 included); yields whether we hold it."""
    with (out / LOCK).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
